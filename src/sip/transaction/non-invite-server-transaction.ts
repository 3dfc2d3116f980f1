import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { ServerTransactionBase } from './transaction-base.js';
import type { TransactionContext } from './transaction-context.js';
import { TransactionStateError } from './transaction-state-error.js';
import { TransactionTimer } from './transaction-timer.js';
import type { ServerTransaction } from './types.js';

/** RFC 3261 §17.2.2 Figure 8. */
export const NonInviteServerState = {
  Trying: 'Trying',
  Proceeding: 'Proceeding',
  Completed: 'Completed',
  Terminated: 'Terminated',
} as const;
export type NonInviteServerState = (typeof NonInviteServerState)[keyof typeof NonInviteServerState];

export type NonInviteServerEvent = 'tu1xx' | 'tu200-699' | 'request' | 'timerJ' | 'transportError';

const S = NonInviteServerState;

/**
 *                         |Request received
 *                         |pass to TU                 RFC 3261 Figure 8
 *                         V
 *                   +-----------+
 *                   |  Trying   |-------------+
 *                   +-----------+             |
 *                      |  |  1xx from TU      |  200-699 from TU
 *                      |  |  send response    |  send response
 *                      |  V                   |
 *  Request          +-----------+             |
 *  send response+---|Proceeding |------------>+
 *  1xx from TU  +-->+-----------+ Transport Err.
 *  send response        |                 Inform TU
 *                       |  200-699 from TU
 *                       V  send response
 *  Request          +-----------+
 *  send response+---| Completed |  Timer J fires
 *               +-->+-----------+---------------> Terminated
 */
export function nextNonInviteServerState(state: NonInviteServerState, event: NonInviteServerEvent): NonInviteServerState | undefined {
  switch (state) {
    case S.Trying:
    case S.Proceeding:
      switch (event) {
        case 'tu1xx': return S.Proceeding;
        case 'tu200-699': return S.Completed;
        case 'request': return state;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Completed:
      switch (event) {
        case 'request': return S.Completed;
        case 'timerJ': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Terminated:
      return undefined;
  }
}

/** Non-INVITE server transaction (RFC 3261 §17.2.2). Also answers CANCELs on the layer's behalf. */
export class NonInviteServerTransaction extends ServerTransactionBase<NonInviteServerState> implements ServerTransaction {
  private readonly timerJ: TransactionTimer;

  constructor(id: string, request: SipRequest, source: SipEndpoint, responseDestination: SipEndpoint, ctx: TransactionContext) {
    super(id, request, source, responseDestination, ctx, S.Trying);
    this.timerJ = new TransactionTimer(ctx.clock, () => this.fire('timerJ'));
  }

  respond(response: SipResponse): void {
    const event: NonInviteServerEvent = response.status < 200 ? 'tu1xx' : 'tu200-699';
    if (nextNonInviteServerState(this.current, event) === undefined) {
      throw new TransactionStateError('non-INVITE server transaction', this.current, `${event} (${response.status})`);
    }
    this.fire(event, response);
  }

  /** Only an INVITE can be cancelled; kept for the common interface. */
  onCancel(_handler: (cancel: SipRequest) => void): void {}

  receiveRequest(): void {
    this.fire('request');
  }

  private fire(event: NonInviteServerEvent, response?: SipResponse, error?: Error): void {
    const from = this.current;
    const to = nextNonInviteServerState(from, event);
    if (to === undefined) {
      this.ctx.logger.debug({ tx: this.id, state: from, event }, 'non-INVITE server transaction: event ignored');
      return;
    }
    this.current = to;
    switch (event) {
      case 'tu1xx':
        this.transmit(response as SipResponse);
        break;
      case 'tu200-699':
        this.transmit(response as SipResponse);
        // §17.2.2: "the server transaction MUST set Timer J to fire in 64*T1 seconds for unreliable transports, and zero seconds for reliable transports"
        if (this.reliable) this.fire('timerJ');
        else this.timerJ.start(64 * this.ctx.timers.t1);
        break;
      case 'request':
        // §17.2.2: Trying: "any further request retransmissions are discarded"; Proceeding/Completed: "the most recent ... response ... MUST be passed to the transport layer for retransmission"
        if (from !== S.Trying && this.last !== undefined) this.transmit(this.last);
        break;
      case 'transportError':
        // §17.2.4: "the server transaction ... SHOULD inform the TU that a failure has occurred"
        this.terminationReason = 'transport-error';
        this.ctx.logger.debug({ tx: this.id, err: error }, 'non-INVITE server transaction: transport error');
        break;
      case 'timerJ':
        break;
    }
    // §17.2.2: once Completed the transaction only re-sends its final response to retransmissions,
    // for 64*T1 over UDP (Timer J): it keeps that response and the request's key, not the request
    // (a BYE, INFO or UPDATE with its body).
    if (to === S.Completed || to === S.Terminated) this.release();
    if (to === S.Terminated && from !== S.Terminated) this.terminated();
  }

  private transmit(response: SipResponse): void {
    this.last = response;
    this.sendResponse(response);
  }

  protected transportFailed(err: Error): void {
    this.fire('transportError', undefined, err);
  }

  protected stopTimers(): void {
    this.timerJ.cancel();
  }
}
