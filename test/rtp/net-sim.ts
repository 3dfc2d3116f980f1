/**
 * Deterministic network simulator for the jitter buffer.
 *
 * A sender produces one packet every `ptimeMs` of *its* clock (optionally skewed ±1% against the
 * receiver's), the network applies delay, jitter, loss (random or Gilbert–Elliott bursts),
 * reordering and duplication from a seeded PRNG, and the receiver pops the buffer every 20 ms of
 * simulated time. The same seed always gives the same run.
 *
 * Every audio sample carries its own index (16-bit, big-endian; the buffer runs with
 * bytesPerSample = 2), so each played frame can be checked to be 160 consecutive samples of the
 * stream, in order, and be traced back to the packets it came from for the delay scores.
 */
import { JitterBuffer, type JitterBufferOptions, type JitterBufferStats } from '../../src/rtp/jitter-buffer.js';

export type JitterModel =
  | { kind: 'none' }
  /** Extra delay uniform in [0, maxMs]. */
  | { kind: 'uniform'; maxMs: number }
  /** Extra delay |N(meanMs, sdMs)| (Box–Muller), the usual bell-shaped queueing jitter. */
  | { kind: 'gaussian'; meanMs: number; sdMs: number }
  /** Uniform [0, baseMaxMs] most of the time; with `probability`, a spike of `spikeMs`. */
  | { kind: 'spiky'; baseMaxMs: number; probability: number; spikeMs: number };

export type LossModel =
  | { kind: 'none' }
  | { kind: 'random'; probability: number }
  /** Two-state Markov chain (Gilbert–Elliott): per-packet transition and loss probabilities. */
  | { kind: 'gilbert'; goodToBad: number; badToGood: number; lossInBad: number; lossInGood: number };

export interface NetSimOptions {
  seed: number;
  durationMs: number;
  ptimeMs?: number;
  /** Sender clock rate error: +0.01 means the sender's 20 ms last 19.8 ms of receiver time. */
  skew?: number;
  baseDelayMs?: number;
  jitter?: JitterModel;
  /** The network keeps order unless a packet is explicitly reordered (a FIFO queue): a delayed
   * packet delays the ones behind it, so a spike arrives as a burst. Default true. */
  fifo?: boolean;
  loss?: LossModel;
  /** Probability that a packet takes 1–3 packet times longer, overtaken by its successors. */
  reorderProbability?: number;
  duplicateProbability?: number;
  /** Talkspurts (DTX): send for onMs, then nothing for offMs; marker on each talkspurt's first packet. */
  talkspurt?: { onMs: number; offMs: number };
  initialSequence?: number;
  initialTimestamp?: number;
  ssrc?: number;
  /** Phase of the receiver's 20 ms tick relative to the sender's first packet. */
  popPhaseMs?: number;
  buffer?: Omit<JitterBufferOptions, 'bytesPerSample' | 'clockRate' | 'frameMs'>;
}

export interface Distribution {
  mean: number;
  p95: number;
  max: number;
}

export interface NetSimResult {
  pops: number;
  packetsSent: number;
  packetsLostInNetwork: number;
  played: number;
  lost: number;
  /** 'empty' after the first frame played. */
  emptyAfterStart: number;
  /** lost / (played + lost), percent. */
  concealedPct: number;
  /** Time each played frame waited in the buffer: pop time − arrival of its last packet. */
  addedDelayMs: Distribution;
  /** Pop time − (send time + base network delay): jitter plus buffering, beyond the fixed path. */
  beyondBaseDelayMs: Distribution;
  /** Frames whose samples were not 160 consecutive samples of the stream. */
  continuityErrors: number;
  /** Frames played at or before a frame already played. */
  orderErrors: number;
  /** Frames of the stream never played (lost, late, or dropped by a correction). */
  skippedFrames: number;
  /** stats.currentDelayMs at each played frame, one value per simulated second (mean). */
  delayPerSecond: number[];
  stats: JitterBufferStats;
}

