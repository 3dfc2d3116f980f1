import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav } from '../../src/pipeline/index.js';

export function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

/** Speech from espeak-ng, converted by sox to 8 kHz mono 16-bit. */
export function espeak(text: string): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), 'trunkline-espeak-'));
  try {
    const raw = join(dir, 'x.wav');
    const out = join(dir, 'y.wav');
    execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', raw, text]);
    execFileSync('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', out]);
    const wav = parseWav(readFileSync(out));
    if (wav.sampleRate !== 8000 || wav.channels !== 1) throw new Error(`unexpected ${wav.sampleRate} Hz x${wav.channels}`);
    return wav.samples;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic low-level white noise (xorshift), amplitude ±amp. */
export function noise(n: number, amp: number, seed = 1): Int16Array {
  const out = new Int16Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = Math.round(((x / 0xffffffff) * 2 - 1) * amp);
  }
  return out;
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** First and last sample index whose 20 ms window RMS exceeds `threshold`. */
export function energyBounds(samples: Int16Array, threshold: number): { first: number; last: number } {
  let first = -1;
  let last = -1;
  for (let off = 0; off + 160 <= samples.length; off += 160) {
    if (rms(samples, off, off + 160) > threshold) {
      if (first < 0) first = off;
      last = off + 160;
    }
  }
  return { first, last };
}
