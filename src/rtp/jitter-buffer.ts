/**
 * Adaptive, time-based jitter buffer for one inbound RTP audio stream.
 *
 * Storage is a ring of audio *samples* indexed by the (unwrapped) RTP timestamp. Which samples are
 * present is kept as a sorted set of disjoint timestamp intervals (a packet is one interval, an
 * in-order stream is a single interval that grows at its end and shrinks at its start), and where
 * packets start (and whether they carry the marker bit) as a sorted list of timestamps. So any
 * packet time (10, 20, 30, 40, 60 ms…) lands at its exact place, `pop` reads exactly one frame
 * (default 20 ms) at the playout timestamp, and the bookkeeping per packet and per frame is a few
 * interval operations instead of one flag per sample. pion/interceptor's jitter buffer counts
 * packets; this one measures time.
 *
 * Playout delay (how the target is chosen), after WebRTC NetEQ (delay_manager.cc,
 * relative_arrival_delay_tracker.cc):
 *   transit_i  = arrival_i − timestamp_i/clockRate                 (RFC 3550 §A.8 "transit")
 *   base       = min transit over the last 2 s                       (the fastest path seen)
 *   relDelay_i = transit_i − base                                   (≥ 0: how late packet i was)
 *   target     = clamp(q97(relDelay over ~4 s, forgetting) + frameMs, minDelayMs, maxDelayMs)
 * The buffer's current delay is `now − (playoutTimestamp/clockRate + base) + frameMs`: how long
 * after the fastest possible arrival the frame is played. With no jitter it is one frame (20 ms),
 * i.e. each frame plays at the first tick after it arrives.
 *
 * Keeping the current delay at the target (and absorbing sender clock skew, RFC 3550 §A.8 notes
 * that clocks drift): when it stays above target + 1 frame a frame is dropped (preferably a frame
 * that is missing anyway, so nothing audible is lost), when it stays below target a concealed
 * frame is inserted ('lost' without consuming). At a talkspurt start (RTP marker bit, RFC 3551
 * §4.1) or after an idle gap, playout is re-anchored at the target, which is where delay changes
 * cost nothing (NetEQ and RFC 3550 §A.8 both adapt in silence).
 *
 * Sequence numbers only serve duplicate detection (RFC 3550 §A.1 extended numbers); order, loss and
 * lateness are all judged on the timestamp axis, which is what playout is about.
 *
 * push() and pop() allocate nothing: all storage is preallocated in the constructor.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1
 * @see https://www.rfc-editor.org/rfc/rfc3550#appendix-A.8
 * @see https://www.rfc-editor.org/rfc/rfc3551#section-4.1
 * @see https://webrtc.googlesource.com/src/+/refs/heads/main/modules/audio_coding/neteq/delay_manager.cc
 */
import { DelayHistogram, InterarrivalJitter } from './jitter-estimator.js';
import { SequenceUnwrapper } from './sequence-unwrapper.js';
import { TimestampUnwrapper } from './timestamp-unwrapper.js';

export interface JitterBufferOptions {
  /** RTP clock rate in Hz (G.711: 8000). */
  clockRate?: number;
  /** Duration of one output frame in ms (20). */
  frameMs?: number;
  /** Lower clamp of the target playout delay in ms (20). */
  minDelayMs?: number;
  /** Upper clamp of the target playout delay in ms (200). */
  maxDelayMs?: number;
  /** bytes per sample of the payload (G.711: 1) */
  bytesPerSample?: number;
}

export type JitterPopResult = 'packet' | 'lost' | 'empty';

export interface JitterBufferStats {
  /** Playout delay beyond the fastest observed path, ms (0 while not playing). */
  currentDelayMs: number;
  /** Delay the buffer steers towards, ms. */
  targetDelayMs: number;
  /** RFC 3550 §A.8 interarrival jitter, ms. */
  jitterMs: number;
  /** pop() calls that returned 'packet'. */
  framesPlayed: number;
  /** pop() calls that returned 'lost' (missing frames and inserted frames). */
  concealedFrames: number;
  /** Packets that arrived after their audio had been played (or skipped). */
  latePackets: number;
  /** Packets thrown away for another reason: too far ahead, empty, or flushed unplayed. */
  discardedPackets: number;
  /** Packets whose sequence number had already been received. */
  duplicatePackets: number;
  /** Stream restarts: new SSRC, timestamp jump (resync), or reset(). */
  resets: number;
  /** Frames dropped or inserted to hold the delay at the target (sender skew, target changes). */
  skewCorrections: number;
}

