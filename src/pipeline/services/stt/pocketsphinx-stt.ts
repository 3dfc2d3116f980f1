import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resampler } from '../../../codec/index.js';
import { encodeWav } from '../../wav.js';
import { ServiceError } from '../service-error.js';
import type { SttService, SttSession } from './stt.js';

/**
 * Offline recognition with CMU pocketsphinx (Debian's `pocketsphinx_continuous`, en-us model) as a
 * child process per turn, constrained by a JSGF grammar: free-form telephone speech is poorly
 * recognised, but keywords ("sales", "billing", "yes", "goodbye") come back exactly in ~0.2 s.
 * The model wants 16 kHz, so the turn's 8 kHz audio is upsampled first.
 */
export interface PocketsphinxSttOptions {
  /** A JSGF grammar file; or leave it out and give `keywords`. */
  readonly grammarPath?: string;
  /**
   * Words (in the CMU dictionary) the grammar is built from: any sequence of them is accepted. On
   * 8 kHz audio keep the caller's answer to a keyword ("sales"); whole sentences are poorly recognised.
   */
  readonly keywords?: readonly string[];
  readonly command?: string;
  readonly timeoutMs?: number;
}

/** A JSGF grammar accepting any sequence of the given words (lower case, dictionary words). */
export function keywordGrammar(words: readonly string[]): string {
  const clean = [...new Set(words.map((w) => w.toLowerCase().trim()).filter((w) => /^[a-z']+$/.test(w)))];
  if (clean.length === 0) throw new RangeError('pocketsphinx: no usable keywords (letters only)');
  return `#JSGF V1.0;\ngrammar trunkline;\npublic <utterance> = <word>+;\n<word> = ( ${clean.join(' | ')} );\n`;
}

/**
 * Peak of the noise floor added above the telephone band (≈ -54 dBFS). The en-us model is
 * wideband: telephone audio upsampled to 16 kHz leaves the 4–8 kHz mel filters empty, their log
 * energies sit at the floor the model never saw in training and recognition collapses ("sales"
 * came back as "hello"); a faint white-noise floor there restores it.
 */
export const POCKETSPHINX_NOISE_FLOOR = 65;

/** Adds deterministic white noise of peak `amp` in place (xorshift32). */
function addNoiseFloor(samples: Int16Array, amp: number): void {
  let x = 0x9e3779b9;
  for (let i = 0; i < samples.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const v = samples[i]! + Math.round(((x / 0xffffffff) * 2 - 1) * amp);
    samples[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
}

export class PocketsphinxStt implements SttService {
  readonly name = 'pocketsphinx';
  readonly streaming = false;
  private dir: string | null = null;
  private grammarFile: string | null = null;
  private seq = 0;

  constructor(private readonly options: PocketsphinxSttOptions) {
    if (options.grammarPath === undefined && (options.keywords === undefined || options.keywords.length === 0)) {
      throw new RangeError('pocketsphinx: give grammarPath or keywords');
    }
  }

  private workDir(): string {
    if (this.dir === null) {
      this.dir = mkdtempSync(join(tmpdir(), 'trunkline-sphinx-'));
      if (this.options.grammarPath !== undefined) {
        this.grammarFile = this.options.grammarPath;
      } else {
        this.grammarFile = join(this.dir, 'keywords.gram');
        writeFileSync(this.grammarFile, keywordGrammar(this.options.keywords ?? []));
      }
    }
    return this.dir;
  }

  async transcribe(audio8k: Int16Array, signal?: AbortSignal): Promise<string> {
    const dir = this.workDir();
    const resampler = new Resampler(8000, 16000);
    const wide = new Int16Array(resampler.outputLengthFor(audio8k.length));
    const n = resampler.process(audio8k, wide);
    addNoiseFloor(wide, POCKETSPHINX_NOISE_FLOOR);
    const file = join(dir, `turn-${++this.seq}.wav`);
    writeFileSync(file, encodeWav(wide.subarray(0, n), 16000));
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          this.options.command ?? 'pocketsphinx_continuous',
          ['-infile', file, '-jsgf', this.grammarFile ?? '', '-logfn', '/dev/null'],
          { timeout: this.options.timeoutMs ?? 10_000, ...(signal !== undefined ? { signal } : {}) },
          (err, stdout) => {
            if (err !== null) {
              const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
              reject(new ServiceError('stt', this.name, missing ? 'pocketsphinx_continuous not installed' : err.message, !missing, null, { cause: err }));
              return;
            }
            resolve(stdout);
          },
        );
      });
      return out
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('INFO') && !l.startsWith('READY'))
        .join(' ')
        .trim();
    } finally {
      rmSync(file, { force: true });
    }
  }

  open(): Promise<SttSession> {
    return Promise.resolve({
      write: () => undefined,
      finishTurn: (turnAudio, signal) => (turnAudio === null || turnAudio.length === 0 ? Promise.resolve('') : this.transcribe(turnAudio, signal)),
      close: () => Promise.resolve(),
    });
  }

  close(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
