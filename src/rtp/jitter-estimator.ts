/**
 * Arrival-jitter statistics for the jitter buffer.
 *
 * - {@link InterarrivalJitter}: the RFC 3550 §6.4.1 / §A.8 interarrival jitter, J += (|D| - J)/16,
 *   reported as a stat and in RTCP receiver reports. It is a smoothed mean deviation and says
 *   nothing about the tail, so it does not drive the playout delay.
 * - {@link DelayHistogram}: the tail estimator that does. WebRTC NetEQ (modules/audio_coding/neteq:
 *   delay_manager.cc, histogram.cc, underrun_optimizer.cc) measures each packet's *relative arrival
 *   delay* (its transit time minus the smallest transit in the last 2 s), keeps a histogram of it
 *   with exponential forgetting, and sets the target delay to a quantile (0.95) of that
 *   histogram. We do the same with finer buckets (NetEQ: 20 ms) and time-based forgetting so the
 *   window is the same whatever the packet time.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#appendix-A.8
 * @see https://webrtc.googlesource.com/src/+/refs/heads/main/modules/audio_coding/neteq/delay_manager.cc
 */

/** RFC 3550 §A.8 interarrival jitter, in milliseconds. Allocation-free. */
export class InterarrivalJitter {
  private lastTransitMs = 0;
  private started = false;
  /** Current estimate in ms. */
  jitterMs = 0;

  /**
   * `arrivalMs`: receive time; `mediaTimeMs`: the packet's RTP timestamp converted to ms (any
   * constant offset cancels out).
   */
  update(arrivalMs: number, mediaTimeMs: number): void {
    const transit = arrivalMs - mediaTimeMs;
    if (!this.started) {
      this.started = true;
      this.lastTransitMs = transit;
      return;
    }
    // RFC 3550 §A.8: "d = transit - s->transit; ... s->jitter += (1./16.) * ((double)d - s->jitter);"
    const d = Math.abs(transit - this.lastTransitMs);
    this.lastTransitMs = transit;
    this.jitterMs += (d - this.jitterMs) / 16;
  }

  reset(): void {
    this.started = false;
    this.lastTransitMs = 0;
    this.jitterMs = 0;
  }
}

/**
 * Histogram of delays (ms) with exponential forgetting and a quantile query.
 *
 * Forgetting is done lazily: instead of multiplying every bucket by `f` on each sample (NetEQ's
 * Histogram::Add), each new sample is added with weight 1/f^n, which keeps the same ratios; the
 * buckets are renormalised when the weights grow large. So `add` is O(1) and `quantile` O(buckets).
 */
export class DelayHistogram {
  private readonly buckets: Float64Array;
  private readonly bucketMs: number;
  private readonly tauMs: number;
  private weight = 1;
  private total = 0;
  private lastDurationMs = -1;
  private lastForget = 1;
  /** Number of samples added since the last reset. */
  samples = 0;

  /**
   * @param limitMs largest delay told apart; larger ones land in the last bucket.
   * @param bucketMs bucket width.
   * @param tauMs time constant of the forgetting (a sample's weight falls to 1/e after tauMs of
   *   audio has been added after it).
   */
  constructor(limitMs: number, bucketMs: number, tauMs: number) {
    this.bucketMs = bucketMs;
    this.tauMs = tauMs;
    this.buckets = new Float64Array(Math.ceil(limitMs / bucketMs) + 1);
  }

  /** Adds one delay sample that stands for `durationMs` of audio. */
  add(delayMs: number, durationMs: number): void {
    if (durationMs !== this.lastDurationMs) {
      this.lastDurationMs = durationMs;
      this.lastForget = Math.exp(-durationMs / this.tauMs);
    }
    this.weight /= this.lastForget;
    let index = Math.floor(Math.max(0, delayMs) / this.bucketMs);
    if (index >= this.buckets.length) index = this.buckets.length - 1;
    this.buckets[index] = (this.buckets[index] ?? 0) + this.weight;
    this.total += this.weight;
    this.samples++;
    if (this.weight > 1e100) this.renormalise();
  }

  /** Smallest bucket upper edge (ms) below which at least `q` of the (forgotten) mass lies. */
  quantile(q: number): number {
    if (this.total <= 0) return 0;
    const threshold = q * this.total;
    let sum = 0;
    const n = this.buckets.length;
    for (let i = 0; i < n; i++) {
      sum += this.buckets[i] ?? 0;
      if (sum >= threshold) return (i + 1) * this.bucketMs;
    }
    return n * this.bucketMs;
  }

  reset(): void {
    this.buckets.fill(0);
    this.weight = 1;
    this.total = 0;
    this.samples = 0;
  }

  private renormalise(): void {
    const w = this.weight;
    const n = this.buckets.length;
    for (let i = 0; i < n; i++) this.buckets[i] = (this.buckets[i] ?? 0) / w;
    this.total /= w;
    this.weight = 1;
  }
}