/** Buffering: waiting until the first frame of a talkspurt is due. Playing: one frame per pop. */
type PlayoutState = 'buffering' | 'playing';

const DEFAULTS = { clockRate: 8000, frameMs: 20, minDelayMs: 20, maxDelayMs: 200, bytesPerSample: 1 } as const satisfies Required<JitterBufferOptions>;


/** NetEQ uses the 0.95 quantile; one notch higher trades a few ms of delay for fewer late frames. */
const DELAY_QUANTILE = 0.97;
/** Histogram forgetting time constant (the "last few seconds" of arrivals). */
const HISTOGRAM_TAU_MS = 4000;
const HISTOGRAM_BUCKET_MS = 2;
/** Target used until the histogram has seen this many packets (NetEQ starts at 80 ms). */
const STARTUP_PACKETS = 25;
const STARTUP_DELAY_MS = 60;
/** Base (minimum) transit is tracked over 2 s in 100 ms bins (NetEQ: 2 s of history). */
const MIN_BIN_MS = 100;
const MIN_BINS = 20;
/** A correction happens only after the condition held for this many pops… */
const CORRECTION_PERSIST_POPS = 3;
/** …and at most once per this many pops, so adjustments are spread out. */
const CORRECTION_SPACING_POPS = 5;
/** Missing frames with nothing buffered after them before the stream is considered idle. */
const IDLE_AFTER_FRAMES = 3;
/** Consecutive late or far-ahead packets that mean the sender's timestamps jumped. */
const RESYNC_AFTER_PACKETS = 5;
/** Largest packet accepted, ms. */
const MAX_PACKET_MS = 120;
/** Relative delays beyond this are timestamp jumps, not network behaviour; kept out of the stats. */
const MAX_PLAUSIBLE_DELAY_MS = 10_000;
const SEQ_RING = 1024;
/**
 * Packets (and separate runs of audio) the buffer holds at most, per this many samples of
 * capacity: one per 2 ms of audio at 8 kHz. Real packets are 10 ms or longer; a stream of smaller
 * ones that would exceed this is discarded, which keeps the bookkeeping memory per call small.
 */
const SAMPLES_PER_ENTRY = 16;

/** Byte copy between typed arrays without creating subarray views (which allocate). */
function copyBytes(src: Uint8Array, srcAt: number, dst: Uint8Array, dstAt: number, length: number): void {
  for (let i = 0; i < length; i++) dst[dstAt + i] = src[srcAt + i]!;
}

export class JitterBuffer {
  readonly stats: JitterBufferStats = {
    currentDelayMs: 0,
    targetDelayMs: 0,
    jitterMs: 0,
    framesPlayed: 0,
    concealedFrames: 0,
    latePackets: 0,
    discardedPackets: 0,
    duplicatePackets: 0,
    resets: 0,
    skewCorrections: 0,
  };

  private readonly clockRate: number;
  private readonly frameMs: number;
  private readonly frameSamples: number;
  private readonly bytesPerSample: number;
  private readonly frameBytes: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly capacity: number;
  private readonly mask: number;
  private readonly farAheadSamples: number;
  private readonly maxPacketSamples: number;

  private readonly audio: Uint8Array;
  /**
   * Timestamps whose audio is present: disjoint, non-adjacent, sorted intervals
   * [segStart[i], segEnd[i]) for i < segCount. All lie within one ring capacity of windowStart.
   */
  private readonly segStart: Float64Array;
  private readonly segEnd: Float64Array;
  private segCount = 0;
  /** Entries of segStart/segEnd and of pktStart/pktMarker in use at most (the arrays have 2 more). */
  private readonly maxEntries: number;
  /** Sorted timestamps where a stored packet starts (pktMarker: it carried the marker bit). */
  private readonly pktStart: Float64Array;
  private readonly pktMarker: Uint8Array;
  private pktCount = 0;
  private readonly seenSeq = new Float64Array(SEQ_RING).fill(-1);
  private readonly minBinId = new Float64Array(MIN_BINS).fill(NaN);
  /** Bin id for which baseTransitMs was last computed over all bins (NaN: recompute). */
  private baseBinId = NaN;
  private readonly minBinValue = new Float64Array(MIN_BINS);
  private readonly seqUnwrapper = new SequenceUnwrapper();
  private readonly tsUnwrapper = new TimestampUnwrapper();
  private readonly interarrival = new InterarrivalJitter();
  private readonly histogram: DelayHistogram;

