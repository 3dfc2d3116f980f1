import type { Clock, Logger } from '../../shared/index.js';
import type { SipMessage, SipRequest, SipResponse, Via } from '../message/index.js';
import type { InboundMessage, SipEndpoint } from '../transport/index.js';

/** RFC 3261 §17.1.1.1 / Table 4: T1 (RTT estimate, 500 ms), T2 (max non-INVITE retransmit interval, 4 s), T4 (max network lifetime, 5 s). */
export interface TransactionTimers {
  t1: number;
  t2: number;
  t4: number;
}

export type TerminationReason = 'normal' | 'timeout' | 'transport-error';

export interface ServerTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly source: SipEndpoint;
  readonly state: string;
  /**
   * INVITE: 1xx→Proceeding, 2xx→Accepted (RFC 6026; the TU retransmits the 2xx itself, Timer L),
   * 3xx–6xx→Completed (Timer G over UDP, Timer H), ACK→Confirmed (Timer I).
   * Non-INVITE: Trying/Proceeding/Completed (Timer J).
   */
  respond(response: SipResponse): void;
  /** A CANCEL matched this INVITE server tx; the layer has ALREADY answered it with 200 (§9.2); the TU then sends 487. */
  onCancel(handler: (cancel: SipRequest) => void): void;
  onTerminated(handler: (reason: TerminationReason) => void): void;
}

export interface ClientTransactionHandlers {
  onProvisional?(r: SipResponse): void;
  onFinal(r: SipResponse): void;
  /** INVITE only: 2xx retransmissions in Accepted state (RFC 6026 Timer M) so the TU re-sends its ACK. */
  onRetransmitted2xx?(r: SipResponse): void;
  onTimeout(): void;
  onTransportError(err: Error): void;
}

export interface ClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly state: string;
  /** §9.1: builds and sends a CANCEL (own non-INVITE client tx) once a provisional has been received (or deferred until one is). */
  cancel(reasonHeader?: string): void;
}

/** What the transaction layer needs from a transport (SipTransport, or an in-memory fake in tests). */
export interface SipTransportLike {
  onMessage(h: (m: InboundMessage) => void): void;
  send(m: SipMessage, d: SipEndpoint): Promise<void>;
  responseDestination(via: Via, source: SipEndpoint): SipEndpoint;
  readonly port: number;
  advertisedHost(toward?: string): string;
}

export interface TransactionLayerOptions {
  transport: SipTransportLike;
  clock: Clock;
  timers: TransactionTimers;
  logger: Logger;
}
