import type { Clock, Logger } from '../../shared/index.js';
import type { SipMessage, SipRequest } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import type { TransactionTimers } from './types.js';

/** What the transaction layer lends each transaction it creates (not exported from the folder). */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: TransactionTimers;
  readonly logger: Logger;
  /** Hands a message to the transport; rejects on a transport error (§17.1.4, §17.2.4). */
  send(message: SipMessage, destination: SipEndpoint): Promise<void>;
  /** The transaction reached Terminated: the layer forgets it. Called exactly once. */
  terminated(id: string): void;
  /** §9.1: starts a non-INVITE client transaction for a CANCEL built by an INVITE client transaction. */
  startCancel(cancel: SipRequest, destination: SipEndpoint): void;
}

/** RFC 3261 §17.1.1.2 / §17.1.2.2: retransmission timers run only over an unreliable transport. */
export function isReliable(destination: SipEndpoint): boolean {
  return destination.protocol !== 'udp';
}

/** Calls a transaction-user callback; a throwing listener is logged and never breaks the state machine. */
export function safeCall(logger: Logger, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logger.error({ err, what }, 'transaction user callback threw');
  }
}
