import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { ClientTransactionBase } from './transaction-base.js';
import { NO_HANDLERS, safeCall, type TransactionContext } from './transaction-context.js';
import { TransactionTimer } from './transaction-timer.js';
import type { ClientTransaction, ClientTransactionHandlers } from './types.js';

/** RFC 3261 §17.1.2.2 Figure 6. */
export const NonInviteClientState = {
  Trying: 'Trying',
  Proceeding: 'Proceeding',
  Completed: 'Completed',
  Terminated: 'Terminated',
} as const;
export type NonInviteClientState = (typeof NonInviteClientState)[keyof typeof NonInviteClientState];

export type NonInviteClientEvent = '1xx' | '200-699' | 'timerE' | 'timerF' | 'timerK' | 'transportError';

const S = NonInviteClientState;

/**
 *                        |Request from TU
 *                        |send request                 RFC 3261 Figure 6
 *    Timer E             V
 *    send request  +-----------+
 *        +---------|           |-------------------+
 *        |         |  Trying   |  Timer F          |
 *        +-------->|           |  or Transport Err.|
 *                  +-----------+  inform TU        |
 *     200-699         |  |                         |
 *     resp. to TU     |  |1xx                      |
 *     +---------------+  |resp. to TU              |
 *     |                  |                         |
 *     |   Timer E        V       Timer F           |
 *     |   send req +-----------+ or Transport Err. |
 *     |  +---------|           | inform TU         |
 *     |  |         |Proceeding |------------------>|
 *     |  +-------->|           |-----+             |
 *     |            +-----------+     |1xx          |
 *     |              |      ^        |resp to TU   |
 *     | 200-699      |      +--------+             |
 *     | resp. to TU  |                             |
 *     |              V                             |
 *     |            +-----------+                   |
 *     +----------->| Completed | Timer K           |
 *                  +-----------+------> Terminated<+
 */
export function nextNonInviteClientState(state: NonInviteClientState, event: NonInviteClientEvent): NonInviteClientState | undefined {
  switch (state) {
    case S.Trying:
    case S.Proceeding:
      switch (event) {
        case '1xx': return S.Proceeding;
        case '200-699': return S.Completed;
        case 'timerE': return state;
        case 'timerF': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Completed:
      switch (event) {
        case '1xx': return S.Completed; // §17.1.2.2: "buffer any retransmissions of the response"
        case '200-699': return S.Completed;
        case 'timerK': return S.Terminated;
        default: return undefined;
      }
    case S.Terminated:
      return undefined;
  }
}

/** Non-INVITE client transaction (RFC 3261 §17.1.2): Timer E retransmissions over UDP, Timer F timeout, Timer K. */
export class NonInviteClientTransaction extends ClientTransactionBase<NonInviteClientState> implements ClientTransaction {
  private readonly timerE: TransactionTimer;
  private readonly timerF: TransactionTimer;
  private readonly timerK: TransactionTimer;
  private intervalE: number;

  constructor(id: string, request: SipRequest, destination: SipEndpoint, handlers: ClientTransactionHandlers, ctx: TransactionContext) {
    super(id, request, destination, handlers, ctx, S.Trying);
    this.intervalE = ctx.timers.t1;
    this.timerE = new TransactionTimer(ctx.clock, () => this.fire('timerE'));
    this.timerF = new TransactionTimer(ctx.clock, () => this.fire('timerF'));
    this.timerK = new TransactionTimer(ctx.clock, () => this.fire('timerK'));
  }

  start(): void {
    this.transmit(this.request);
    // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
    if (!this.reliable) this.timerE.start(this.intervalE);
    // §17.1.2.2: "the client transaction MUST set timer F to fire in 64*T1 seconds" (any transport)
    this.timerF.start(64 * this.ctx.timers.t1);
  }

  receiveResponse(response: SipResponse): void {
    this.fire(response.status < 200 ? '1xx' : '200-699', response);
  }

  /** Only INVITE transactions can be cancelled (§9.1: "CANCEL ... for a request other than INVITE ... has no effect"). */
  cancel(): void {
    this.ctx.logger.debug({ tx: this.id }, 'cancel() on a non-INVITE client transaction ignored');
  }

  private fire(event: NonInviteClientEvent, response?: SipResponse, error?: Error): void {
    const from = this.current;
    const to = nextNonInviteClientState(from, event);
    if (to === undefined) {
      this.ctx.logger.debug({ tx: this.id, state: from, event }, 'non-INVITE client transaction: event ignored');
      return;
    }
    this.current = to;
    switch (event) {
      case 'timerE':
        this.transmit(this.request);
        // §17.1.2.2: Trying: "reset with a value of MIN(2*T1, T2)" doubling; Proceeding: "reset with a value of T2 seconds".
        this.intervalE = from === S.Proceeding ? this.ctx.timers.t2 : Math.min(2 * this.intervalE, this.ctx.timers.t2);
        this.timerE.start(this.intervalE);
        break;
      case 'timerF':
        safeCall(this.ctx.logger, 'onTimeout', () => this.handlers.onTimeout());
        break;
      case '1xx':
        if (from !== S.Completed && this.handlers.onProvisional !== undefined) {
          const r = response as SipResponse;
          safeCall(this.ctx.logger, 'onProvisional', () => this.handlers.onProvisional?.(r));
        }
        break;
      case '200-699': {
        if (from === S.Completed) break; // a retransmitted final: absorbed
        const r = response as SipResponse;
        this.timerE.cancel();
        this.timerF.cancel();
        safeCall(this.ctx.logger, 'onFinal', () => this.handlers.onFinal(r));
        // §17.1.2.2: Completed only buffers retransmissions for Timer K; the TU has its answer.
        this.handlers = NO_HANDLERS;
        if (this.current !== S.Completed) break;
        // §17.1.2.2: Timer K "T4 seconds for unreliable transports, and zero seconds for reliable transports"
        if (this.reliable) this.fire('timerK');
        else this.timerK.start(this.ctx.timers.t4);
        break;
      }
      case 'transportError': {
        const err = error ?? new Error('transport error');
        safeCall(this.ctx.logger, 'onTransportError', () => this.handlers.onTransportError(err));
        break;
      }
      case 'timerK':
        break;
    }
    if (to === S.Terminated && from !== S.Terminated) this.terminated();
  }

  protected transportFailed(err: Error): void {
    this.fire('transportError', undefined, err);
  }

  protected stopTimers(): void {
    this.timerE.cancel();
    this.timerF.cancel();
    this.timerK.cancel();
  }
}
