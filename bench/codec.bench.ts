/**
 * Codec benchmarks: G.711 encode/decode of one 20 ms frame (160 samples), ours against the
 * alawmulaw package measured in the same run — its allocating array API (`mulaw.encode(Int16Array)`
 * returns a new Uint8Array) and its per-sample functions looped into a preallocated buffer — plus
 * the encoder table layouts considered, and resampler throughput per 20 ms frame.
 *
 * Run: npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/run.js codec
 */
import alawmulaw from 'alawmulaw';
import { Resampler, alawDecode, alawEncode, linearToAlaw, linearToUlaw, ulawDecode, ulawEncode } from '../src/codec/index.js';
import { compare, measure, retainedHeapPerOp, row } from './harness.js';
import type { BenchRow, BenchSection } from './harness.js';

const { alaw, mulaw } = alawmulaw;

const FRAME = 160;
const FRAMES = 64;
const CODEC_ITERATIONS = 1_000_000;
const BASELINE_ITERATIONS = 200_000;
const ALLOCATION_PROOF_ITERATIONS = 1_000_000;

/** Deterministic speech-like test signal: a few tones plus noise, 64 distinct frames. */
function makePcmFrames(rate: number, samplesPerFrame: number): Int16Array[] {
  const frames: Int16Array[] = [];
  let seed = 0x2468ace;
  for (let f = 0; f < FRAMES; f++) {
    const frame = new Int16Array(samplesPerFrame);
    for (let i = 0; i < samplesPerFrame; i++) {
      const t = (f * samplesPerFrame + i) / rate;
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      const n = ((seed >>> 0) / 0xffffffff - 0.5) * 2000;
      frame[i] = Math.round(9000 * Math.sin(2 * Math.PI * 220 * t) + 6000 * Math.sin(2 * Math.PI * 1330 * t) + 3000 * Math.sin(2 * Math.PI * 3100 * t) + n);
    }
    frames.push(frame);
  }
  return frames;
}

/** Uniform noise over the whole int16 range: every encoder table entry gets used. */
function makeNoiseFrames(): Int16Array[] {
  const frames: Int16Array[] = [];
  let seed = 0x13579bd;
  for (let f = 0; f < FRAMES; f++) {
    const frame = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      frame[i] = seed & 0xffff;
    }
    frames.push(frame);
  }
  return frames;
}

// --- encoder layouts considered (the library ships the 16 K μ-law / 4 K A-law tables) --------

/** Full 65,536-entry table indexed by the raw 16-bit pattern: no shift, but 64 KiB of cache. */
function fullTable(encodeOne: (x: number) => number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let x = -32768; x < 32768; x++) t[x & 0xffff] = encodeOne(x);
  return t;
}

/** G.191 ulaw_compress() per sample, no table: segment search by shifting. */
function ulawCompressComputed(src: Int16Array, dst: Uint8Array): void {
  for (let n = 0; n < src.length; n++) {
    const s = src[n]!;
    let absno = (s < 0 ? ~s >> 2 : s >> 2) + 33;
    if (absno > 0x1fff) absno = 0x1fff;
    let i = absno >> 6;
    let segno = 1;
    while (i !== 0) {
      segno++;
      i >>= 1;
    }
    const code = ((8 - segno) << 4) | (15 - ((absno >> segno) & 15));
    dst[n] = s >= 0 ? code | 0x80 : code;
  }
}

function retained(fn: (i: number) => void): number {
  return Math.round(retainedHeapPerOp(fn, ALLOCATION_PROOF_ITERATIONS) * 1000) / 1000;
}

/** `ours` already compared with the per-sample loop; adds its ratio to the allocating API too. */
function withRatio(ours: BenchRow, allocating: BenchRow): BenchRow {
  const ratio = Math.round(((ours.opsPerSec ?? 0) / (allocating.opsPerSec ?? 1)) * 100) / 100;
  return { ...ours, extra: { ...ours.extra, ratioVsAllocating: ratio } };
}