  private state: PlayoutState = 'buffering';
  private ssrc = 0;
  private hasSsrc = false;
  /** Smallest transit (ms) in the last 2 s; valid when hasBase. */
  private baseTransitMs = 0;
  private hasBase = false;
  /** Timestamps below windowStart are history; while playing it is the playout timestamp. */
  private windowStart = 0;
  private windowValid = false;
  /** End of the audio played so far (-Infinity before the first playout of the stream). */
  private playedUpTo = -Infinity;
  private highestEnd = 0;
  private bufferedSamples = 0;
  private emptyRun = 0;
  private excessPops = 0;
  private deficitPops = 0;
  private popsSinceCorrection = 0;
  private consecutiveLate = 0;
  private consecutiveFarAhead = 0;
  private consecutiveJumps = 0;
  /** Extra delay (ms) that the packet time forces on whole frames; see observeArrival. */
  private packetizationMs = 0;
  private lastPacketSamples = 0;

  constructor(options: JitterBufferOptions = {}) {
    this.clockRate = options.clockRate ?? DEFAULTS.clockRate;
    this.frameMs = options.frameMs ?? DEFAULTS.frameMs;
    this.minDelayMs = options.minDelayMs ?? DEFAULTS.minDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
    this.bytesPerSample = options.bytesPerSample ?? DEFAULTS.bytesPerSample;
    this.frameSamples = (this.clockRate * this.frameMs) / 1000;
    if (!Number.isInteger(this.clockRate) || this.clockRate <= 0) throw new RangeError(`clockRate must be a positive integer, got ${this.clockRate}`);
    if (!Number.isInteger(this.frameSamples) || this.frameSamples <= 0) {
      throw new RangeError(`frameMs ${this.frameMs} is not a whole number of samples at ${this.clockRate} Hz`);
    }
    if (!Number.isInteger(this.bytesPerSample) || this.bytesPerSample <= 0) throw new RangeError(`bytesPerSample must be a positive integer, got ${this.bytesPerSample}`);
    if (!(this.minDelayMs >= 0 && this.maxDelayMs >= this.minDelayMs)) {
      throw new RangeError(`need 0 <= minDelayMs <= maxDelayMs, got ${this.minDelayMs}..${this.maxDelayMs}`);
    }
    this.frameBytes = this.frameSamples * this.bytesPerSample;
    this.maxPacketSamples = Math.ceil((MAX_PACKET_MS * this.clockRate) / 1000);
    // A packet may legitimately be ahead of the playout point by the delay plus its own length.
    this.farAheadSamples = Math.ceil(((this.maxDelayMs + 2 * this.frameMs + 60) * this.clockRate) / 1000);
    let capacity = 1;
    while (capacity < this.farAheadSamples + this.maxPacketSamples + this.frameSamples) capacity *= 2;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.audio = new Uint8Array(capacity * this.bytesPerSample);
    // +2: one interval inserted by a packet, one more if a removal splits an interval.
    this.maxEntries = Math.max(16, Math.ceil(capacity / SAMPLES_PER_ENTRY));
    this.segStart = new Float64Array(this.maxEntries + 2);
    this.segEnd = new Float64Array(this.maxEntries + 2);
    this.pktStart = new Float64Array(this.maxEntries + 2);
    this.pktMarker = new Uint8Array(this.maxEntries + 2);
    this.histogram = new DelayHistogram(this.maxDelayMs, HISTOGRAM_BUCKET_MS, HISTOGRAM_TAU_MS);
    this.stats.targetDelayMs = this.clampDelay(STARTUP_DELAY_MS);
  }

  /** Copies the payload into preallocated storage (NO allocation per packet). `arrivalMs` is the clock's now at receive time. */
  push(sequenceNumber: number, timestamp: number, ssrc: number, marker: boolean, payload: Uint8Array, arrivalMs: number): void {
    this.pushFrom(sequenceNumber, timestamp, ssrc, marker, payload, 0, payload.length, arrivalMs);
  }

