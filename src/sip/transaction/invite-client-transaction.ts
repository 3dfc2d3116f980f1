import { createHeaders, createRequest } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { ClientTransactionBase } from './transaction-base.js';
import { NO_HANDLERS, safeCall, type TransactionContext } from './transaction-context.js';
import { TransactionTimer } from './transaction-timer.js';
import type { ClientTransaction, ClientTransactionHandlers } from './types.js';

/** RFC 3261 §17.1.1.2 Figure 5, with the Accepted state of RFC 6026 §7.2 (Figure 3). */
export const InviteClientState = {
  Calling: 'Calling',
  Proceeding: 'Proceeding',
  Accepted: 'Accepted',
  Completed: 'Completed',
  Terminated: 'Terminated',
} as const;
export type InviteClientState = (typeof InviteClientState)[keyof typeof InviteClientState];

export type InviteClientEvent =
  | '1xx'
  | '2xx'
  | '300-699'
  | 'timerA'
  | 'timerB'
  | 'timerD'
  | 'timerM'
  | 'cancelExpired'
  | 'transportError';

const S = InviteClientState;

/**
 * The transition function: the next state for an event, or undefined when the move does not exist.
 *
 *                   |INVITE from TU
 *     Timer A fires |INVITE sent                     RFC 3261 Figure 5 + RFC 6026 Figure 3
 *     Reset A,      V                      Timer B fires
 *     INVITE sent +-----------+            or Transport Err.
 *       +---------|  Calling  |-------------------------------+
 *       +-------->|           |--------------+ 2xx            |
 *                 +-----------+              | 2xx to TU      |
 *        300-699     |  |1xx                 |                |
 *        ACK sent    |  |1xx to TU           |                |
 *        resp. to TU |  V                    V                |
 *                 +-----------+  2xx    +-----------+ 2xx     |
 *                 |Proceeding |-------->| Accepted  |<---+    |
 *                 +-----------+         +-----------+ to TU   |
 *        300-699     |                     | Timer M          |
 *                    V                     V                  |
 *                 +-----------+         +-----------+         |
 *   300-699 ---+  | Completed |-------->|Terminated |<--------+
 *   ACK sent   +->+-----------+ Timer D +-----------+
 */