function bench(name: string, fn: (i: number) => void, iterations: number, extra?: Partial<BenchRow>): BenchRow {
  return row(name, measure(fn, iterations), extra);
}

function g711Rows(): BenchRow[] {
  const pcm = makePcmFrames(8000, FRAME);
  const ulawFrames = pcm.map((f) => mulaw.encode(f));
  const alawFrames = pcm.map((f) => alaw.encode(f));
  const outPcm = new Int16Array(FRAME);
  const outBytes = new Uint8Array(FRAME);
  let sink = 0;

  const rows: BenchRow[] = [];
  const law = [
    {
      label: 'μ-law',
      frames: ulawFrames,
      decode: (src: Uint8Array, dst: Int16Array) => ulawDecode(src, dst),
      encode: (src: Int16Array, dst: Uint8Array) => ulawEncode(src, dst),
      lib: mulaw,
    },
    {
      label: 'A-law',
      frames: alawFrames,
      decode: (src: Uint8Array, dst: Int16Array) => alawDecode(src, dst),
      encode: (src: Int16Array, dst: Uint8Array) => alawEncode(src, dst),
      lib: alaw,
    },
  ] as const;

  for (const { label, frames, decode, encode, lib } of law) {
    // decode
    const decAlloc = bench(`${label} decode 160: alawmulaw decode() (allocates)`, (i) => {
      sink += lib.decode(frames[i & (FRAMES - 1)]!)[0]!;
    }, BASELINE_ITERATIONS);
    const decLoop = bench(`${label} decode 160: alawmulaw decodeSample() loop`, (i) => {
      const src = frames[i & (FRAMES - 1)]!;
      for (let k = 0; k < FRAME; k++) outPcm[k] = lib.decodeSample(src[k]!);
    }, BASELINE_ITERATIONS);
    const decodeOurs = (i: number): void => {
      decode(frames[i & (FRAMES - 1)]!, outPcm);
    };
    const decOurs = bench(`${label} decode 160: ours (256-entry table)`, decodeOurs, CODEC_ITERATIONS, {
      extra: { retainedHeapBytesPerOp: retained(decodeOurs) },
    });
    rows.push(decAlloc, decLoop, withRatio(compare(decOurs, decLoop), decAlloc));

    // encode
    const encAlloc = bench(`${label} encode 160: alawmulaw encode() (allocates)`, (i) => {
      sink += lib.encode(pcm[i & (FRAMES - 1)]!)[0]!;
    }, BASELINE_ITERATIONS);
    const encLoop = bench(`${label} encode 160: alawmulaw encodeSample() loop`, (i) => {
      const src = pcm[i & (FRAMES - 1)]!;
      for (let k = 0; k < FRAME; k++) outBytes[k] = lib.encodeSample(src[k]!);
    }, BASELINE_ITERATIONS);
    const encodeOurs = (i: number): void => {
      encode(pcm[i & (FRAMES - 1)]!, outBytes);
    };
    const encOurs = bench(`${label} encode 160: ours (${label === 'μ-law' ? '16,384' : '4,096'}-entry table)`, encodeOurs, CODEC_ITERATIONS, {
      extra: { retainedHeapBytesPerOp: retained(encodeOurs) },
    });
    rows.push(encAlloc, encLoop, withRatio(compare(encOurs, encLoop), encAlloc));
  }

  // Encoder layout choices, same loop shape for each: shifted tables (shipped) vs 64 K raw tables
  // vs per-sample computation; on the speech-like frames and on full-range noise that touches
  // the whole table (closer to a server with many calls evicting each other's cache lines).
  const ulaw14 = new Uint8Array(1 << 14);
  for (let y = 0; y < 1 << 14; y++) ulaw14[y] = linearToUlaw((y << 18) >> 16);
  const alaw12 = new Uint8Array(1 << 12);
  for (let y = 0; y < 1 << 12; y++) alaw12[y] = linearToAlaw((y << 20) >> 16);
  const ulawFull = fullTable(linearToUlaw);
  const alawFull = fullTable(linearToAlaw);
  const variants = [
    ['μ-law 16,384-entry table (x >> 2) [shipped]', (src: Int16Array, dst: Uint8Array) => { for (let k = 0; k < src.length; k++) dst[k] = ulaw14[(src[k]! >> 2) & 0x3fff]!; }],
    ['μ-law 65,536-entry table (x & 0xffff)', (src: Int16Array, dst: Uint8Array) => { for (let k = 0; k < src.length; k++) dst[k] = ulawFull[src[k]! & 0xffff]!; }],
    ['μ-law computed G.191 segment search', ulawCompressComputed],
    ['A-law 4,096-entry table (x >> 4) [shipped]', (src: Int16Array, dst: Uint8Array) => { for (let k = 0; k < src.length; k++) dst[k] = alaw12[(src[k]! >> 4) & 0xfff]!; }],
    ['A-law 65,536-entry table (x & 0xffff)', (src: Int16Array, dst: Uint8Array) => { for (let k = 0; k < src.length; k++) dst[k] = alawFull[src[k]! & 0xffff]!; }],
  ] as const;
  const noiseFrames = makeNoiseFrames();
  for (const [signal, input] of [['speech-like', pcm], ['full-range noise', noiseFrames]] as const) {
    for (const [label, encodeFn] of variants) {
      rows.push(
        bench(`variant encode 160, ${signal}: ${label}`, (i) => {
          encodeFn(input[i & (FRAMES - 1)]!, outBytes);
        }, label.includes('computed') ? BASELINE_ITERATIONS : CODEC_ITERATIONS),
      );
    }
  }
  if (sink === 0.5) rows.push({ name: 'unreachable' }); // keeps `sink` observable
  return rows;
}

function resamplerRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  const cases = [
    [48000, 8000, 'voip'],
    [8000, 16000, 'voip'],
    [16000, 8000, 'voip'],
    [24000, 8000, 'voip'],
    [22050, 8000, 'voip'],
    [48000, 8000, 'high'],
  ] as const;
  for (const [fin, fout, quality] of cases) {
    const r = new Resampler(fin, fout, { quality });
    const frames = makePcmFrames(fin, fin / 50);
    const out = new Int16Array(r.outputLengthFor(fin / 50));
    const fn = (i: number): void => {
      r.process(frames[i & (FRAMES - 1)]!, out);
    };
    const iterations = Math.max(2000, Math.round(20_000_000 / (r.tapsPerPhase * (fout / 50))));
    const m = measure(fn, iterations, 2000);
    rows.push(
      row(`resample ${fin} → ${fout} ${quality}, per 20 ms frame`, m, {
        extra: {
          tapsPerPhase: r.tapsPerPhase,
          latencyMs: Math.round((r.latencySamples / fout) * 1e5) / 100,
          realtimeStreamsPerCore: Math.round(m.opsPerSec / 50),
          retainedHeapBytesPerOp: Math.round(retainedHeapPerOp(fn, 20_000) * 1000) / 1000,
        },
      }),
    );
  }
  return rows;
}

export function run(): Promise<BenchSection> {
  const rows = [...g711Rows(), ...resamplerRows()];
  return Promise.resolve({
    section: 'codec',
    rows,
    notes: [
      'G.711 op = one 160-sample (20 ms) frame; ratio = ours / alawmulaw per-sample loop into a preallocated buffer; extra.ratioVsAllocating = ours / alawmulaw encode()/decode() that allocate per call.',
      'retainedHeapBytesPerOp: heap growth per op over 1M frames with GC before and after (≈0 = allocation-free).',
      'Encoder tables shipped: μ-law 16,384 entries (x >> 2, 14-bit), A-law 4,096 entries (x >> 4, the 12 bits G.191 uses); variants rows show the alternatives measured.',
      'Resampler op = one 20 ms input frame; realtimeStreamsPerCore = frames/s ÷ 50.',
    ],
  });
}