  /**
   * The same as {@link push} with the payload given as `length` bytes at `offset` of `data` (e.g.
   * the received datagram itself), so the caller needs neither a copy nor a subarray view.
   */
  pushFrom(sequenceNumber: number, timestamp: number, ssrc: number, marker: boolean, data: Uint8Array, offset: number, length: number, arrivalMs: number): void {
    if (offset < 0 || length < 0 || offset + length > data.length) throw new RangeError(`payload [${offset}, ${offset + length}) is outside ${data.length} bytes`);
    const samples = Math.floor(length / this.bytesPerSample);
    if (samples === 0 || samples > this.maxPacketSamples) {
      this.stats.discardedPackets++;
      return;
    }
    if (!this.hasSsrc || ssrc >>> 0 !== this.ssrc) {
      // RFC 3550 §8.2: a new SSRC is a new source; its sequence and timestamp spaces are unrelated.
      if (this.hasSsrc) this.restartStream();
      this.ssrc = ssrc >>> 0;
      this.hasSsrc = true;
    }

    const extSeq = this.seqUnwrapper.unwrap(sequenceNumber);
    const slot = extSeq & (SEQ_RING - 1);
    if (this.seenSeq[slot] === extSeq) {
      this.stats.duplicatePackets++;
      return;
    }
    this.seenSeq[slot] = extSeq;

    const ts = this.tsUnwrapper.unwrap(timestamp);
    const end = ts + samples;
    // A transit time seconds away from the base is not the network: the sender's timestamps
    // jumped (new timestamp base under the same SSRC, a relay switching sources, a hold that
    // froze the clock). Start over once it is clearly not a one-off.
    if (this.hasBase && Math.abs(arrivalMs - (ts * 1000) / this.clockRate - this.baseTransitMs) > MAX_PLAUSIBLE_DELAY_MS) {
      this.stats.discardedPackets++;
      if (++this.consecutiveJumps < RESYNC_AFTER_PACKETS) return;
      this.resync(ts);
    } else {
      this.consecutiveJumps = 0;
    }
    if (!this.windowValid) {
      this.windowValid = true;
      this.windowStart = ts;
      this.highestEnd = ts;
    }

    // While playing, everything before the playout point is history; while buffering, only what
    // was actually played is (a packet reordered before the first one of a talkspurt is welcome).
    const lateBound = this.state === 'playing' ? this.windowStart : this.playedUpTo;
    if (end <= lateBound || (this.state === 'buffering' && this.highestEnd - Math.max(ts, lateBound) > this.capacity)) {
      // Its audio has been played (or concealed) already, or is older than all we can hold.
      this.stats.latePackets++;
      if (++this.consecutiveLate >= RESYNC_AFTER_PACKETS) {
        this.resync(ts);
      } else {
        this.observeArrival(ts, samples, arrivalMs);
        return;
      }
    } else {
      this.consecutiveLate = 0;
    }

    if (this.state === 'playing') {
      if (ts - this.windowStart > this.farAheadSamples) {
        this.stats.discardedPackets++;
        if (++this.consecutiveFarAhead < RESYNC_AFTER_PACKETS) return;
        this.resync(ts);
      } else {
        this.consecutiveFarAhead = 0;
      }
    } else if (ts < this.windowStart) {
      this.windowStart = Math.max(ts, this.playedUpTo);
    } else if (end - this.windowStart > this.capacity) {
      // Buffering: newer audio supersedes older audio that was never started.
      if (this.bufferedSamples === 0) {
        this.windowStart = ts;
      } else {
        this.discardRange(this.windowStart, end - this.capacity);
        this.windowStart = end - this.capacity;
      }
    }

    this.observeArrival(ts, samples, arrivalMs);
    this.store(ts, samples, marker, data, offset);
  }

  /** Called exactly once per 20 ms tick. Writes one frame (frameMs of audio = 160 bytes for G.711 at 8 kHz) into `out` and returns 'packet'; or returns 'lost' (the frame is missing: the caller conceals) or 'empty' (not started yet, or idle after a long gap/DTX: the caller plays silence). Never allocates. */
  pop(nowMs: number, out: Uint8Array): JitterPopResult {
    if (out.length < this.frameBytes) throw new RangeError(`out has ${out.length} bytes, a frame needs ${this.frameBytes}`);
    if (this.state === 'buffering' && !this.tryStart(nowMs)) {
      this.stats.currentDelayMs = 0;
      return 'empty';
    }
    this.popsSinceCorrection++;
    return this.popPlaying(nowMs, out);
  }

