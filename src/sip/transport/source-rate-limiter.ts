import type { Clock } from '../../shared/index.js';

/** How many sources the limiter remembers; beyond this the oldest bucket is forgotten (it refills). */
const DEFAULT_MAX_SOURCES = 20_000;

interface Bucket {
  tokens: number;
  /** Clock ms of the last refill. */
  last: number;
  /** Requests dropped since the limiter last reported this source. */
  dropped: number;
}

export interface SourceRateLimiterOptions {
  /** Sustained requests per second per source; 0 turns the limiter off. */
  perSecond: number;
  /** Requests a source may send at once after a quiet period. */
  burst: number;
  clock: Clock;
  /** Bound on remembered sources (memory stays bounded under a spoofed-source flood). */
  maxSources?: number;
  /** Told when a source starts being limited (once per episode), with the count dropped in the previous one. */
  onLimited?: (source: string) => void;
}

/**
 * A token bucket per source address for inbound SIP requests. RFC 3261 has no rate limit; this
 * is the local overload control RFC 5390 §5 asks of an element ("protect itself"), applied
 * before parsing so that a flood from one socket costs one Map lookup per datagram and cannot
 * starve other sources. RFC 7339 feedback is not sent: a flooding source gets silence.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private readonly maxSources: number;
  private readonly onLimited: ((source: string) => void) | undefined;
  private droppedTotal = 0;

  constructor(options: SourceRateLimiterOptions) {
    this.perMs = options.perSecond / 1000;
    this.burst = options.burst;
    this.clock = options.clock;
    this.maxSources = options.maxSources ?? DEFAULT_MAX_SOURCES;
    this.onLimited = options.onLimited;
  }

  get enabled(): boolean {
    return this.perMs > 0;
  }

  /** Requests dropped since start, all sources. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Sources currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** True when `source` may send one more request now (and takes its token). */
  allow(source: string): boolean {
    if (this.perMs <= 0) return true;
    const now = this.clock.now();
    let b = this.buckets.get(source);
    if (b === undefined) {
      if (this.buckets.size >= this.maxSources) {
        // Map iteration is insertion order: the first key is the source seen longest ago.
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
      b = { tokens: this.burst, last: now, dropped: 0 };
      this.buckets.set(source, b);
    } else if (now > b.last) {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.last) * this.perMs);
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      if (b.dropped > 0) b.dropped = 0;
      return true;
    }
    if (b.dropped === 0) this.onLimited?.(source);
    b.dropped++;
    this.droppedTotal++;
    return false;
  }

  clear(): void {
    this.buckets.clear();
  }
}
