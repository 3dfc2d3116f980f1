import { createResponse } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { ServerTransactionBase } from './transaction-base.js';
import { safeCall, type TransactionContext } from './transaction-context.js';
import { TransactionStateError } from './transaction-state-error.js';
import { TransactionTimer } from './transaction-timer.js';
import type { ServerTransaction } from './types.js';

/** RFC 3261 §17.2.1 Figure 7, with the Accepted state of RFC 6026 §7.1 (Figure 5). */
export const InviteServerState = {
  Proceeding: 'Proceeding',
  Accepted: 'Accepted',
  Completed: 'Completed',
  Confirmed: 'Confirmed',
  Terminated: 'Terminated',
} as const;
export type InviteServerState = (typeof InviteServerState)[keyof typeof InviteServerState];

export type InviteServerEvent =
  | 'tu1xx'
  | 'tu2xx'
  | 'tu300-699'
  | 'request'
  | 'ack'
  | 'timerTrying'
  | 'timerG'
  | 'timerH'
  | 'timerI'
  | 'timerL'
  | 'transportError';

const S = InviteServerState;

/**
 *                     |INVITE
 *                     |pass INV to TU                  RFC 3261 Figure 7 + RFC 6026 Figure 5
 *  INVITE             V send 100 if TU won't in 200ms
 *  send response+------------+
 *      +--------|            |--------+ 101-199 from TU
 *      |        | Proceeding |        | send response
 *      +------->|            |<-------+
 *               |            |          Transport Err.
 *               |            |          Inform TU
 *               |            |--------------------------------->+
 *               +------------+                                  |
 *  300-699 from TU |     |2xx from TU                           |
 *  send response   |     |send response                         |
 *                  |     +------------------>+                  |
 *  INVITE          V          Timer G fires  |  INVITE -        |
 *  send response+-----------+ send response  |  2xx from TU     |
 *      +--------|           |--------+       |  send response   |
 *      |        | Completed |        |       V  +-------+       |
 *      +------->|           |<-------+  +----------+   |       |
 *               +-----------+           | Accepted |<--+       |
 *                  |     |              +----------+            |
 *              ACK |     | Timer H fires     | Timer L fires    |
 *                - |     | Inform TU         | -                |
 *                  V     +------------------>+----------------->+
 *               +-----------+                                   |
 *               | Confirmed | Timer I fires                     V
 *               +-----------+-------------------------->  Terminated
 */
