import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LatencyStats } from '../rtp/index.js';
import type { Clock, Logger, TimerHandle, TrunklineConfig } from '../shared/index.js';
import type { MediaHost, MediaHostFactory, MediaHostInit } from './media-host.js';
import type { FromWorker, MediaWorkerData, ToWorker, WorkerLoad } from './media-worker-protocol.js';
import { WorkerMediaHost, type WorkerLink } from './worker-media-host.js';

/**
 * The media worker threads (issue 4 "All cores"): signaling and the API stay in the main thread;
 * each call's media session and bot live in one worker, chosen at call set-up as the one with the
 * fewest sessions (ties: the lower send lateness in its last load report) and kept for the whole
 * call. Each worker has its own contiguous slice of the RTP port range and its own pacer, so no
 * packet ever crosses threads. Workers report load every `reportMs`.
 *
 * The pool owns its workers (mediasoup's worker model): a worker that dies — an uncaught error, an
 * exit — ends every call pinned to it cleanly (the call sends BYE with
 * `Reason: Q.850;cause=41;text="media worker failed"`, or 503 while still being set up) and is
 * replaced on the same port slice. `close()` terminates them all and is idempotent.
 *
 * Running a worker: from the build (dist/, what `npm start` runs) the entry is the compiled
 * `media-worker.js` beside this file. From TypeScript sources (vitest) there is no .js to load and
 * no TS loader installed, so the worker boots from a small data: module that registers module
 * hooks (resolve `./x.js` to `./x.ts`, transpile .ts with the `typescript` compiler the dev
 * install has — type-only, no type check) and then imports `media-worker.ts`.
 */
export interface WorkerPoolOptions {
  readonly config: TrunklineConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How many workers; see workerCount(). */
  readonly count: number;
  /** Hosts for calls whose bot the caller builds (transfer consult legs): in-thread. */
  readonly local: MediaHostFactory;
  /** Load report period (ms). Default 1000. */
  readonly reportMs?: number;
  /** The part of the RTP range the workers share (default all of config.rtp; see splitPortRange). */
  readonly ports?: { readonly min: number; readonly max: number };
  /** Override the worker entry (tests, bench). */
  readonly entry?: URL;
}

export interface WorkerStatus {
  readonly index: number;
  /** Calls pinned to the worker now. */
  readonly sessions: number;
  /** The worker's last load report. */
  readonly load: WorkerLoad | undefined;
  /** How many times this slot's worker was replaced after dying. */
  readonly restarts: number;
  /** Running and ready for calls. */
  readonly alive: boolean;
}

/** Most workers `auto` starts: the main thread keeps a core for SIP and the API above this. */
const MAX_AUTO_WORKERS = 16;
const DEFAULT_REPORT_MS = 1000;
/** How long a worker has to end by itself after 'shutdown' before it is terminated. */
const SHUTDOWN_GRACE_MS = 5000;
/** Respawn delay after a worker died; doubles while replacements keep dying within a minute. */
const RESPAWN_MS = 100;
const RESPAWN_MAX_MS = 30_000;
const STABLE_MS = 60_000;
const WORKER_FAILED = 'media worker failed';
/**
 * A larger young generation than V8's default: every received datagram is a fresh Buffer (Node's
 * dgram), so a worker with 1,000 calls allocates ~10 MB/s of short-lived objects; with the
 * default semi-space its scavenges come often and, on a busy 2-core machine, some take 15–30 ms —
 * a stall every call's next tick waits out (bench/workers.bench.ts: p99 lateness).
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 96 } as const;
/** A worker not ready after this long is stopped (and, after start-up, replaced). */
const READY_TIMEOUT_MS = 30_000;
/** pino's numeric levels. */
const LEVELS: Partial<Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** calls.workers as a number of threads: 'auto' = one per core (capped); 0 = media in the main thread. */
export function workerCount(setting: number | 'auto', cores = availableParallelism()): number {
  if (setting === 'auto') return Math.max(1, Math.min(MAX_AUTO_WORKERS, cores));
  return setting;
}

