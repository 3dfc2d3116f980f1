import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { RequestKey, isReliable, safeCall, type TransactionContext } from './transaction-context.js';
import { TransactionStateError } from './transaction-state-error.js';
import { TransactionTimer } from './transaction-timer.js';
import type { ServerTransaction, TerminationReason } from './types.js';

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
export class NonInviteServerTransaction implements ServerTransaction {
  readonly id: string;
  /** The request until the final response; then only its response key (see RequestKey). */
  private req: SipRequest | undefined;
  private key: RequestKey | undefined = undefined;
  readonly source: SipEndpoint;
  readonly responseDestination: SipEndpoint;
  private current: NonInviteServerState = S.Trying;
  private readonly ctx: TransactionContext;
  private readonly reliable: boolean;
  private readonly timerJ: TransactionTimer;
  private last: SipResponse | undefined = undefined;
  private terminatedHandlers: ((reason: TerminationReason) => void)[] = [];
  private terminationReason: TerminationReason = 'normal';

  constructor(id: string, request: SipRequest, source: SipEndpoint, responseDestination: SipEndpoint, ctx: TransactionContext) {
    this.id = id;
    this.req = request;
    this.source = source;
    this.responseDestination = responseDestination;
    this.ctx = ctx;
    this.reliable = isReliable(responseDestination);
    this.timerJ = new TransactionTimer(ctx.clock, () => this.fire('timerJ'));
  }

  get state(): NonInviteServerState {
    return this.current;
  }

  /** The request; after the final response only the fields a response copies (Via, From, To, Call-ID, CSeq). */
  get request(): SipRequest {
    return this.req ?? (this.key as RequestKey).toRequest();
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

  onTerminated(handler: (reason: TerminationReason) => void): void {
    if (this.current !== S.Terminated) this.terminatedHandlers.push(handler);
  }

  receiveRequest(): void {
    this.fire('request');
  }

  /** Releases the timer, handlers and messages without calling the TU (layer close). */
  dispose(): void {
    this.timerJ.cancel();
    this.current = S.Terminated;
    this.release();
    this.terminatedHandlers = [];
    this.last = undefined;
  }

  /**
   * §17.2.2: once Completed the transaction only re-sends its final response to retransmissions,
   * for 64*T1 over UDP (Timer J): it keeps that response and the request's key, not the request
   * (a BYE, INFO or UPDATE with its body).
   */
  private release(): void {
    if (this.req === undefined) return;
    this.key = new RequestKey(this.req);
    this.req = undefined;
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
    if (to === S.Completed || to === S.Terminated) this.release();
    if (to === S.Terminated && from !== S.Terminated) {
      this.timerJ.cancel();
      this.ctx.terminated(this.id);
      const reason = this.terminationReason;
      const handlers = this.terminatedHandlers;
      this.terminatedHandlers = [];
      this.last = undefined;
      for (const h of handlers) safeCall(this.ctx.logger, 'onTerminated', () => h(reason));
    }
  }

  private transmit(response: SipResponse): void {
    this.last = response;
    this.ctx.send(response, this.responseDestination).catch((err: unknown) => {
      this.fire('transportError', undefined, err instanceof Error ? err : new Error(String(err)));
    });
  }
}
