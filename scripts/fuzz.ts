/**
 * The nightly-style fuzz run (`npm run fuzz`): 1,000,000 fast-check cases for each target of
 * test/fuzz/targets.ts (SIP parser, SIP stream framer, SDP, RTP, RTCP, DTMF). Each target runs
 * in its own worker thread under a watchdog, so a hang is reported (and the worker killed)
 * instead of hanging the run. Per target it prints cases, failures, the slowest case, and heap
 * and RSS before and after (unbounded memory shows up as growth across a million cases).
 *
 *   npm run fuzz                               # 1,000,000 cases per target, 2 targets at a time
 *   npm run fuzz -- --cases 100000 --targets sdp,rtp --seed 42 --parallel 1
 *
 * Exit status 0 only when every target ran every case with no failure, no hang.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { ALL_TARGETS } from '../test/fuzz/targets.js';

interface Job {
  target: number;
  cases: number;
  seed: number;
}

type Report =
  | { kind: 'progress'; done: number }
  | { kind: 'done'; done: number; failure?: string; maxCaseMs: number; heapStart: number; heapEnd: number; rssStart: number; rssEnd: number; ms: number };

const CHUNK = 20_000;
const STALL_MS = 60_000;

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

function gc(): void {
  gcFn();
  gcFn();
}

function runWorker(job: Job): void {
  const target = ALL_TARGETS[job.target];
  if (target === undefined) throw new Error(`no target ${job.target}`);
  const started = performance.now();
  let maxCaseMs = 0;
  let done = 0;
  let failure: string | undefined;
  const property = fc.property(target.arbitrary, (input: unknown) => {
    const t0 = performance.now();
    target.check(input);
    const dt = performance.now() - t0;
    if (dt > maxCaseMs) maxCaseMs = dt;
  });
  // Warm up, then take the memory baseline.
  fc.check(property, { numRuns: 2000, seed: job.seed - 1 });
  gc();
  const heapStart = process.memoryUsage().heapUsed;
  const rssStart = process.memoryUsage().rss;
  for (let chunk = 0; done < job.cases && failure === undefined; chunk++) {
    const n = Math.min(CHUNK, job.cases - done);
    const seed = job.seed + chunk;
    const details = fc.check(property, { numRuns: n, seed });
    if (details.failed) {
      failure = `seed ${seed} after ${details.numRuns} runs: ${fc.stringify(details.counterexample)}\n${details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance)}`;
      done += details.numRuns;
    } else {
      done += n;
    }
    parentPort?.postMessage({ kind: 'progress', done } satisfies Report);
  }
  gc();
  const mem = process.memoryUsage();
  parentPort?.postMessage({
    kind: 'done',
    done,
    ...(failure !== undefined ? { failure } : {}),
    maxCaseMs,
    heapStart,
    heapEnd: mem.heapUsed,
    rssStart,
    rssEnd: mem.rss,
    ms: performance.now() - started,
  } satisfies Report);
}

interface Outcome {
  name: string;
  cases: number;
  done: number;
  status: 'ok' | 'FAILED' | 'HANG' | 'CRASH';
  detail: string;
  maxCaseMs: number;
  heapStartMb: number;
  heapEndMb: number;
  rssStartMb: number;
  rssEndMb: number;
  seconds: number;
}

const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;

function runTarget(index: number, cases: number, seed: number): Promise<Outcome> {
  const name = ALL_TARGETS[index]?.name ?? String(index);
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { target: index, cases, seed } satisfies Job });
    let last = Date.now();
    let done = 0;
    let settled = false;
    const finish = (o: Omit<Outcome, 'name' | 'cases' | 'seconds'>): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      resolvePromise({ name, cases, seconds: Math.round((Date.now() - started) / 100) / 10, ...o });
    };
    const watchdog = setInterval(() => {
      if (Date.now() - last > STALL_MS) {
        void worker.terminate();
        finish({ done, status: 'HANG', detail: `no progress for ${STALL_MS / 1000} s after ${done} cases`, maxCaseMs: NaN, heapStartMb: NaN, heapEndMb: NaN, rssStartMb: NaN, rssEndMb: NaN });
      }
    }, 1000);
    worker.on('message', (r: Report) => {
      last = Date.now();
      done = r.done;
      if (r.kind === 'progress') {
        process.stderr.write(`  ${name.split(' ')[0] ?? name}: ${done.toLocaleString('en-US')}/${cases.toLocaleString('en-US')}\r`);
        return;
      }
      finish({
        done: r.done,
        status: r.failure === undefined && r.done === cases ? 'ok' : 'FAILED',
        detail: r.failure ?? '',
        maxCaseMs: Math.round(r.maxCaseMs * 100) / 100,
        heapStartMb: mb(r.heapStart),
        heapEndMb: mb(r.heapEnd),
        rssStartMb: mb(r.rssStart),
        rssEndMb: mb(r.rssEnd),
      });
    });
    worker.on('error', (err) => finish({ done, status: 'CRASH', detail: err.stack ?? err.message, maxCaseMs: NaN, heapStartMb: NaN, heapEndMb: NaN, rssStartMb: NaN, rssEndMb: NaN }));
    worker.on('exit', (code) => {
      if (code !== 0) finish({ done, status: 'CRASH', detail: `worker exited with ${code}`, maxCaseMs: NaN, heapStartMb: NaN, heapEndMb: NaN, rssStartMb: NaN, rssEndMb: NaN });
    });
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const cases = Number(arg('cases') ?? process.env.FUZZ_CASES ?? 1_000_000);
  const seed = Number(arg('seed') ?? process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const parallel = Math.max(1, Number(arg('parallel') ?? 2));
  const wanted = arg('targets')?.split(',');
  const indexes = ALL_TARGETS.map((t, i) => ({ t, i }))
    .filter(({ t }) => wanted === undefined || wanted.some((w) => t.name.startsWith(w)))
    .map(({ i }) => i);
  console.log(`fuzz: ${cases.toLocaleString('en-US')} cases per target, ${indexes.length} targets, seed ${seed}, ${parallel} at a time (node ${process.version})`);
  const queue = [...indexes];
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) outcomes.push(await runTarget(i, cases, seed + i * 1_000_003));
    }),
  );
  outcomes.sort((a, b) => a.name.localeCompare(b.name));
  console.log('');
  console.log('| target | cases | result | slowest case (ms) | heap start→end (MB) | RSS start→end (MB) | time (s) |');
  console.log('|---|---:|---|---:|---|---|---:|');
  for (const o of outcomes) {
    console.log(`| ${o.name} | ${o.done.toLocaleString('en-US')} | ${o.status} | ${o.maxCaseMs} | ${o.heapStartMb}→${o.heapEndMb} | ${o.rssStartMb}→${o.rssEndMb} | ${o.seconds} |`);
  }
  for (const o of outcomes) if (o.status !== 'ok') console.log(`\n${o.status} ${o.name}:\n${o.detail}`);
  const bad = outcomes.filter((o) => o.status !== 'ok').length;
  console.log(`\n${bad === 0 ? 'no crash, no hang, no failure' : `${bad} target(s) failed`} — seed ${seed}`);
  process.exitCode = bad === 0 ? 0 : 1;
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
} else {
  runWorker(workerData as Job);
}
