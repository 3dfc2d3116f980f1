/**
 * Reception statistics for one RTP source, as RFC 3550 Appendix A computes them:
 * A.1 sequence validation and extended (unwrapped) sequence numbers, A.3 expected / lost /
 * fraction lost for reception reports, A.8 interarrival jitter. Plain numbers, updated in place
 * per packet; nothing allocated.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1
 */

const RTP_SEQ_MOD = 0x10000;
/** RFC 3550 A.1 constants. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const MIN_SEQUENTIAL = 2;

export class RtpReceiveStats {
  /** SSRC of the source these statistics describe (0 until the first packet). */
  ssrc = 0;
  /** A.1 source state. */
  maxSeq = 0;
  cycles = 0;
  baseSeq = 0;
  badSeq = RTP_SEQ_MOD + 1;
  probation = MIN_SEQUENTIAL;
  received = 0;
  expectedPrior = 0;
  receivedPrior = 0;
  /** A.8: jitter estimate in timestamp units, kept as a float (the report carries floor()). */
  jitter = 0;
  private transit = 0;
  private haveTransit = false;
  bytes = 0;
  /** Fraction lost of the last report interval (0–255) and cumulative lost (may be negative). */
  fractionLost = 0;
  started = false;

  /**
   * Accounts one packet. `arrivalRtp` is the arrival time in RTP timestamp units (e.g. ms × 8).
   * Returns false when A.1 rejects the packet as not (yet) valid for statistics.
   */
  update(ssrc: number, seq: number, timestamp: number, arrivalRtp: number, payloadBytes: number): boolean {
    if (!this.started || ssrc !== this.ssrc) {
      this.initSource(ssrc, seq);
      this.started = true;
      this.maxSeq = seq - 1;
      this.probation = MIN_SEQUENTIAL;
    }
    if (!this.updateSeq(seq)) return false;
    this.bytes += payloadBytes;
    // A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si); J += (|D| - J) / 16
    const transit = arrivalRtp - timestamp;
    if (this.haveTransit) {
      let d = transit - this.transit;
      // Timestamps wrap at 2^32: bring the difference back into range.
      if (d > 0x80000000) d -= 0x100000000;
      else if (d < -0x80000000) d += 0x100000000;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
    this.haveTransit = true;
    return true;
  }

  /** Highest sequence number received, extended with the wrap count (A.3 `extended_max`). */
  get extendedMaxSeq(): number {
    return this.cycles + this.maxSeq;
  }

  /** A.3: expected = extended_max - base_seq + 1. */
  get expected(): number {
    return this.started ? this.extendedMaxSeq - this.baseSeq + 1 : 0;
  }

  /** A.3 cumulative number of packets lost (expected - received), clamped to 24-bit signed. */
  get cumulativeLost(): number {
    const lost = this.expected - this.received;
    return Math.max(-0x800000, Math.min(0x7fffff, lost));
  }

  /**
   * A.3: fraction lost since the previous call (8-bit fixed point), as put in a reception report.
   * Call once per report.
   */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    this.fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    return this.fractionLost;
  }

  reset(): void {
    this.started = false;
    this.ssrc = 0;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.jitter = 0;
    this.haveTransit = false;
    this.bytes = 0;
    this.fractionLost = 0;
    this.cycles = 0;
  }

  private initSource(ssrc: number, seq: number): void {
    this.ssrc = ssrc;
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
    this.haveTransit = false;
    this.jitter = 0;
  }

  /** RFC 3550 A.1 update_seq(), transcribed. */
  private updateSeq(seq: number): boolean {
    const udelta = (seq - this.maxSeq + RTP_SEQ_MOD) % RTP_SEQ_MOD;
    if (this.probation > 0) {
      // Source is not valid until MIN_SEQUENTIAL packets with sequential numbers arrive.
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSource(this.ssrc, seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return false;
    } else if (udelta < MAX_DROPOUT) {
      // In order, with permissible gap.
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // The sequence number made a very large jump.
      if (seq === this.badSeq) {
        // Two sequential packets: assume the other side restarted without telling us.
        this.initSource(this.ssrc, seq);
      } else {
        this.badSeq = (seq + 1) & (RTP_SEQ_MOD - 1);
        return false;
      }
    }
    // else: duplicate or reordered packet.
    this.received++;
    return true;
  }
}