/** mulberry32: small, fast, good enough for simulation, and reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Arrival {
  at: number;
  index: number;
}

const CLOCK_RATE = 8000;
const FRAME_MS = 20;
const FRAME_SAMPLES = 160;
const BYTES_PER_SAMPLE = 2;

function distribution(values: number[]): Distribution {
  if (values.length === 0) return { mean: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    mean: round(sum / values.length),
    p95: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

export function runNetSim(options: NetSimOptions): NetSimResult {
  const random = prng(options.seed);
  const ptimeMs = options.ptimeMs ?? 20;
  const skew = options.skew ?? 0;
  const baseDelayMs = options.baseDelayMs ?? 40;
  const jitter = options.jitter ?? { kind: 'none' };
  const loss = options.loss ?? { kind: 'none' };
  const fifo = options.fifo ?? true;
  const packetSamples = (ptimeMs * CLOCK_RATE) / 1000;
  const packetCount = Math.floor(options.durationMs / ptimeMs);
  const seq0 = options.initialSequence ?? 1000;
  const ts0 = options.initialTimestamp ?? 123_456;
  const ssrc = options.ssrc ?? 0x1234_5678;

  const gaussian = (): number => {
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const jitterSample = (): number => {
    switch (jitter.kind) {
      case 'none':
        return 0;
      case 'uniform':
        return random() * jitter.maxMs;
      case 'gaussian':
        return Math.abs(jitter.meanMs + jitter.sdMs * gaussian());
      case 'spiky':
        return random() < jitter.probability ? jitter.spikeMs : random() * jitter.baseMaxMs;
    }
  };
  let gilbertBad = false;
  const isLost = (): boolean => {
    switch (loss.kind) {
      case 'none':
        return false;
      case 'random':
        return random() < loss.probability;
      case 'gilbert':
        gilbertBad = gilbertBad ? random() >= loss.badToGood : random() < loss.goodToBad;
        return random() < (gilbertBad ? loss.lossInBad : loss.lossInGood);
    }
  };

  // --- the network ------------------------------------------------------------------------------
  const sendTime = new Float64Array(packetCount);
  const firstArrival = new Float64Array(packetCount).fill(Infinity);
  const marker = new Uint8Array(packetCount);
  const sent = new Uint8Array(packetCount);
  const arrivals: Arrival[] = [];
  let lastFifoArrival = -Infinity;
  let packetsSent = 0;
  let lostInNetwork = 0;
  let wasSilent = true;
  for (let k = 0; k < packetCount; k++) {
    const t = (k * ptimeMs) / (1 + skew);
    sendTime[k] = t;
    if (options.talkspurt !== undefined) {
      const phase = (k * ptimeMs) % (options.talkspurt.onMs + options.talkspurt.offMs);
      if (phase >= options.talkspurt.onMs) {
        wasSilent = true;
        continue;
      }
    }
    marker[k] = wasSilent ? 1 : 0;
    wasSilent = false;
    sent[k] = 1;
    packetsSent++;
    if (isLost()) {
      lostInNetwork++;
      continue;
    }
    let at = t + baseDelayMs + jitterSample();
    const reordered = random() < (options.reorderProbability ?? 0);
    if (reordered) {
      at += ptimeMs * (1 + random() * 2);
    } else if (fifo) {
      at = Math.max(at, lastFifoArrival);
      lastFifoArrival = at;
    }
    arrivals.push({ at, index: k });
    firstArrival[k] = Math.min(firstArrival[k] ?? Infinity, at);
    if (random() < (options.duplicateProbability ?? 0)) arrivals.push({ at: at + random() * 40, index: k });
  }
  arrivals.sort((a, b) => a.at - b.at || a.index - b.index);

  // --- the receiver -----------------------------------------------------------------------------
  const jb = new JitterBuffer({ ...options.buffer, clockRate: CLOCK_RATE, frameMs: FRAME_MS, bytesPerSample: BYTES_PER_SAMPLE });
  const payload = new Uint8Array(packetSamples * BYTES_PER_SAMPLE);
  const out = new Uint8Array(FRAME_SAMPLES * BYTES_PER_SAMPLE);
  const popPhase = options.popPhaseMs ?? 7;
  const endMs = options.durationMs + baseDelayMs + 1000;
  // Scores stop with the last arrival: after it the stream has ended, not degraded.
  const lastArrival = arrivals[arrivals.length - 1]?.at ?? 0;
  let next = 0;
  let played = 0;
  let lost = 0;
  let emptyAfterStart = 0;
  let continuityErrors = 0;
  let orderErrors = 0;
  let lastSample = -Infinity;
  let firstSample = -1;
  const added: number[] = [];
  const beyondBase: number[] = [];
  const delayPerSecond: number[] = [];
  let secondSum = 0;
  let secondCount = 0;
  let second = 0;
  let pops = 0;

  for (let now = popPhase; now <= endMs; now += FRAME_MS) {
    while (next < arrivals.length && (arrivals[next]?.at ?? Infinity) <= now) {
      const a = arrivals[next++];
      if (a === undefined) break;
      const s0 = a.index * packetSamples;
      for (let i = 0; i < packetSamples; i++) {
        const s = (s0 + i) & 0xffff;
        payload[2 * i] = s >> 8;
        payload[2 * i + 1] = s & 0xff;
      }
      jb.push((seq0 + a.index) & 0xffff, (ts0 + s0) >>> 0, ssrc, marker[a.index] === 1, payload, a.at);
    }
    pops++;
    const result = jb.pop(now, out);
    if (result === 'packet') {
      played++;
      // Recover the full sample index: the frame is within a few seconds of "now".
      const tag = ((out[0] ?? 0) << 8) | (out[1] ?? 0);
      const estimate = ((now - baseDelayMs) * CLOCK_RATE * (1 + skew)) / 1000;
      let s = tag + 65536 * Math.round((estimate - tag) / 65536);
      if (s < 0) s += 65536;
      for (let i = 1; i < FRAME_SAMPLES; i++) {
        const v = ((out[2 * i] ?? 0) << 8) | (out[2 * i + 1] ?? 0);
        if (v !== ((s + i) & 0xffff)) {
          continuityErrors++;
          break;
        }
      }
      if (s <= lastSample) orderErrors++;
      if (firstSample < 0) firstSample = s;
      lastSample = s;
      const k1 = Math.floor(s / packetSamples);
      const k2 = Math.floor((s + FRAME_SAMPLES - 1) / packetSamples);
      let complete = -Infinity;
      for (let k = k1; k <= k2; k++) complete = Math.max(complete, firstArrival[k] ?? Infinity);
      added.push(now - complete);
      beyondBase.push(now - ((sendTime[k2] ?? 0) + baseDelayMs));
      secondSum += jb.stats.currentDelayMs;
      secondCount++;
    } else if (now > lastArrival) {
      // after the end of the stream
    } else if (result === 'lost') {
      lost++;
    } else if (played > 0) {
      emptyAfterStart++;
    }
    if (Math.floor(now / 1000) !== second) {
      if (secondCount > 0) delayPerSecond.push(round(secondSum / secondCount));
      second = Math.floor(now / 1000);
      secondSum = 0;
      secondCount = 0;
    }
  }

  // Frames of sent audio between the first and last played frame that never played.
  let expectedFrames = 0;
  if (firstSample >= 0) {
    for (let s = firstSample; s <= lastSample; s += FRAME_SAMPLES) {
      const k = Math.floor(s / packetSamples);
      if (sent[k] === 1) expectedFrames++;
    }
  }

  return {
    pops,
    packetsSent,
    packetsLostInNetwork: lostInNetwork,
    played,
    lost,
    emptyAfterStart,
    concealedPct: played + lost === 0 ? 0 : round((100 * lost) / (played + lost)),
    addedDelayMs: distribution(added),
    beyondBaseDelayMs: distribution(beyondBase),
    continuityErrors,
    orderErrors,
    skippedFrames: Math.max(0, expectedFrames - played),
    delayPerSecond,
    stats: { ...jb.stats },
  };
}
