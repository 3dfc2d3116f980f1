/**
 * Audio for end-to-end tests, made on the spot with espeak-ng and sox (see shared TESTING.md):
 * nothing binary is checked in, and the speech is real speech (voiced, with pauses), which is
 * what the VAD, the jitter buffer and the level checks must handle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SIPP_PCAP_DIR = '/usr/share/sip-tester';

export interface MediaWorkdir {
  readonly dir: string;
  /** Writes `text` as 8 kHz speech: `<name>.wav` (S16LE mono) and `<name>.ulaw` (raw μ-law). */
  speech(name: string, text: string, options?: { gainDb?: number; padSilenceSec?: number }): { wav: string; ulaw: string; samples: Int16Array };
  /** SIPp's built-in scenario `name` dumped to a file (e.g. uac_pcap), with `pcap/` linked here. */
  builtinScenario(name: string): string;
  close(): void;
}

/** A temporary directory for SIPp's working files (relative rtp_stream and pcap names). */
export function mediaWorkdir(): MediaWorkdir {
  const dir = mkdtempSync(join(tmpdir(), 'trunkline-e2e-'));
  symlinkSync(SIPP_PCAP_DIR, join(dir, 'pcap'));
  return {
    dir,
    speech(name, text, options = {}) {
      const raw = join(dir, `${name}-22k.wav`);
      const wav = join(dir, `${name}.wav`);
      const ulaw = join(dir, `${name}.ulaw`);
      execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', raw, text]);
      const effects: string[] = [];
      if (options.gainDb !== undefined) effects.push('gain', String(options.gainDb));
      if (options.padSilenceSec !== undefined) effects.push('pad', String(options.padSilenceSec), '0');
      execFileSync('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', wav, ...effects]);
      execFileSync('sox', [wav, '-t', 'ul', ulaw]);
      return { wav, ulaw, samples: readWavPcm16(wav) };
    },
    builtinScenario(name) {
      const file = join(dir, `${name}.xml`);
      // `sipp -sd` prints the scenario and then exits non-zero.
      const dump = spawnSync('sipp', ['-sd', name], { encoding: 'utf8' });
      if (!dump.stdout.includes('<scenario')) throw new Error(`sipp -sd ${name}: ${dump.stderr}`);
      writeFileSync(file, dump.stdout);
      return file;
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The samples of a 16-bit PCM WAV (first channel), walking its chunks to find `data`. */
export function readWavPcm16(path: string): Int16Array {
  const buf = readFileSync(path);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let o = 12;
  let channels = 1;
  let bits = 16;
  while (o + 8 <= buf.length) {
    const id = buf.toString('ascii', o, o + 4);
    const size = buf.readUInt32LE(o + 4);
    const body = o + 8;
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(body + 2);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`${path}: ${bits}-bit samples, expected 16`);
      const end = Math.min(buf.length, body + size);
      const frames = Math.floor((end - body) / (2 * channels));
      const out = new Int16Array(frames);
      for (let i = 0; i < frames; i++) out[i] = buf.readInt16LE(body + i * 2 * channels);
      return out;
    }
    o = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

/** The WAV's sample rate (from its fmt chunk). */
export function wavSampleRate(path: string): number {
  const buf = readFileSync(path);
  let o = 12;
  while (o + 8 <= buf.length) {
    const size = buf.readUInt32LE(o + 4);
    if (buf.toString('ascii', o, o + 4) === 'fmt ') return buf.readUInt32LE(o + 12);
    o += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no fmt chunk`);
}
