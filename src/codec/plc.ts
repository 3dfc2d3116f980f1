/**
 * Packet loss concealment for G.711 after ITU-T G.711 Appendix I (09/1999), "A high quality
 * low-complexity algorithm for packet loss concealment with G.711" — pitch waveform replication.
 *
 * Algorithm (App. I §I.2), at 8 kHz, in 10 ms sub-frames:
 * - Every good frame goes into a 48.75 ms history (3 × the longest pitch period + ¼ of it).
 * - At the start of an erasure the pitch period is estimated by normalised cross-correlation of the
 *   last 20 ms against the history, for periods 40..120 samples (66–200 Hz): a coarse search on a
 *   2:1 decimated signal, then a fine search around the best coarse lag (App. I §I.2.2).
 * - One pitch period is taken from the tail of the history and repeated. The junction where the
 *   repeated period wraps onto itself is smoothed with a ¼-period overlap-add (triangular windows).
 * - After 10 ms of erasure the repeated buffer grows to two periods, after 20 ms to three (a
 *   single repeated period sounds buzzy); each growth is overlap-added with the previous synthesis.
 * - From the second 10 ms on, the synthetic signal is attenuated linearly by 20 % per 10 ms, so it
 *   is silent after 60 ms (App. I §I.2.5); later frames are zeros.
 * - At the first good frame after an erasure, the synthetic signal is overlap-added into the start
 *   of the real one over ¼ period + 4 ms per extra 10 ms of erasure (at most 10 ms) (§I.2.6).
 *
 * The join into the erasure: App. I delays all output by ¼ of the longest pitch period (30 samples
 * = 3.75 ms) so that the last ¼ period of good speech has not been played yet when an erasure
 * starts and can still be overlap-added with the synthetic signal. We keep that delay: the
 * alternative (joining without delay) puts a discontinuity at the first concealed sample whenever
 * the signal is not exactly periodic, which is exactly the click concealment must avoid. The cost
 * is 3.75 ms of latency on every frame, so: **every** good frame must pass through `good()` and the
 * caller plays the frame as modified in place (it is the input delayed by 30 samples). When the
 * stream goes idle (the jitter buffer says 'empty') call `reset()`, so a new talkspurt does not
 * start with the tail of the previous one.
 *
 * Allocation-free: all buffers are preallocated. The history is a window sliding over a longer
 * buffer, so saving a sub-frame writes 80 samples instead of shifting all 390 (the window is moved
 * back to the buffer's start once every HISTORY_SLACK sub-frames).
 *
 * @see https://www.itu.int/rec/T-REC-G.711-199909-I!AppI/en
 */

const SAMPLE_RATE = 8000;
/** App. I works in 10 ms sub-frames. */
const SUBFRAME = 80;
const PITCH_MIN = 40;
const PITCH_MAX = 120;
const PITCH_DIFF = PITCH_MAX - PITCH_MIN;
/** ¼ of the longest period: the output delay and the longest OLA at erasure start. */
const POVERLAP_MAX = PITCH_MAX >> 2;
const HISTORY_LEN = PITCH_MAX * 3 + POVERLAP_MAX;
/** Decimation of the coarse pitch search. */
const NDEC = 2;
/** Correlation window: the last 20 ms. */
const CORR_LEN = 160;
/** Energy floor for the normalisation, so silence does not produce a random "pitch". */
const CORR_MIN_POWER = 250;
/** The end-of-erasure OLA grows by 4 ms per extra 10 ms of erasure. */
const EOVERLAP_INCR = 32;
const ATTEN_FACTOR = 0.2;
const ATTEN_INCR = ATTEN_FACTOR / SUBFRAME;
/** Sub-frames of erasure after which the output is silence (60 ms). */
const MAX_SYNTH_SUBFRAMES = 6;
/** Samples the history window slides forward before it is copied back to the buffer's start. */
const HISTORY_SLACK = 16 * SUBFRAME;
/** Largest frame that good() moves through the history in one piece (larger go by sub-frames). */
const WHOLE_FRAME_MAX = HISTORY_LEN - POVERLAP_MAX;

function clip16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
}