  /** Flushes the stream (buffered audio, sequence/timestamp state, base transit); the delay
   * histogram and the cumulative counters are kept: the network path is usually the same. */
  reset(): void {
    this.restartStream();
    this.hasSsrc = false;
  }

  // ---------------------------------------------------------------------------------------------

  private transition(to: PlayoutState): void {
    if (to === this.state) throw new Error(`jitter buffer: illegal transition ${this.state} -> ${to}`);
    if (to === 'buffering') this.playedUpTo = this.windowStart;
    this.state = to;
    this.emptyRun = 0;
    this.excessPops = 0;
    this.deficitPops = 0;
    this.popsSinceCorrection = 0;
  }

  /** Buffering → playing when the earliest buffered audio is due at the target delay. */
  private tryStart(nowMs: number): boolean {
    if (!this.windowValid || this.bufferedSamples === 0 || !this.hasBase) return false;
    const first = this.findFilled(this.windowStart, this.highestEnd);
    if (first < 0) return false;
    // Timestamp that would play now with exactly the target delay.
    const dueTs = ((nowMs + this.frameMs - this.stats.targetDelayMs - this.baseTransitMs) * this.clockRate) / 1000;
    if (first > dueTs) return false;
    let start = first;
    // Audio older than that (a burst after a stall) would only add delay: skip whole frames of it.
    if (dueTs - first >= this.frameSamples) start = first + Math.floor((dueTs - first) / this.frameSamples) * this.frameSamples;
    this.discardRange(this.windowStart, start);
    this.windowStart = start;
    this.transition('playing');
    return true;
  }

  private popPlaying(nowMs: number, out: Uint8Array): JitterPopResult {
    const stats = this.stats;
    const target = stats.targetDelayMs;
    let delay = this.currentDelay(nowMs);

    // Far too much audio queued (the caller stalled, or a reordering storm): jump back to target.
    if (delay > this.maxDelayMs + 2 * this.frameMs) {
      const frames = Math.floor((delay - target) / this.frameMs);
      this.discardRange(this.windowStart, this.windowStart + frames * this.frameSamples);
      this.windowStart += frames * this.frameSamples;
      stats.skewCorrections += frames;
      delay -= frames * this.frameMs;
      this.popsSinceCorrection = 0;
    }

    const excess = delay > target + this.frameMs;
    this.excessPops = excess ? this.excessPops + 1 : 0;
    this.deficitPops = delay < target ? this.deficitPops + 1 : 0;
    const mayCorrect = this.popsSinceCorrection >= CORRECTION_SPACING_POPS;

    let filled = this.countFilled(this.windowStart, this.frameSamples);
    if (filled === this.frameSamples) {
      this.emptyRun = 0;
      if (this.excessPops >= CORRECTION_PERSIST_POPS && mayCorrect && this.countFilled(this.windowStart + this.frameSamples, this.frameSamples) === this.frameSamples) {
        // Time-compress by one frame (sender faster than us, or the target went down).
        this.skipFrame();
        stats.skewCorrections++;
        delay -= this.frameMs;
        this.popsSinceCorrection = 0;
      } else if (this.deficitPops >= CORRECTION_PERSIST_POPS && mayCorrect) {
        // Stretch by one concealed frame (sender slower than us, or the target went up).
        stats.skewCorrections++;
        stats.concealedFrames++;
        stats.currentDelayMs = delay;
        this.popsSinceCorrection = 0;
        return 'lost';
      }
      this.readFrame(out);
      stats.currentDelayMs = delay;
      stats.framesPlayed++;
      return 'packet';
    }

    // The frame is missing (or partly missing). What follows it decides between loss, silence,
    // a free compression, and waiting a little for a late packet.
    const next = this.findFilled(this.windowStart, this.highestEnd);
    if (next < 0) {
      if (++this.emptyRun > IDLE_AFTER_FRAMES) {
        // Nothing for a while: the talker stopped (DTX) or the path is down. Re-anchor on the next packet.
        this.transition('buffering');
        stats.currentDelayMs = 0;
        return 'empty';
      }
    } else {
      this.emptyRun = 0;
      const gapSamples = next - this.windowStart;
      if (gapSamples >= this.frameSamples && this.markerAt(next)) {
        // RFC 3551 §4.1: the marker starts a talkspurt after silence, so the gap is silence, not loss.
        this.transition('buffering');
        stats.currentDelayMs = 0;
        return 'empty';
      }
      if (excess && gapSamples >= this.frameSamples) {
        // The frame is lost anyway and we are above target: skip it instead of concealing it.
        this.skipFrame();
        stats.skewCorrections++;
        delay -= this.frameMs;
        filled = this.countFilled(this.windowStart, this.frameSamples);
        if (filled === this.frameSamples) {
          this.readFrame(out);
          stats.currentDelayMs = delay;
          stats.framesPlayed++;
          return 'packet';
        }
      }
    }
    stats.concealedFrames++;
    if (delay < target) {
      // Below target: conceal without consuming, so a late packet still has a chance (NetEQ "expand").
      stats.currentDelayMs = delay;
      return 'lost';
    }
    this.skipFrame();
    stats.currentDelayMs = delay;
    return 'lost';
  }