/**
 * With media workers the main thread still runs a few calls of its own (transfer consult legs,
 * whose bot the call builds): it keeps the top 5 % of the RTP range (1–256 pairs), the workers
 * share the rest, so no port is ever bound by two threads.
 */
export function splitPortRange(min: number, max: number, workers: number): { main: { min: number; max: number }; workers: { min: number; max: number } } {
  const first = min % 2 === 0 ? min : min + 1;
  const pairs = Math.floor((max - first + 1) / 2);
  if (workers === 0) return { main: { min: first, max }, workers: { min: first, max: first - 1 } };
  const reserve = Math.max(1, Math.min(256, Math.ceil(pairs * 0.05)));
  if (pairs - reserve < workers) throw new RangeError(`RTP range ${min}-${max} has ${pairs} port pairs: too few for ${workers} media workers`);
  const split = first + (pairs - reserve) * 2;
  return { main: { min: split, max: split + reserve * 2 - 1 }, workers: { min: first, max: split - 1 } };
}

/** Contiguous slices of the RTP range, one per worker, each starting on an even port (RFC 3550 §11). */
export function portSlices(min: number, max: number, count: number): { min: number; max: number }[] {
  const first = min % 2 === 0 ? min : min + 1;
  const pairs = Math.floor((max - first + 1) / 2);
  const per = Math.floor(pairs / count);
  if (per < 1) throw new RangeError(`RTP range ${min}-${max} has ${pairs} port pairs: too few for ${count} media workers`);
  const slices: { min: number; max: number }[] = [];
  for (let i = 0; i < count; i++) {
    const start = first + i * per * 2;
    slices.push({ min: start, max: start + per * 2 - 1 });
  }
  return slices;
}

const TS_HOOKS = `
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
let ts;
export async function initialize(data) { ts = (await import(data.typescript)).default; }
export async function resolve(specifier, context, next) {
  if (context.parentURL !== undefined && context.parentURL.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const out = ts.transpileModule(await readFile(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true, sourceMap: false },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}`;

const TS_BOOT = `
import { register } from 'node:module';
import { workerData } from 'node:worker_threads';
register('data:text/javascript,' + encodeURIComponent(workerData.tsHooks), { data: { typescript: workerData.typescript } });
await import(workerData.tsEntry);
`;

interface Slot {
  readonly index: number;
  readonly ports: { min: number; max: number };
  worker: Worker | undefined;
  /** The worker has loaded its code and listens. */
  ready: boolean;
  readonly hosts: Map<number, WorkerMediaHost>;
  load: WorkerLoad | undefined;
  restarts: number;
  startedAt: number;
  respawnMs: number;
  respawn: TimerHandle | undefined;
}