export function nextInviteClientState(state: InviteClientState, event: InviteClientEvent): InviteClientState | undefined {
  switch (state) {
    case S.Calling:
      switch (event) {
        case '1xx': return S.Proceeding;
        case '2xx': return S.Accepted;
        case '300-699': return S.Completed;
        case 'timerA': return S.Calling;
        case 'timerB': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Proceeding:
      switch (event) {
        case '1xx': return S.Proceeding;
        case '2xx': return S.Accepted;
        case '300-699': return S.Completed;
        case 'cancelExpired': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Accepted:
      switch (event) {
        case '2xx': return S.Accepted; // RFC 6026 §8.4: 2xx retransmissions (and forks) go to the TU
        case '1xx': return S.Accepted; // a late provisional: absorbed
        case '300-699': return S.Accepted; // a late failure from another branch of a fork: absorbed
        case 'timerM': return S.Terminated;
        default: return undefined;
      }
    case S.Completed:
      switch (event) {
        case '300-699': return S.Completed; // retransmission: the ACK is re-sent
        case '1xx': return S.Completed;
        case '2xx': return S.Completed;
        case 'timerD': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Terminated:
      return undefined;
  }
}

/** Timer D: RFC 3261 §17.1.1.2 "at least 32 seconds for unreliable transports, and ... zero seconds for reliable transports". */
const TIMER_D_UDP_MS = 32_000;

/**
 * INVITE client transaction (RFC 3261 §17.1.1, RFC 6026). The layer matches responses to it; it
 * retransmits the INVITE over UDP (Timer A), times out (Timer B), ACKs non-2xx finals itself
 * (§17.1.1.3) and, in Accepted, forwards 2xx retransmissions so the TU can re-send its ACK.
 */
export class InviteClientTransaction extends ClientTransactionBase<InviteClientState> implements ClientTransaction {
  private readonly timerA: TransactionTimer;
  private readonly timerB: TransactionTimer;
  private readonly timerD: TransactionTimer;
  private readonly timerM: TransactionTimer;
  private readonly cancelTimer: TransactionTimer;
  private intervalA: number;
  private ack: SipRequest | undefined = undefined;
  private pendingCancel: string | null | undefined = undefined;
  private cancelSent = false;

  constructor(id: string, request: SipRequest, destination: SipEndpoint, handlers: ClientTransactionHandlers, ctx: TransactionContext) {
    super(id, request, destination, handlers, ctx, S.Calling);
    this.intervalA = ctx.timers.t1;
    this.timerA = new TransactionTimer(ctx.clock, () => this.fire('timerA'));
    this.timerB = new TransactionTimer(ctx.clock, () => this.fire('timerB'));
    this.timerD = new TransactionTimer(ctx.clock, () => this.fire('timerD'));
    this.timerM = new TransactionTimer(ctx.clock, () => this.fire('timerM'));
    this.cancelTimer = new TransactionTimer(ctx.clock, () => this.fire('cancelExpired'));
  }

  /** Enters Calling: sends the INVITE and starts Timers A (UDP only) and B. */
  start(): void {
    this.transmit(this.request);
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start timer A with a value of T1."
    if (!this.reliable) this.timerA.start(this.intervalA);
    // §17.1.1.2: "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds."
    this.timerB.start(64 * this.ctx.timers.t1);
  }

  receiveResponse(response: SipResponse): void {
    const event: InviteClientEvent = response.status < 200 ? '1xx' : response.status < 300 ? '2xx' : '300-699';
    this.fire(event, response);
  }

  cancel(reasonHeader?: string): void {
    if (this.cancelSent || this.pendingCancel !== undefined) return;
    if (this.current === S.Calling) {
      // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent; rather, the client MUST wait for the arrival of a provisional response"
      this.pendingCancel = reasonHeader ?? null;
      return;
    }
    if (this.current === S.Proceeding) this.sendCancel(reasonHeader ?? null);
    // §9.1: "a CANCEL ... SHOULD NOT be sent ... for a request that has generated a final response": nothing to do.
  }

  private fire(event: InviteClientEvent, response?: SipResponse, error?: Error): void {
    const from = this.current;
    const to = nextInviteClientState(from, event);
    if (to === undefined) {
      this.ctx.logger.debug({ tx: this.id, state: from, event }, 'INVITE client transaction: event ignored');
      return;
    }
    this.current = to;
    switch (event) {
      case 'timerA':
        // §17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request ... and MUST reset the timer with a value of 2*T1."
        this.transmit(this.request);
        this.intervalA *= 2;
        this.timerA.start(this.intervalA);
        break;
      case 'timerB':
        safeCall(this.ctx.logger, 'onTimeout', () => this.handlers.onTimeout());
        break;
      case '1xx':
        if (from === S.Calling) {
          this.timerA.cancel();
          this.timerB.cancel();
        }
        if (from === S.Calling || from === S.Proceeding) {
          const r = response as SipResponse;
          if (this.handlers.onProvisional !== undefined) safeCall(this.ctx.logger, 'onProvisional', () => this.handlers.onProvisional?.(r));
          if (this.pendingCancel !== undefined && !this.cancelSent && this.current === S.Proceeding) this.sendCancel(this.pendingCancel);
        }
        break;
      case '2xx': {
        const r = response as SipResponse;
        if (from === S.Accepted) {
          if (this.handlers.onRetransmitted2xx !== undefined) safeCall(this.ctx.logger, 'onRetransmitted2xx', () => this.handlers.onRetransmitted2xx?.(r));
          break;
        }
        if (from === S.Completed) break;
        this.stopTimers();
        // RFC 6026 §8.4: "the client transaction MUST transition to the Accepted state, and Timer M MUST be started with a value of 64*T1"
        this.timerM.start(64 * this.ctx.timers.t1);
        safeCall(this.ctx.logger, 'onFinal', () => this.handlers.onFinal(r));
        break;
      }
      case '300-699': {
        const r = response as SipResponse;
        if (from === S.Accepted) break;
        // §17.1.1.3: the ACK for a non-2xx final is built by the transaction, with the INVITE's branch.
        this.transmit(this.buildAck(r));
        if (from === S.Completed) break; // §17.1.1.2: retransmissions "MUST NOT be passed up to the TU"
        this.stopTimers();
        safeCall(this.ctx.logger, 'onFinal', () => this.handlers.onFinal(r));
        // §17.1.1.2: Completed only re-sends the ACK for Timer D; the TU has its answer.
        this.handlers = NO_HANDLERS;
        if (this.current !== S.Completed) break; // the TU closed the layer from inside onFinal
        if (this.reliable) this.fire('timerD');
        else this.timerD.start(TIMER_D_UDP_MS);
        break;
      }
      case 'cancelExpired':
        // §9.1: "If there is no final response for the original request in 64*T1 seconds ... the client SHOULD then consider the original transaction cancelled"
        safeCall(this.ctx.logger, 'onTimeout', () => this.handlers.onTimeout());
        break;
      case 'transportError':
        // §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has occurred"
        if (from !== S.Completed) {
          const err = error ?? new Error('transport error');
          safeCall(this.ctx.logger, 'onTransportError', () => this.handlers.onTransportError(err));
        }
        break;
      case 'timerD':
      case 'timerM':
        break;
    }
    if (to === S.Terminated && from !== S.Terminated) this.terminated();
  }

  protected transportFailed(err: Error): void {
    this.fire('transportError', undefined, err);
  }

  protected stopTimers(): void {
    this.timerA.cancel();
    this.timerB.cancel();
    this.timerD.cancel();
    this.timerM.cancel();
    this.cancelTimer.cancel();
  }

  /**
   * §17.1.1.3: "The ACK request constructed by the client transaction MUST contain values for the
   * Call-ID, From, and Request-URI that are equal to the values of those header fields in the
   * request passed to the transport"; To from the response; "a single Via header field ... equal
   * to the top Via header field of the original request"; the INVITE's CSeq number with method
   * ACK; and the INVITE's Route header fields.
   */
  private buildAck(response: SipResponse): SipRequest {
    if (this.ack !== undefined) return this.ack;
    const src = this.request.headers;
    const headers = createHeaders();
    headers.append('Via', src.get('via') ?? '');
    for (const route of src.getAll('route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', src.get('from') ?? '');
    headers.append('To', response.headers.get('to') ?? src.get('to') ?? '');
    headers.append('Call-ID', src.get('call-id') ?? '');
    headers.append('CSeq', `${cseqNumber(src.get('cseq'))} ACK`);
    this.ack = createRequest({ method: 'ACK', uri: this.request.uri, headers, body: Buffer.alloc(0) });
    return this.ack;
  }

  /**
   * §9.1: "The Request-URI, Call-ID, To, the numeric part of CSeq, and From header fields in the
   * CANCEL request MUST be identical to those in the request being cancelled, including tags. ...
   * A CANCEL constructed by a client MUST have only a single Via header field value matching the
   * top Via value in the request being cancelled." Route header fields are copied too.
   */
  private sendCancel(reason: string | null): void {
    this.cancelSent = true;
    this.pendingCancel = undefined;
    const src = this.request.headers;
    const headers = createHeaders();
    headers.append('Via', src.get('via') ?? '');
    for (const route of src.getAll('route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', src.get('from') ?? '');
    headers.append('To', src.get('to') ?? '');
    headers.append('Call-ID', src.get('call-id') ?? '');
    headers.append('CSeq', `${cseqNumber(src.get('cseq'))} CANCEL`);
    if (reason !== null) headers.append('Reason', reason);
    const cancel = createRequest({ method: 'CANCEL', uri: this.request.uri, headers, body: Buffer.alloc(0) });
    this.ctx.startCancel(cancel, this.destination);
    this.cancelTimer.start(64 * this.ctx.timers.t1);
  }
}

function cseqNumber(value: string | undefined): string {
  const n = /^\s*(\d+)/.exec(value ?? '');
  return n?.[1] ?? '0';
}