  /** Playout delay (ms) of the frame at windowStart if played now, beyond the fastest path. */
  private currentDelay(nowMs: number): number {
    return nowMs - ((this.windowStart * 1000) / this.clockRate + this.baseTransitMs) + this.frameMs;
  }

  /** Updates base transit, the delay histogram, the RFC 3550 jitter and the target. */
  private observeArrival(ts: number, samples: number, arrivalMs: number): void {
    const mediaMs = (ts * 1000) / this.clockRate;
    const transit = arrivalMs - mediaMs;
    this.interarrival.update(arrivalMs, mediaMs);
    this.stats.jitterMs = this.interarrival.jitterMs;

    const binId = Math.floor(arrivalMs / MIN_BIN_MS);
    const bin = ((binId % MIN_BINS) + MIN_BINS) % MIN_BINS;
    if (this.minBinId[bin] !== binId) {
      this.minBinId[bin] = binId;
      this.minBinValue[bin] = transit;
    } else if (transit < (this.minBinValue[bin] ?? transit)) {
      this.minBinValue[bin] = transit;
    }
    if (binId === this.baseBinId && this.hasBase) {
      // Same bin as the last packet: the set of bins in the window is unchanged and only this
      // bin's minimum can have gone down, so the minimum over all of them is a single compare.
      if (transit < this.baseTransitMs) this.baseTransitMs = transit;
    } else {
      let base = transit;
      for (let i = 0; i < MIN_BINS; i++) {
        const id = this.minBinId[i] ?? NaN;
        if (id > binId - MIN_BINS && id <= binId) {
          const v = this.minBinValue[i] ?? transit;
          if (v < base) base = v;
        }
      }
      this.baseTransitMs = base;
      this.baseBinId = binId;
    }
    this.hasBase = true;

    if (samples !== this.lastPacketSamples) {
      // A frame is complete when the packet holding its last sample is in. With 20 ms packets
      // that packet starts where the frame starts; with 10 or 30 ms packets it can start up to
      // frame − gcd(frame, packet) samples later (e.g. 10 ms for 30 ms packets), and that much
      // more delay is needed for every frame to be whole.
      this.lastPacketSamples = samples;
      let a = this.frameSamples;
      let b = samples;
      while (b !== 0) {
        const r = a % b;
        a = b;
        b = r;
      }
      this.packetizationMs = ((this.frameSamples - a) * 1000) / this.clockRate;
    }
    this.histogram.add(transit - this.baseTransitMs, (samples * 1000) / this.clockRate);
    const wanted = this.histogram.samples < STARTUP_PACKETS ? STARTUP_DELAY_MS : this.histogram.quantile(DELAY_QUANTILE) + this.frameMs;
    this.stats.targetDelayMs = this.clampDelay(wanted + this.packetizationMs);
  }

  private clampDelay(ms: number): number {
    return ms < this.minDelayMs ? this.minDelayMs : ms > this.maxDelayMs ? this.maxDelayMs : ms;
  }