export function nextInviteServerState(state: InviteServerState, event: InviteServerEvent): InviteServerState | undefined {
  switch (state) {
    case S.Proceeding:
      switch (event) {
        case 'tu1xx': return S.Proceeding;
        case 'tu2xx': return S.Accepted;
        case 'tu300-699': return S.Completed;
        case 'request': return S.Proceeding;
        case 'timerTrying': return S.Proceeding;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Accepted:
      switch (event) {
        case 'tu2xx': return S.Accepted; // RFC 6026 §7.1: the TU's 2xx retransmissions pass through
        case 'request': return S.Accepted; // RFC 6026 §7.1: a retransmitted INVITE is absorbed
        case 'ack': return S.Accepted; // ACK for the 2xx: handed to the TU
        case 'timerL': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Completed:
      switch (event) {
        case 'request': return S.Completed;
        case 'ack': return S.Confirmed;
        case 'timerG': return S.Completed;
        case 'timerH': return S.Terminated;
        case 'transportError': return S.Terminated;
        default: return undefined;
      }
    case S.Confirmed:
      switch (event) {
        case 'request': return S.Confirmed; // absorbed
        case 'ack': return S.Confirmed; // §17.2.1: "further ACKs ... absorbed"
        case 'timerI': return S.Terminated;
        default: return undefined;
      }
    case S.Terminated:
      return undefined;
  }
}

/** §17.2.1: "send a 100 (Trying) response ... unless it knows that the TU will generate a provisional or final response within 200 ms". */
const AUTO_TRYING_MS = 200;

/** What the layer should do with an ACK that matched this transaction. */
export type AckDisposition = 'absorbed' | 'to-tu';

/** INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). */
export class InviteServerTransaction extends ServerTransactionBase<InviteServerState> implements ServerTransaction {
  private readonly timerTrying: TransactionTimer;
  private readonly timerG: TransactionTimer;
  private readonly timerH: TransactionTimer;
  private readonly timerI: TransactionTimer;
  private readonly timerL: TransactionTimer;
  private intervalG: number;
  // `last`, the response Timer G / a retransmitted INVITE re-send: the latest 1xx, or a 3xx-6xx
  // final. Never the 2xx (RFC 6026 §7.1: the TU retransmits it).
  /** The To header field of the last response (§9.2: the 200 to a CANCEL reuses its tag). */
  private lastToValue: string | undefined = undefined;
  private cancelHandlers: ((cancel: SipRequest) => void)[] = [];

  constructor(id: string, request: SipRequest, source: SipEndpoint, responseDestination: SipEndpoint, ctx: TransactionContext) {
    super(id, request, source, responseDestination, ctx, S.Proceeding);
    this.intervalG = ctx.timers.t1;
    this.timerTrying = new TransactionTimer(ctx.clock, () => this.fire('timerTrying'));
    this.timerG = new TransactionTimer(ctx.clock, () => this.fire('timerG'));
    this.timerH = new TransactionTimer(ctx.clock, () => this.fire('timerH'));
    this.timerI = new TransactionTimer(ctx.clock, () => this.fire('timerI'));
    this.timerL = new TransactionTimer(ctx.clock, () => this.fire('timerL'));
    this.timerTrying.start(AUTO_TRYING_MS);
  }

  /** The To header field of the last response sent (a CANCEL's 200 reuses its tag, §9.2). */
  get lastTo(): string | undefined {
    return this.lastToValue;
  }

  respond(response: SipResponse): void {
    const event: InviteServerEvent = response.status < 200 ? 'tu1xx' : response.status < 300 ? 'tu2xx' : 'tu300-699';
    if (nextInviteServerState(this.current, event) === undefined) {
      throw new TransactionStateError('INVITE server transaction', this.current, `${event} (${response.status})`);
    }
    this.fire(event, response);
  }

  /** Only a Proceeding transaction can be cancelled (§9.2): later handlers are not kept. */
  onCancel(handler: (cancel: SipRequest) => void): void {
    if (this.current === S.Proceeding) this.cancelHandlers.push(handler);
  }

  /** A retransmission of the INVITE (matched by the layer, §17.2.3). */
  receiveRequest(): void {
    this.fire('request');
  }

  /** An ACK matching this transaction. */
  receiveAck(): AckDisposition {
    const from = this.current;
    this.fire('ack');
    return from === S.Accepted ? 'to-tu' : 'absorbed';
  }

  /** A CANCEL matched this transaction (§9.2); the layer has answered it. True when the TU was told. */
  receiveCancel(cancel: SipRequest): boolean {
    // §9.2: "If the transaction for the original request still exists, the behavior of the UAS on receiving a CANCEL request depends on whether it has already sent a final response"
    if (this.current !== S.Proceeding) return false;
    for (const h of this.cancelHandlers) safeCall(this.ctx.logger, 'onCancel', () => h(cancel));
    return true;
  }

  /**
   * After the final response the TU has nothing more to hear but a termination: no CANCEL can
   * apply (§9.2), and the INVITE itself is no longer needed (§17.2.1: Completed re-sends the
   * final response; RFC 6026 §7.1: Accepted only absorbs). Dropping the handlers unties the
   * transaction, which lives on for up to 64*T1, from the incoming call, its dialog and the
   * application call behind them.
   */
  protected override release(): void {
    this.cancelHandlers = [];
    super.release();
  }

  private fire(event: InviteServerEvent, response?: SipResponse, error?: Error): void {
    const from = this.current;
    const to = nextInviteServerState(from, event);
    if (to === undefined) {
      this.ctx.logger.debug({ tx: this.id, state: from, event }, 'INVITE server transaction: event ignored');
      return;
    }
    this.current = to;
    switch (event) {
      case 'tu1xx':
        this.timerTrying.cancel();
        this.transmit(response as SipResponse);
        break;
      case 'tu2xx':
        this.timerTrying.cancel();
        this.transmit(response as SipResponse);
        // RFC 6026 §7.1: "the server transaction MUST transition to the Accepted state ... and Timer L MUST be set to fire in 64*T1"
        if (from === S.Proceeding) this.timerL.start(64 * this.ctx.timers.t1);
        break;
      case 'tu300-699':
        this.timerTrying.cancel();
        this.transmit(response as SipResponse);
        // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds ... For any transport, timer H MUST be set to fire in 64*T1 seconds."
        if (!this.reliable) this.timerG.start(this.intervalG);
        this.timerH.start(64 * this.ctx.timers.t1);
        break;
      case 'timerTrying':
        if (this.last === undefined) this.transmit(createResponse(this.request, 100));
        break;
      case 'request':
        // §17.2.1: Proceeding: "the most recent provisional response that was received from the TU MUST be passed to the transport layer for retransmission"; Completed: the final.
        if (from === S.Proceeding) {
          this.timerTrying.cancel();
          this.transmit(this.last ?? createResponse(this.request, 100));
        } else if (from === S.Completed && this.last !== undefined) {
          this.transmit(this.last);
        }
        break;
      case 'timerG':
        // §17.2.1: "the response is passed to the transport layer once more for retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds"
        if (this.last !== undefined) this.transmit(this.last);
        this.intervalG = Math.min(2 * this.intervalG, this.ctx.timers.t2);
        this.timerG.start(this.intervalG);
        break;
      case 'ack':
        if (from === S.Completed) {
          this.timerG.cancel();
          this.timerH.cancel();
          // §17.2.1: "timer I is set to fire in T4 seconds for unreliable transports, and zero seconds for reliable transports"
          if (this.reliable) this.fire('timerI');
          else this.timerI.start(this.ctx.timers.t4);
        }
        break;
      case 'timerH':
        // §17.2.1: "If timer H fires while in the Completed state ... the server transaction MUST transition to the Terminated state, and MUST indicate to the TU that a transaction failure has occurred."
        this.terminationReason = 'timeout';
        break;
      case 'transportError':
        // §17.2.4: "the server transaction ... SHOULD inform the TU that a failure has occurred"
        this.terminationReason = 'transport-error';
        this.ctx.logger.debug({ tx: this.id, err: error }, 'INVITE server transaction: transport error');
        break;
      case 'timerI':
      case 'timerL':
        break;
    }
    if (from === S.Proceeding && to !== S.Proceeding) this.release();
    if (to === S.Terminated && from !== S.Terminated) this.terminated();
  }

  private transmit(response: SipResponse): void {
    // RFC 6026 §7.1: in Accepted the TU retransmits its 2xx; the transaction keeps only its To tag.
    this.last = response.status >= 200 && response.status < 300 ? undefined : response;
    this.lastToValue = response.headers.get('to');
    this.sendResponse(response);
  }

  protected transportFailed(err: Error): void {
    this.fire('transportError', undefined, err);
  }

  protected stopTimers(): void {
    this.timerTrying.cancel();
    this.timerG.cancel();
    this.timerH.cancel();
    this.timerI.cancel();
    this.timerL.cancel();
  }
}