/** Structural type: src/rtp's media session calls this as its Concealer */
export class G711Concealer {
  private readonly frameSamples: number;
  /**
   * Past output-side signal, the HISTORY_LEN samples [histAt, histAt + HISTORY_LEN) of this
   * buffer; the last POVERLAP_MAX of them are not played yet (the delay).
   */
  private readonly history = new Float64Array(HISTORY_LEN + HISTORY_SLACK);
  private histAt = 0;
  /** Working copy of the history from which the repeated periods are read. */
  private readonly pitchBuf = new Float64Array(HISTORY_LEN);
  /** The last ¼ period of real speech before the erasure, kept for the OLAs. */
  private readonly lastQ = new Float64Array(POVERLAP_MAX);
  private readonly tmp = new Float64Array(POVERLAP_MAX);
  private readonly overlapBuf = new Float64Array(SUBFRAME);
  private readonly sub = new Float64Array(SUBFRAME);
  /** Consecutive erased 10 ms sub-frames. */
  private eraseCount = 0;
  private pitch = PITCH_MAX;
  private pOverlap = POVERLAP_MAX;
  /** Read position in the pitch buffer, and its length (1, 2 or 3 periods). */
  private pOffset = 0;
  private pitchBufLen = 0;

  constructor(options: { sampleRate?: 8000; frameSamples?: 160 } = {}) {
    const sampleRate = options.sampleRate ?? SAMPLE_RATE;
    this.frameSamples = options.frameSamples ?? 160;
    if (sampleRate !== SAMPLE_RATE) throw new RangeError(`G711Concealer works at 8000 Hz, got ${String(sampleRate)}`);
    if (this.frameSamples % SUBFRAME !== 0 || this.frameSamples <= 0) {
      throw new RangeError(`frameSamples must be a multiple of ${SUBFRAME}, got ${String(this.frameSamples)}`);
    }
  }

  /** A good decoded frame: kept as history; after a loss, overlap-added with the synthetic signal for a smooth join. May modify `frame` in place. */
  good(frame: Int16Array): void {
    this.checkLength(frame);
    const n = this.frameSamples;
    if (this.eraseCount === 0 && n <= WHOLE_FRAME_MAX) {
      // The common case: savespeech() for the whole frame at once, with native copies. The frame
      // goes into the history and comes out POVERLAP_MAX samples later. Every sample that comes
      // out was written by good() (concealment leaves eraseCount > 0, so the next good frame takes
      // the path below), so it is an integer in 16-bit range and needs no clipping or rounding.
      const at = this.advanceHistory(n);
      const h = this.history;
      h.set(frame, at);
      frame.copyWithin(POVERLAP_MAX, 0, n - POVERLAP_MAX);
      const from = at - POVERLAP_MAX;
      for (let i = 0; i < POVERLAP_MAX; i++) frame[i] = h[from + i]!;
      return;
    }
    for (let off = 0; off < n; off += SUBFRAME) {
      const sub = this.sub;
      for (let i = 0; i < SUBFRAME; i++) sub[i] = frame[off + i]!;
      if (this.eraseCount > 0) {
        // §I.2.6: longer erasures get a longer OLA into the real signal.
        let olen = this.pOverlap + (this.eraseCount - 1) * EOVERLAP_INCR;
        if (olen > SUBFRAME) olen = SUBFRAME;
        this.readSynthetic(this.overlapBuf, 0, olen);
        this.overlapAddAtEnd(sub, this.overlapBuf, olen);
        this.eraseCount = 0;
      }
      this.saveSpeech(sub);
      for (let i = 0; i < SUBFRAME; i++) frame[off + i] = clip16(sub[i]!);
    }
  }

  /** Fills `out` with concealment: pitch estimated by autocorrelation/AMDF on the history (pitch 40–120 samples at 8 kHz = 66–200 Hz... App I uses 40..120), repeated with a 1/4-period overlap-add at each boundary, the number of periods used growing on longer losses, attenuated by 20% per 10 ms after the first 10 ms, and silence after ~60 ms. */
  conceal(out: Int16Array): void {
    this.checkLength(out);
    for (let off = 0; off < this.frameSamples; off += SUBFRAME) {
      const sub = this.sub;
      this.concealSubframe(sub);
      this.saveSpeech(sub);
      for (let i = 0; i < SUBFRAME; i++) out[off + i] = clip16(sub[i]!);
    }
  }

  reset(): void {
    this.history.fill(0);
    this.histAt = 0;
    this.eraseCount = 0;
    this.pOffset = 0;
    this.pitchBufLen = 0;
  }