  private store(ts: number, samples: number, marker: boolean, data: Uint8Array, offset: number): void {
    const from = ts < this.windowStart ? this.windowStart : ts;
    const end = ts + samples;
    const n = end - from;
    if (n <= 0) return;
    if (this.segCount >= this.maxEntries || this.pktCount >= this.maxEntries) {
      // Hundreds of tiny packets buffered: not a real stream (see SAMPLES_PER_ENTRY).
      this.stats.discardedPackets++;
      return;
    }
    this.bufferedSamples += this.addInterval(from, end);
    // Packet starts inside [from, end) are overwritten by this packet; its own start is kept
    // only if the packet was stored whole.
    this.removeStarts(from, end);
    if (from === ts) this.insertStart(ts, marker);
    // Timestamps are beyond 2^31 (doubles); the ring offset is a small integer.
    const at = from & this.mask;
    const bps = this.bytesPerSample;
    const first = Math.min(n, this.capacity - at);
    // Its own loop (not copyBytes): this load site then only ever sees the caller's datagram type.
    const audio = this.audio;
    const src = offset + (from - ts) * bps;
    const dst = at * bps;
    const firstBytes = first * bps;
    for (let i = 0; i < firstBytes; i++) audio[dst + i] = data[src + i]!;
    const restBytes = (n - first) * bps;
    for (let i = 0; i < restBytes; i++) audio[i] = data[src + firstBytes + i]!;
    if (end > this.highestEnd) this.highestEnd = end;
  }

  private readFrame(out: Uint8Array): void {
    const n = this.frameSamples;
    const bps = this.bytesPerSample;
    const at = this.windowStart & this.mask;
    const first = Math.min(n, this.capacity - at);
    copyBytes(this.audio, at * bps, out, 0, first * bps);
    if (first < n) copyBytes(this.audio, 0, out, first * bps, (n - first) * bps);
    this.releaseRange(this.windowStart, this.windowStart + n);
    this.windowStart += n;
  }

  private skipFrame(): void {
    this.discardRange(this.windowStart, this.windowStart + this.frameSamples);
    this.windowStart += this.frameSamples;
  }

  /** Clears [from, to) after it was played. */
  private releaseRange(from: number, to: number): void {
    this.bufferedSamples -= this.removeInterval(from, to);
    this.removeStarts(from, to);
  }

  /** Clears [from, to) without playing it; packets that started there count as discarded. */
  private discardRange(from: number, to: number): void {
    this.bufferedSamples -= this.removeInterval(from, to);
    this.stats.discardedPackets += this.removeStarts(from, to);
  }

  /** Number of present samples in [from, from + n). */
  private countFilled(from: number, n: number): number {
    const to = from + n;
    const starts = this.segStart;
    const ends = this.segEnd;
    let count = 0;
    for (let i = 0; i < this.segCount; i++) {
      const s = starts[i]!;
      if (s >= to) break;
      const e = ends[i]!;
      if (e <= from) continue;
      count += (e < to ? e : to) - (s > from ? s : from);
    }
    return count;
  }

  /** First present timestamp in [from, to), or -1. */
  private findFilled(from: number, to: number): number {
    const starts = this.segStart;
    const ends = this.segEnd;
    for (let i = 0; i < this.segCount; i++) {
      if (ends[i]! <= from) continue;
      const s = starts[i]!;
      const first = s > from ? s : from;
      return first < to ? first : -1;
    }
    return -1;
  }

  /** Marks [from, to) present; returns how many of its samples were not present before. */
  private addInterval(from: number, to: number): number {
    const starts = this.segStart;
    const ends = this.segEnd;
    const count = this.segCount;
    // Usual case: in order, at or after the end of the last interval.
    if (count === 0 || ends[count - 1]! < from) {
      starts[count] = from;
      ends[count] = to;
      this.segCount = count + 1;
      return to - from;
    }
    if (ends[count - 1] === from) {
      ends[count - 1] = to;
      return to - from;
    }
    // lo: first interval that touches or follows [from, to); hi: last one that touches or precedes it.
    let lo = count - 1;
    while (lo > 0 && ends[lo - 1]! >= from) lo--;
    let hi = lo - 1;
    let covered = 0;
    while (hi + 1 < count && starts[hi + 1]! <= to) {
      hi++;
      const s = starts[hi]!;
      const e = ends[hi]!;
      const a = s > from ? s : from;
      const b = e < to ? e : to;
      if (b > a) covered += b - a;
    }
    if (hi < lo) {
      // Touches nothing: insert before lo.
      starts.copyWithin(lo + 1, lo, count);
      ends.copyWithin(lo + 1, lo, count);
      starts[lo] = from;
      ends[lo] = to;
      this.segCount = count + 1;
      return to - from;
    }
    const s = starts[lo]! < from ? starts[lo]! : from;
    const e = ends[hi]! > to ? ends[hi]! : to;
    starts[lo] = s;
    ends[lo] = e;
    if (hi > lo) {
      starts.copyWithin(lo + 1, hi + 1, count);
      ends.copyWithin(lo + 1, hi + 1, count);
      this.segCount = count - (hi - lo);
    }
    return to - from - covered;
  }

