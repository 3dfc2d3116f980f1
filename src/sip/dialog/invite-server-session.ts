import type { Clock, TimerHandle } from '../../shared/index.js';
import type { SipResponse } from '../message/index.js';
import type { TransactionTimers } from '../transaction/index.js';

/**
 * The UAS core's part of an INVITE answered with 2xx (RFC 3261 §13.3.1.4, RFC 6026): the
 * transaction layer sends the 2xx once and then forgets it, so the core re-sends it until the ACK
 * arrives: "The 2xx response is passed to the transport with an interval that starts at T1
 * seconds and doubles for each retransmission until it reaches T2 seconds ... Response
 * retransmissions cease when an ACK request for the response is received." And: "If the server
 * retransmits the 2xx response for 64*T1 seconds without receiving an ACK, the dialog is
 * confirmed, but the session SHOULD be terminated. This is accomplished with a BYE".
 *
 * States: 'waiting' (retransmitting) → 'acked' | 'timed-out' | 'stopped'; no other move.
 */
export type InviteServerSessionState = 'waiting' | 'acked' | 'timed-out' | 'stopped';

export class InviteServerSession {
  private current: InviteServerSessionState = 'waiting';
  private interval: number;
  private retransmitTimer: TimerHandle | undefined;
  private readonly giveUpTimer: TimerHandle;
  /** Retransmissions sent so far (not counting the first send). */
  retransmissions = 0;

  /**
   * @param cseq the INVITE's CSeq number, which the ACK repeats (§13.2.2.4)
   * @param retransmit passes the 2xx to the transport again
   * @param onTimeout called once after 64*T1 without ACK
   */
  constructor(
    readonly cseq: number,
    readonly response: SipResponse,
    private readonly clock: Clock,
    private readonly timers: TransactionTimers,
    private readonly retransmit: (response: SipResponse) => void,
    private readonly onTimeout: () => void,
  ) {
    this.interval = timers.t1;
    this.retransmitTimer = clock.setTimeout(() => this.fire(), this.interval);
    this.giveUpTimer = clock.setTimeout(() => this.timeout(), 64 * timers.t1);
  }

  get state(): InviteServerSessionState {
    return this.current;
  }

  /** An ACK with our CSeq arrived. True when it was the first (the one that confirms). */
  ack(): boolean {
    if (this.current !== 'waiting') return false;
    this.move('acked');
    return true;
  }

  /** The dialog ended some other way (BYE received, close). */
  stop(): void {
    if (this.current === 'waiting') this.move('stopped');
  }

  private fire(): void {
    if (this.current !== 'waiting') return;
    this.retransmissions++;
    this.retransmit(this.response);
    this.interval = Math.min(this.interval * 2, this.timers.t2);
    this.retransmitTimer = this.clock.setTimeout(() => this.fire(), this.interval);
  }

  private timeout(): void {
    if (this.current !== 'waiting') return;
    this.move('timed-out');
    this.onTimeout();
  }

  private move(next: InviteServerSessionState): void {
    if (this.current !== 'waiting') throw new Error(`InviteServerSession: illegal move ${this.current} -> ${next}`);
    this.current = next;
    this.retransmitTimer?.cancel();
    this.retransmitTimer = undefined;
    this.giveUpTimer.cancel();
  }
}
