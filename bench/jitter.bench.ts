/**
 * Jitter buffer and packet loss concealment benchmarks.
 *
 * - push + pop per packet (one 20 ms G.711 packet in, one 20 ms frame out) on a clean stream and
 *   on a jittered, reordered stream with 1 % loss, against a naive packet-count buffer (a Map of
 *   copied payloads, the shape many first jitter buffers take) measured in the same run;
 * - retained heap per packet over 1M packets, with GC before and after: ≈ 0 is the proof that
 *   push/pop allocate nothing;
 * - G711Concealer good()/conceal() per 20 ms frame.
 *
 * Run: npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/run.js jitter
 */
import { G711Concealer } from '../src/codec/plc.js';
import { JitterBuffer } from '../src/rtp/jitter-buffer.js';
import { compare, measure, retainedHeapPerOp, row } from './harness.js';
import type { BenchSection } from './harness.js';

const ITERATIONS = 1_000_000;
const PATTERN = 4096;

/** Arrival offsets (ms) and a drop mask, precomputed so the measured loop allocates nothing. */
function jitterPattern(): { offsets: Float64Array; dropped: Uint8Array } {
  const offsets = new Float64Array(PATTERN);
  const dropped = new Uint8Array(PATTERN);
  let seed = 0x9e3779b9;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  for (let i = 0; i < PATTERN; i++) {
    offsets[i] = next() * 30; // up to 30 ms jitter: reorders neighbours
    dropped[i] = next() < 0.01 ? 1 : 0;
  }
  return { offsets, dropped };
}

/** The naive alternative: packets counted, not timed; a copied payload per packet in a Map. */
class NaivePacketBuffer {
  private readonly packets = new Map<number, Uint8Array>();
  private next = -1;

  push(seq: number, payload: Uint8Array): void {
    if (this.next < 0) this.next = seq;
    this.packets.set(seq, payload.slice());
  }

  pop(out: Uint8Array): boolean {
    if (this.next < 0 || this.packets.size < 3) return false;
    const p = this.packets.get(this.next);
    this.packets.delete(this.next);
    this.next = (this.next + 1) & 0xffff;
    if (p === undefined) return false;
    out.set(p);
    return true;
  }
}

export function run(): Promise<BenchSection> {
  const payload = new Uint8Array(160).fill(0x55);
  const out = new Uint8Array(160);

  // Clean stream: packet i arrives at 20·i + 30 ms, pop at 20·i + 35 ms.
  const clean = new JitterBuffer();
  let cleanSeq = 0;
  const cleanOp = (): void => {
    const i = cleanSeq++;
    clean.push(i & 0xffff, (i * 160) >>> 0, 0x1234, i === 0, payload, i * 20 + 30);
    clean.pop(i * 20 + 35, out);
  };

  // Jittered stream with loss: arrival = send + up to 30 ms (neighbours' arrival times cross, as
  // with reordering), 1 % of packets never arrive; pops every 20 ms.
  const { offsets, dropped } = jitterPattern();
  const jittered = new JitterBuffer();
  let jSeq = 0;
  const jitteredOp = (): void => {
    const i = jSeq++;
    const k = i & (PATTERN - 1);
    if (dropped[k] === 0) jittered.push(i & 0xffff, (i * 160) >>> 0, 0x1234, i === 0, payload, i * 20 + 30 + (offsets[k] ?? 0));
    jittered.pop(i * 20 + 35, out);
  };

  const naive = new NaivePacketBuffer();
  let nSeq = 0;
  const naiveOp = (): void => {
    const i = nSeq++;
    naive.push(i & 0xffff, payload);
    naive.pop(out);
  };

  const cleanRow = row('JitterBuffer push+pop, clean (per packet)', measure(cleanOp, ITERATIONS));
  const jitteredRow = row('JitterBuffer push+pop, 30 ms jitter + 1 % loss (per packet)', measure(jitteredOp, ITERATIONS));
  const naiveRow = row('naive Map<seq, copy> buffer push+pop (baseline)', measure(naiveOp, ITERATIONS));
  const retainedClean = retainedHeapPerOp(cleanOp, ITERATIONS);
  const retainedJittered = retainedHeapPerOp(jitteredOp, ITERATIONS);

  // PLC: a good frame, and a 3-frame loss every 10 frames (pitch search, growth, fade, OLA).
  const plc = new G711Concealer();
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 125 * i) / 8000));
  const frame = new Int16Array(160);
  let f = 0;
  const plcOp = (): void => {
    const n = f++ % 10;
    if (n < 7) {
      frame.set(pcm);
      plc.good(frame);
    } else {
      plc.conceal(frame);
    }
  };
  const goodOnly = new G711Concealer();
  const goodOp = (): void => {
    frame.set(pcm);
    goodOnly.good(frame);
  };
  const concealOnly = new G711Concealer();
  for (let i = 0; i < 20; i++) {
    frame.set(pcm);
    concealOnly.good(frame);
  }
  let c = 0;
  const concealOp = (): void => {
    // Start a new erasure every frame so every call pays for the pitch search.
    if (c++ % 2 === 0) {
      frame.set(pcm);
      concealOnly.good(frame);
    } else {
      concealOnly.conceal(frame);
    }
  };

  return Promise.resolve({
    section: 'jitter buffer + PLC',
    rows: [
      { ...cleanRow, extra: { retainedHeapBytesPerPacket: Math.round(retainedClean * 1000) / 1000, played: clean.stats.framesPlayed } },
      compare({ ...jitteredRow, extra: { retainedHeapBytesPerPacket: Math.round(retainedJittered * 1000) / 1000, concealed: jittered.stats.concealedFrames, late: jittered.stats.latePackets } }, naiveRow),
      naiveRow,
      row('G711Concealer good() per 20 ms frame', measure(goodOp, 200_000)),
      row('G711Concealer good/start-of-erasure conceal alternating (per frame)', measure(concealOp, 200_000)),
      { ...row('G711Concealer 7 good + 3 lost of 10 (per frame)', measure(plcOp, 200_000)), extra: { retainedHeapBytesPerFrame: Math.round(retainedHeapPerOp(plcOp, 200_000) * 1000) / 1000 } },
    ],
    notes: [
      `${ITERATIONS.toLocaleString('en-US')} packets per row; retained heap measured with GC before and after ${ITERATIONS.toLocaleString('en-US')} more (≈ 0 = no allocation per packet).`,
      'The naive baseline does far less (no timing, no adaptation, no wrap handling) and allocates a payload copy per packet.',
    ],
  });
}
