/**
 * Extends the 32-bit RTP timestamp (RFC 3550 §5.1) to a 53-bit integer so arithmetic on
 * timestamps never has to think about the wrap at 2^32 (at 8 kHz the timestamp wraps every 6.2
 * days; with a random initial value, RFC 3550 §5.1 "SHOULD be random", any call may cross it).
 *
 * The new value is the one at the signed 32-bit distance nearest to the highest timestamp seen,
 * the same rule as the sequence unwrapper (pion/interceptor internal/sequencenumber).
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#section-5.1
 */
const TWO_32 = 0x1_0000_0000;
const HALF_32 = 0x8000_0000;

export class TimestampUnwrapper {
  private last = 0;
  private started = false;

  /** Returns the extended timestamp of `timestamp` (0..2^32-1). Allocation-free. */
  unwrap(timestamp: number): number {
    const ts = timestamp >>> 0;
    if (!this.started) {
      this.started = true;
      // One cycle of headroom keeps a packet reordered before the first one non-negative.
      this.last = TWO_32 + ts;
      return this.last;
    }
    let delta = ts - (this.last % TWO_32);
    if (delta < 0) delta += TWO_32;
    if (delta >= HALF_32) delta -= TWO_32;
    const value = this.last + delta;
    if (value > this.last) this.last = value;
    return value;
  }

  /** Forgets the stream (new SSRC or a resync). */
  reset(): void {
    this.started = false;
    this.last = 0;
  }
}
