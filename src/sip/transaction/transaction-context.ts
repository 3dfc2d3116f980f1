import type { Clock, Logger } from '../../shared/index.js';
import { createHeaders, createRequest } from '../message/index.js';
import type { SipMessage, SipRequest } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import type { ClientTransactionHandlers, TransactionTimers } from './types.js';

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

const EMPTY_BODY = Buffer.alloc(0);
/** The header fields a response copies from its request (RFC 3261 §8.2.6.2). */
const RESPONSE_KEY_HEADERS: readonly (readonly [string, string])[] = [['via', 'Via'], ['from', 'From'], ['to', 'To'], ['call-id', 'Call-ID'], ['cseq', 'CSeq']];

/**
 * What a server transaction keeps of its request once the final response is sent. RFC 3261
 * §17.2.1/§17.2.2: from then on (Completed, Confirmed, Accepted) the transaction only absorbs
 * retransmissions and re-sends its last response, for up to 64*T1 (Timers H, J, L). Holding the
 * parsed request for that long (its SDP body and every header) costs kilobytes per call at high
 * call rates, so the transaction keeps only the fields a response is built from (§8.2.6.2: Via,
 * From, To, Call-ID, CSeq) as flat name/value pairs, and no body.
 */
export class RequestKey {
  private readonly method: string;
  /** The Request-URI as text: its parsed form (a SipUri with two Maps) costs more than the key itself. */
  private readonly rawUri: string;
  /** name, value, name, value, ... */
  private readonly fields: string[] = [];

  constructor(request: SipRequest) {
    this.method = request.method;
    this.rawUri = request.rawUri;
    for (const [lname, name] of RESPONSE_KEY_HEADERS) for (const value of request.headers.getAll(lname)) this.fields.push(name, value);
  }

  /** A request with only the key fields (built on each call: a late reader is rare). */
  toRequest(): SipRequest {
    const headers = createHeaders();
    for (let i = 0; i + 1 < this.fields.length; i += 2) headers.append(this.fields[i] ?? '', this.fields[i + 1] ?? '');
    return createRequest({ method: this.method, uri: this.rawUri, headers, body: EMPTY_BODY });
  }
}

/** What a client transaction calls once its TU has nothing more to hear: holds no reference to the TU. */
export const NO_HANDLERS: ClientTransactionHandlers = Object.freeze({
  onFinal: () => undefined,
  onTimeout: () => undefined,
  onTransportError: () => undefined,
});