  // ---------------------------------------------------------------------------------------------

  private checkLength(frame: Int16Array): void {
    if (frame.length !== this.frameSamples) throw new RangeError(`frame has ${frame.length} samples, expected ${this.frameSamples}`);
  }

  /** App. I dofe(): one erased 10 ms sub-frame into `out`. */
  private concealSubframe(out: Float64Array): void {
    const pb = this.pitchBuf;
    if (this.eraseCount === 0) {
      const h = this.history;
      const at = this.histAt;
      for (let i = 0; i < HISTORY_LEN; i++) pb[i] = h[at + i]!;
      this.pitch = this.findPitch();
      this.pOverlap = this.pitch >> 2;
      // Keep the original last ¼ period, then smooth the wrap of the single repeated period:
      // its tail fades into the quarter period that precedes its start.
      for (let i = 0; i < this.pOverlap; i++) this.lastQ[i] = pb[HISTORY_LEN - this.pOverlap + i]!;
      this.pOffset = 0;
      this.pitchBufLen = this.pitch;
      this.overlapAdd(this.lastQ, HISTORY_LEN - this.pitchBufLen - this.pOverlap, HISTORY_LEN - this.pOverlap, this.pOverlap);
      // The not-yet-played tail of the history becomes the smoothed one (this is why the delay exists).
      for (let i = 0; i < this.pOverlap; i++) h[at + HISTORY_LEN - this.pOverlap + i] = pb[HISTORY_LEN - this.pOverlap + i]!;
      this.readSynthetic(out, 0, SUBFRAME);
    } else if (this.eraseCount === 1 || this.eraseCount === 2) {
      // Add a period to the pitch buffer and cross-fade from the old synthesis into the new one.
      const saveOffset = this.pOffset;
      this.readSynthetic(this.tmp, 0, this.pOverlap);
      this.pOffset = saveOffset;
      while (this.pOffset > this.pitch) this.pOffset -= this.pitch;
      this.pitchBufLen += this.pitch;
      this.overlapAdd(this.lastQ, HISTORY_LEN - this.pitchBufLen - this.pOverlap, HISTORY_LEN - this.pOverlap, this.pOverlap);
      this.readSynthetic(out, 0, SUBFRAME);
      this.crossFade(this.tmp, out, this.pOverlap);
      this.scale(out);
    } else if (this.eraseCount >= MAX_SYNTH_SUBFRAMES) {
      out.fill(0);
    } else {
      this.readSynthetic(out, 0, SUBFRAME);
      this.scale(out);
    }
    this.eraseCount++;
  }

  /** App. I findpitch(): lag in 40..120 maximising normalised cross-correlation of the last 20 ms. */
  private findPitch(): number {
    const pb = this.pitchBuf;
    const l = HISTORY_LEN - CORR_LEN;
    let r = HISTORY_LEN - CORR_LEN - PITCH_MAX;
    // Coarse search on every NDEC-th sample.
    let energy = 0;
    let corr = 0;
    for (let i = 0; i < CORR_LEN; i += NDEC) {
      const rv = pb[r + i]!;
      energy += rv * rv;
      corr += rv * pb[l + i]!;
    }
    let bestCorr = corr / Math.sqrt(Math.max(energy, CORR_MIN_POWER));
    let bestMatch = 0;
    for (let j = NDEC; j <= PITCH_DIFF; j += NDEC) {
      const r0 = pb[r]!;
      const rn = pb[r + CORR_LEN]!;
      energy += rn * rn - r0 * r0;
      r += NDEC;
      corr = 0;
      for (let i = 0; i < CORR_LEN; i += NDEC) corr += pb[r + i]! * pb[l + i]!;
      const c = corr / Math.sqrt(Math.max(energy, CORR_MIN_POWER));
      if (c >= bestCorr) {
        bestCorr = c;
        bestMatch = j;
      }
    }
    // Fine search ±(NDEC−1) around the coarse best, on every sample.
    const lo = Math.max(0, bestMatch - (NDEC - 1));
    const hi = Math.min(PITCH_DIFF, bestMatch + (NDEC - 1));
    let rp = HISTORY_LEN - CORR_LEN - PITCH_MAX + lo;
    energy = 0;
    corr = 0;
    for (let i = 0; i < CORR_LEN; i++) {
      const rv = pb[rp + i]!;
      energy += rv * rv;
      corr += rv * pb[l + i]!;
    }
    bestCorr = corr / Math.sqrt(Math.max(energy, CORR_MIN_POWER));
    bestMatch = lo;
    for (let j = lo + 1; j <= hi; j++) {
      const r0 = pb[rp]!;
      const rn = pb[rp + CORR_LEN]!;
      energy += rn * rn - r0 * r0;
      rp++;
      corr = 0;
      for (let i = 0; i < CORR_LEN; i++) corr += pb[rp + i]! * pb[l + i]!;
      const c = corr / Math.sqrt(Math.max(energy, CORR_MIN_POWER));
      if (c > bestCorr) {
        bestCorr = c;
        bestMatch = j;
      }
    }
    return PITCH_MAX - bestMatch;
  }

