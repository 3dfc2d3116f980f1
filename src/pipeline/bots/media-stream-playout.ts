import { PLAYOUT_FRAME_SAMPLES, type PlayoutSource } from '../playout.js';

interface PendingMark {
  readonly name: string;
  /** Absolute sample position the mark sits at: every sample before it must be played first. */
  readonly at: number;
}

export interface MediaStreamPlayoutHooks {
  /** A mark's audio has been handed to the call layer (or dropped by a clear): echo it. */
  onMarkReached(name: string): void;
}

/**
 * The bridge's playout queue: bot audio (8 kHz, decoded from μ-law) in a growable ring addressed
 * by absolute sample positions, with marks placed between samples. `pull()` copies one 20 ms frame
 * and then releases every mark whose preceding audio has now been handed out — so a mark goes back
 * to the bot only once the caller could have heard the audio before it, never when it was merely
 * queued. `clear()` drops all audio at once and releases the marks (what Twilio does on `clear`).
 * Steady state allocates nothing; the ring doubles when the bot sends faster than real time.
 */
export class MediaStreamPlayout implements PlayoutSource {
  private ring: Int16Array;
  private readPos = 0;
  private writePos = 0;
  private readonly marks: PendingMark[] = [];
  private markHead = 0;
  private readonly scratch = new Int16Array(4096);
  /** Audio dropped because the queue was at its limit (a bot sending far ahead of real time). */
  overflowSamples = 0;

  constructor(
    private readonly hooks: MediaStreamPlayoutHooks,
    private readonly maxQueuedSamples = 8000 * 600,
    initialSamples = 8000 * 10,
  ) {
    this.ring = new Int16Array(initialSamples);
  }

  get queuedSamples(): number {
    return this.writePos - this.readPos;
  }

  get queuedFrames(): number {
    return Math.ceil(this.queuedSamples / PLAYOUT_FRAME_SAMPLES);
  }

  get pendingMarks(): number {
    return this.marks.length - this.markHead;
  }

  /** Appends 8 kHz linear samples. */
  append(samples: Int16Array): void {
    let n = samples.length;
    const room = this.maxQueuedSamples - this.queuedSamples;
    if (n > room) {
      this.overflowSamples += n - room;
      n = Math.max(0, room);
    }
    if (n === 0) return;
    this.ensureCapacity(this.queuedSamples + n);
    const ring = this.ring;
    const start = this.writePos % ring.length;
    const first = Math.min(n, ring.length - start);
    ring.set(first === samples.length ? samples : samples.subarray(0, first), start);
    if (first < n) ring.set(samples.subarray(first, n), 0);
    this.writePos += n;
  }

  /** Decodes μ-law bytes with `decode` (G.711) into the queue without allocating per call. */
  appendCoded(bytes: Uint8Array, decode: (src: Uint8Array, dst: Int16Array, count?: number) => number): void {
    for (let off = 0; off < bytes.length; off += this.scratch.length) {
      const n = Math.min(this.scratch.length, bytes.length - off);
      decode(bytes.subarray(off, off + n), this.scratch, n);
      this.append(this.scratch.subarray(0, n));
    }
  }

  /** A mark after everything queued so far; released at once when nothing is queued. */
  mark(name: string): void {
    this.marks.push({ name, at: this.writePos });
    this.releaseMarks();
  }

  pull(out: Int16Array): boolean {
    const avail = this.queuedSamples;
    if (avail === 0) return false;
    const n = Math.min(avail, out.length);
    const ring = this.ring;
    const start = this.readPos % ring.length;
    const first = Math.min(n, ring.length - start);
    out.set(ring.subarray(start, start + first), 0);
    if (first < n) out.set(ring.subarray(0, n - first), first);
    if (n < out.length) out.fill(0, n);
    this.readPos += n;
    this.releaseMarks();
    return true;
  }

  /** Drops all queued audio and releases every pending mark; returns the 20 ms frames dropped. */
  clear(): number {
    const dropped = this.queuedFrames;
    this.readPos = this.writePos;
    this.releaseMarks();
    return dropped;
  }

  private releaseMarks(): void {
    while (this.markHead < this.marks.length) {
      const m = this.marks[this.markHead]!;
      if (m.at > this.readPos) break;
      this.markHead++;
      this.hooks.onMarkReached(m.name);
    }
    if (this.markHead === this.marks.length) {
      this.marks.length = 0;
      this.markHead = 0;
    }
  }

  private ensureCapacity(samples: number): void {
    if (samples <= this.ring.length) return;
    let size = this.ring.length * 2;
    while (size < samples) size *= 2;
    const next = new Int16Array(size);
    const queued = this.queuedSamples;
    const start = this.readPos % this.ring.length;
    const first = Math.min(queued, this.ring.length - start);
    next.set(this.ring.subarray(start, start + first), 0);
    if (first < queued) next.set(this.ring.subarray(0, queued - first), first);
    this.ring = next;
    // rebase positions so the copied audio sits at index 0 of the new ring
    const shift = this.readPos;
    this.readPos = 0;
    this.writePos = queued;
    for (let i = this.markHead; i < this.marks.length; i++) {
      const m = this.marks[i]!;
      this.marks[i] = { name: m.name, at: m.at - shift };
    }
  }
}
