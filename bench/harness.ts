/**
 * Tiny benchmark harness shared by every bench/*.bench.ts. Each bench module exports
 * `run(): Promise<BenchSection>`; bench/run.ts runs them all, prints a table and writes
 * bench/results/latest.json. Baselines are measured in the same run, never remembered.
 *
 * Run under `node --expose-gc` (npm run bench does) so heap growth per op is meaningful.
 */
export interface BenchRow {
  name: string;
  /** Operations per second (an op is what the row's name says: a message, a packet, a frame). */
  opsPerSec?: number;
  nsPerOp?: number;
  /** Heap bytes retained + allocated per op, measured without GC between start and end. */
  heapBytesPerOp?: number;
  /** Name of the baseline row this row is compared with, and ours / baseline throughput. */
  baseline?: string;
  ratio?: number;
  extra?: Record<string, number | string | boolean>;
}

export interface BenchSection {
  section: string;
  rows: BenchRow[];
  notes?: string[];
}

export interface Measurement {
  opsPerSec: number;
  nsPerOp: number;
  heapBytesPerOp: number;
}

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/** Runs `fn` `iterations` times after a warm-up, timing with hrtime and sampling heap use. */
export function measure(fn: (i: number) => void, iterations: number, warmup = Math.min(iterations, 10_000)): Measurement {
  for (let i = 0; i < warmup; i++) fn(i);
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const heapAfter = process.memoryUsage().heapUsed;
  return {
    opsPerSec: (iterations * 1e9) / elapsedNs,
    nsPerOp: elapsedNs / iterations,
    heapBytesPerOp: Math.max(0, heapAfter - heapBefore) / iterations,
  };
}

/** Heap growth across many iterations with GC before and after: ≈0 for an allocation-free path. */
export function retainedHeapPerOp(fn: (i: number) => void, iterations: number): number {
  for (let i = 0; i < 1000; i++) fn(i);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < iterations; i++) fn(i);
  gc?.();
  return (process.memoryUsage().heapUsed - before) / iterations;
}

export function row(name: string, m: Measurement, extra?: Partial<BenchRow>): BenchRow {
  return { name, opsPerSec: Math.round(m.opsPerSec), nsPerOp: Math.round(m.nsPerOp), heapBytesPerOp: Math.round(m.heapBytesPerOp * 10) / 10, ...extra };
}

export function compare(ours: BenchRow, baseline: BenchRow): BenchRow {
  return { ...ours, baseline: baseline.name, ratio: Math.round(((ours.opsPerSec ?? 0) / (baseline.opsPerSec ?? 1)) * 100) / 100 };
}