export class WorkerPool implements MediaHostFactory {
  private readonly slots: Slot[] = [];
  private readonly log: Logger;
  private readonly reportMs: number;
  private readonly loadHandlers: ((index: number, load: WorkerLoad) => void)[] = [];
  private readonly exitHandlers: ((index: number, reason: string) => void)[] = [];
  private nextSid = 1;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`media workers: need at least 1, got ${options.count}`);
    this.log = options.logger.child({ component: 'media-workers' });
    this.reportMs = options.reportMs ?? DEFAULT_REPORT_MS;
    const range = options.ports ?? { min: options.config.rtp.portMin, max: options.config.rtp.portMax };
    portSlices(range.min, range.max, options.count).forEach((ports, index) => {
      this.slots.push({ index, ports, worker: undefined, ready: false, hosts: new Map(), load: undefined, restarts: 0, startedAt: 0, respawnMs: RESPAWN_MS, respawn: undefined });
    });
  }

  get size(): number {
    return this.slots.length;
  }

  /** Starts every worker; resolves once each has loaded its code and listens (ready). */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.spawn(slot)));
  }

  /** Pins a call to the least loaded live worker (or runs it in-thread when its bot is the caller's own). */
  create(init: MediaHostInit): MediaHost {
    if (init.createBot !== undefined) return this.options.local.create(init);
    const slot = this.pick();
    const sid = this.nextSid++;
    const link: WorkerLink = {
      index: slot.index,
      post: (message) => this.post(slot, message),
      release: (id) => {
        slot.hosts.delete(id);
      },
    };
    const host = new WorkerMediaHost(link, sid, init, this.options.clock);
    slot.hosts.set(sid, host);
    if (slot.worker === undefined) {
      // Every worker is down (dying and respawning): the call is refused at once (503).
      host.fail(WORKER_FAILED, false);
    }
    return host;
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({ index: s.index, sessions: s.hosts.size, load: s.load, restarts: s.restarts, alive: s.ready }));
  }

  /** The worst send lateness over the workers' last reports (for /metrics). */
  lateness(): LatencyStats {
    let worst: LatencyStats = { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 };
    for (const s of this.slots) {
      const l = s.load?.lateness;
      if (l !== undefined && l.p99Ms >= worst.p99Ms) worst = l;
    }
    return worst;
  }

  /** Each load report as it arrives. */
  onLoad(handler: (index: number, load: WorkerLoad) => void): void {
    this.loadHandlers.push(handler);
  }

  /** A worker died (before its replacement starts). */
  onWorkerExit(handler: (index: number, reason: string) => void): void {
    this.exitHandlers.push(handler);
  }

  /** Test only: makes worker `index` throw from its event loop, as a crash would. */
  crashForTest(index: number): void {
    const slot = this.slots[index];
    if (slot !== undefined) this.post(slot, { t: 'crash' });
  }

  /**
   * Stops every worker (calls should have been drained first: theirs end at once). Each is asked
   * to shut down and ends by itself; terminate() only if it has not within SHUTDOWN_GRACE_MS
   * (terminating a thread that holds WebAssembly can take the process down: nodejs/node#47748).
   * Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(
        this.slots.map(async (slot) => {
          slot.respawn?.cancel();
          const worker = slot.worker;
          slot.worker = undefined;
          slot.ready = false;
          for (const host of [...slot.hosts.values()]) host.fail('media workers closed');
          slot.hosts.clear();
          if (worker !== undefined) await this.stopWorker(worker, slot.index);
        }),
      );
    })();
    return this.closing;
  }

  private async stopWorker(worker: Worker, index: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const exited = new Promise<number | undefined>((resolve) => {
      worker.once('exit', (code: number) => resolve(code));
      timer = this.options.clock.setTimeout(() => resolve(undefined), SHUTDOWN_GRACE_MS);
    });
    worker.postMessage({ t: 'shutdown' } satisfies ToWorker);
    const code = await exited;
    timer?.cancel();
    if (code === undefined) {
      this.log.warn({ worker: index, graceMs: SHUTDOWN_GRACE_MS }, 'media worker did not stop by itself: terminating it');
      await worker.terminate();
      return;
    }
    this.log.info({ worker: index, code }, 'media worker stopped');
  }

  private pick(): Slot {
    // Ready workers first; one still loading (a replacement) only when no other is up.
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (!s.ready) continue;
      if (best === undefined || s.hosts.size < best.hosts.size || (s.hosts.size === best.hosts.size && (s.load?.lateness.p99Ms ?? 0) < (best.load?.lateness.p99Ms ?? 0))) best = s;
    }
    return best ?? this.slots.find((s) => s.worker !== undefined) ?? this.slots[0]!;
  }

  private post(slot: Slot, message: ToWorker): void {
    slot.worker?.postMessage(message);
  }

  private spawn(slot: Slot): Promise<void> {
    const data: MediaWorkerData & { kind: 'trunkline-media' } = {
      kind: 'trunkline-media',
      index: slot.index,
      config: this.options.config,
      portMin: slot.ports.min,
      portMax: slot.ports.max,
      reportMs: this.reportMs,
    };
    const entry = this.options.entry ?? new URL('./media-worker.js', import.meta.url);
    let worker: Worker;
    if (entry.pathname.endsWith('.js') && existsSync(fileURLToPath(entry))) {
      worker = new Worker(entry, { workerData: data, resourceLimits: WORKER_HEAP });
    } else {
      const typescript = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
      const tsEntry = entry.pathname.endsWith('.ts') ? entry : new URL(entry.href.replace(/\.js$/, '.ts'));
      worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(TS_BOOT)}`), {
        workerData: { ...data, tsHooks: TS_HOOKS, typescript, tsEntry: tsEntry.href },
        resourceLimits: WORKER_HEAP,
      });
    }
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = this.options.clock.now();
    let lastError: unknown;
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err) => {
      lastError = err;
      this.log.error({ err, worker: slot.index }, 'media worker error');
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return; // terminated by close()
      this.onExit(slot, code, lastError);
    });
    let readyTimer: TimerHandle | undefined;
    return new Promise<void>((resolve, reject) => {
      // Ready, not just online: the worker's code is loaded (from sources that means transpiled,
      // which takes a second or two of CPU) and it is listening.
      worker.on('message', (msg: FromWorker) => {
        if (msg.t === 'ready') {
          slot.ready = slot.worker === worker;
          resolve();
        }
      });
      worker.once('exit', (code) => reject(new Error(`media worker ${slot.index} exited with code ${code} while starting`)));
      readyTimer = this.options.clock.setTimeout(() => {
        reject(new Error(`media worker ${slot.index} not ready after ${READY_TIMEOUT_MS} ms`));
        void worker.terminate();
      }, READY_TIMEOUT_MS);
    })
      .finally(() => readyTimer?.cancel())
      .then(
        () => undefined,
        (err: unknown) => {
          if (this.closing === undefined) throw err;
        },
      );
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.t === 'log') {
      this.relayLog(msg.line);
      return;
    }
    if (msg.t === 'ready') return;
    if (msg.t === 'stats-batch') {
      for (let i = 0; i < msg.sids.length; i++) slot.hosts.get(msg.sids[i]!)?.handle({ t: 'stats', sid: msg.sids[i]!, stats: msg.stats[i] });
      return;
    }
    if (msg.t === 'load') {
      slot.load = msg.load;
      for (const h of this.loadHandlers) {
        try {
          h(slot.index, msg.load);
        } catch (err) {
          this.log.error({ err }, 'load handler threw');
        }
      }
      return;
    }
    slot.hosts.get(msg.sid)?.handle(msg);
  }

  /** A worker's pino record, re-emitted on the main logger at its level (time and pid are the main's). */
  private relayLog(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = record;
    const name = typeof level === 'number' ? LEVELS[level] : undefined;
    if (name === undefined) return;
    this.options.logger[name](fields, typeof msg === 'string' ? msg : '');
  }

  private onExit(slot: Slot, code: number, err: unknown): void {
    slot.worker = undefined;
    slot.ready = false;
    slot.load = undefined;
    const hosts = [...slot.hosts.values()];
    slot.hosts.clear();
    this.log.error({ worker: slot.index, code, calls: hosts.length, err }, 'media worker died; ending its calls');
    for (const h of this.exitHandlers) {
      try {
        h(slot.index, WORKER_FAILED);
      } catch (e) {
        this.log.error({ err: e }, 'worker exit handler threw');
      }
    }
    for (const host of hosts) host.fail(WORKER_FAILED);
    if (this.closing !== undefined) return;
    if (this.options.clock.now() - slot.startedAt >= STABLE_MS) slot.respawnMs = RESPAWN_MS;
    const delay = slot.respawnMs;
    slot.respawnMs = Math.min(RESPAWN_MAX_MS, slot.respawnMs * 2);
    slot.respawn = this.options.clock.setTimeout(() => {
      slot.respawn = undefined;
      if (this.closing !== undefined) return;
      slot.restarts++;
      this.log.warn({ worker: slot.index, restarts: slot.restarts }, 'starting a replacement media worker');
      this.spawn(slot).catch((e: unknown) => this.log.error({ err: e, worker: slot.index }, 'replacement media worker failed to start'));
    }, delay);
  }
}