  /** App. I getfespeech(): next `n` samples of the repeated pitch buffer. */
  private readSynthetic(out: Float64Array, at: number, n: number): void {
    const start = HISTORY_LEN - this.pitchBufLen;
    for (let i = 0; i < n; i++) {
      out[at + i] = this.pitchBuf[start + this.pOffset]!;
      if (++this.pOffset === this.pitchBufLen) this.pOffset = 0;
    }
  }

  /** App. I overlapadd(): pitchBuf[o..] = lastQ faded out + pitchBuf[r..] faded in. */
  private overlapAdd(l: Float64Array, r: number, o: number, n: number): void {
    const pb = this.pitchBuf;
    const incr = 1 / n;
    let lw = 1 - incr;
    let rw = incr;
    for (let i = 0; i < n; i++) {
      pb[o + i] = clip16(l[i]! * lw + pb[r + i]! * rw);
      lw -= incr;
      rw += incr;
    }
  }

  /** App. I overlapadds(): out[0..n) = from faded out + out faded in. */
  private crossFade(from: Float64Array, out: Float64Array, n: number): void {
    const incr = 1 / n;
    let lw = 1 - incr;
    let rw = incr;
    for (let i = 0; i < n; i++) {
      out[i] = clip16(from[i]! * lw + out[i]! * rw);
      lw -= incr;
      rw += incr;
    }
  }

  /** App. I overlapaddatend(): fade the (attenuated) synthesis out and the real signal in. */
  private overlapAddAtEnd(s: Float64Array, f: Float64Array, n: number): void {
    const incr = 1 / n;
    let gain = 1 - (this.eraseCount - 1) * ATTEN_FACTOR;
    if (gain < 0) gain = 0;
    const incrG = incr * gain;
    let lw = (1 - incr) * gain;
    let rw = incr;
    for (let i = 0; i < n; i++) {
      s[i] = clip16(lw * f[i]! + rw * s[i]!);
      lw -= incrG;
      rw += incr;
    }
  }

  /** App. I scalespeech(): linear 20 %/10 ms attenuation from the second erased sub-frame on. */
  private scale(out: Float64Array): void {
    let g = 1 - (this.eraseCount - 1) * ATTEN_FACTOR;
    for (let i = 0; i < SUBFRAME; i++) {
      out[i] = out[i]! * (g > 0 ? g : 0);
      g -= ATTEN_INCR;
    }
  }

  /** App. I savespeech(): push the sub-frame into the history, return it delayed by POVERLAP_MAX. */
  private saveSpeech(s: Float64Array): void {
    const at = this.advanceHistory(SUBFRAME);
    const h = this.history;
    for (let i = 0; i < SUBFRAME; i++) h[at + i] = s[i]!;
    const from = at - POVERLAP_MAX;
    for (let i = 0; i < SUBFRAME; i++) s[i] = h[from + i]!;
  }

  /**
   * Slides the history window `n` samples forward (n <= WHOLE_FRAME_MAX) and returns where the
   * new samples go (the window's last `n` samples).
   */
  private advanceHistory(n: number): number {
    if (this.histAt + n + HISTORY_LEN > this.history.length) {
      // Out of slack: move the samples that stay in the window back to the buffer's start.
      this.history.copyWithin(0, this.histAt + n, this.histAt + HISTORY_LEN);
      this.histAt = 0;
    } else {
      this.histAt += n;
    }
    return this.histAt + HISTORY_LEN - n;
  }
}