  /** Marks [from, to) absent; returns how many of its samples were present. */
  private removeInterval(from: number, to: number): number {
    const starts = this.segStart;
    const ends = this.segEnd;
    let count = this.segCount;
    let removed = 0;
    let i = 0;
    while (i < count && ends[i]! <= from) i++;
    while (i < count) {
      const s = starts[i]!;
      if (s >= to) break;
      const e = ends[i]!;
      if (s < from && e > to) {
        // [from, to) is strictly inside: split.
        starts.copyWithin(i + 2, i + 1, count);
        ends.copyWithin(i + 2, i + 1, count);
        ends[i] = from;
        starts[i + 1] = to;
        ends[i + 1] = e;
        this.segCount = count + 1;
        return removed + (to - from);
      }
      if (s < from) {
        removed += e - from;
        ends[i] = from;
        i++;
      } else if (e > to) {
        removed += to - s;
        starts[i] = to;
        break;
      } else {
        removed += e - s;
        starts.copyWithin(i, i + 1, count);
        ends.copyWithin(i, i + 1, count);
        count--;
      }
    }
    this.segCount = count;
    return removed;
  }

  /** Records a packet start at `ts` (no start at `ts` is recorded: removeStarts ran first). */
  private insertStart(ts: number, marker: boolean): void {
    const starts = this.pktStart;
    const markers = this.pktMarker;
    let i = this.pktCount;
    if (i > 0 && starts[i - 1]! > ts) {
      while (i > 0 && starts[i - 1]! > ts) i--;
      starts.copyWithin(i + 1, i, this.pktCount);
      markers.copyWithin(i + 1, i, this.pktCount);
    }
    starts[i] = ts;
    markers[i] = marker ? 1 : 0;
    this.pktCount++;
  }

  /** Forgets the packet starts in [from, to); returns how many there were. */
  private removeStarts(from: number, to: number): number {
    const starts = this.pktStart;
    const count = this.pktCount;
    let i = 0;
    while (i < count && starts[i]! < from) i++;
    let j = i;
    while (j < count && starts[j]! < to) j++;
    if (j > i) {
      starts.copyWithin(i, j, count);
      this.pktMarker.copyWithin(i, j, count);
      this.pktCount = count - (j - i);
    }
    return j - i;
  }

  /** Whether a stored packet with the marker bit starts at `ts`. */
  private markerAt(ts: number): boolean {
    const starts = this.pktStart;
    for (let i = 0; i < this.pktCount; i++) {
      const s = starts[i]!;
      if (s === ts) return this.pktMarker[i] === 1;
      if (s > ts) return false;
    }
    return false;
  }

  /** The timestamps jumped under the same SSRC: start over from `ts`. */
  private resync(ts: number): void {
    this.clearBuffer();
    this.playedUpTo = -Infinity;
    this.windowStart = ts;
    this.highestEnd = ts;
    this.windowValid = true;
    this.hasBase = false;
    this.minBinId.fill(NaN);
    this.baseBinId = NaN;
    this.interarrival.reset();
    this.consecutiveLate = 0;
    this.consecutiveFarAhead = 0;
    this.consecutiveJumps = 0;
    this.stats.resets++;
  }

  /** New SSRC or reset(): forget the stream. */
  private restartStream(): void {
    this.clearBuffer();
    this.playedUpTo = -Infinity;
    this.windowValid = false;
    this.hasBase = false;
    this.minBinId.fill(NaN);
    this.baseBinId = NaN;
    this.seenSeq.fill(-1);
    this.seqUnwrapper.reset();
    this.tsUnwrapper.reset();
    this.interarrival.reset();
    this.consecutiveLate = 0;
    this.consecutiveFarAhead = 0;
    this.consecutiveJumps = 0;
    this.stats.resets++;
  }

  private clearBuffer(): void {
    if (this.bufferedSamples > 0) this.discardRange(this.windowStart, this.highestEnd);
    this.segCount = 0;
    this.pktCount = 0;
    this.bufferedSamples = 0;
    if (this.state === 'playing') this.transition('buffering');
    this.stats.currentDelayMs = 0;
  }
}
