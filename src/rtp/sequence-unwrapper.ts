/**
 * Extends the 16-bit RTP sequence number to a monotonic-ish 53-bit integer.
 *
 * RFC 3550 §A.1 keeps a `cycles` count and treats a jump of less than MAX_DROPOUT ahead as in
 * order and a jump "behind" as a reordered/duplicate packet. The same idea, written as its own small
 * unit as pion/interceptor does (internal/sequencenumber/unwrapper.go): the new value is placed at
 * the signed 16-bit distance nearest to the last one, so a packet 0x0001 after 0xFFFF is 65537, and
 * a reordered 0xFFFE after 0x0001 (=65537) is 65534, not 131070.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1
 */
export class SequenceUnwrapper {
  private last = 0;
  private started = false;

  /** Returns the extended sequence number of `sequenceNumber` (0..65535). Allocation-free. */
  unwrap(sequenceNumber: number): number {
    const seq = sequenceNumber & 0xffff;
    if (!this.started) {
      this.started = true;
      // Offset by one cycle so that a packet reordered before the first one stays non-negative.
      this.last = 0x10000 + seq;
      return this.last;
    }
    let delta = (seq - (this.last & 0xffff)) & 0xffff;
    if (delta >= 0x8000) delta -= 0x10000;
    const value = this.last + delta;
    // Only move the reference forward: a late packet must not drag it back (RFC 3550 §A.1 keeps
    // max_seq as the highest seen).
    if (value > this.last) this.last = value;
    return value;
  }

  /** Forgets the stream (new SSRC). */
  reset(): void {
    this.started = false;
    this.last = 0;
  }
}
