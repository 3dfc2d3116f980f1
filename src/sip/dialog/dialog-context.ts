import type { Clock, Logger } from '../../shared/index.js';
import type { SipUri } from '../message/index.js';
import type { TransactionLayer, TransactionTimers } from '../transaction/index.js';
import type { SipEndpoint, TransportProtocol } from '../transport/index.js';
import type { SessionTimerSettings } from './session-timer.js';

/** RFC 3261 §20.5: the methods we handle; sent in Allow with 2xx to INVITE, OPTIONS and 405s. */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY';
/** RFC 3261 §20.37 option tags we support: RFC 4028 timer, RFC 3891 replaces. */
export const SUPPORTED = 'timer, replaces';
export const SUPPORTED_TAGS: ReadonlySet<string> = new Set(['timer', 'replaces']);

/** What a dialog needs from the user agent that owns it. */
export interface DialogContext {
  readonly transactions: TransactionLayer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers: TransactionTimers;
  /** Numbers in [0, 1): glare delays and initial CSeqs (tests pin it). */
  readonly random: () => number;
  /** User-Agent header value. */
  readonly userAgent: string;
  readonly sessionTimer: SessionTimerSettings;
  /** Our Contact (name-addr) on a transport, as seen from `towardHost`. */
  contact(protocol: TransportProtocol, towardHost: string): string;
  /** RFC 3263-lite: a URI to a transport endpoint (IP as is, names by A/AAAA lookup). */
  resolve(uri: SipUri, protocol: TransportProtocol, connectionId?: string): Promise<SipEndpoint>;
  /** Where a response to a request from `source` goes (RFC 3261 §18.2.2, RFC 3581). */
  responseDestination(topVia: string, source: SipEndpoint): SipEndpoint;
  /** Dialog registry of the user agent. */
  forget(dialogId: string): void;
}
