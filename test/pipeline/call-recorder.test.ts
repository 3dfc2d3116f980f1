import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CallRecorder } from '../../src/pipeline/call-recorder.js';
import { parseWav } from '../../src/pipeline/wav.js';
import { silentLogger } from '../../src/shared/index.js';

function frame(value: number): Int16Array {
  return new Int16Array(160).fill(value);
}

describe('CallRecorder', () => {
  it('writes caller left and bot right, tick-aligned, with a correct RIFF header', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'trunkline-rec-')), 'call.wav');
    const rec = new CallRecorder(path, silentLogger());
    // 120 ticks (2.4 s): crosses two flush boundaries (50 frames) and leaves a remainder.
    for (let t = 0; t < 120; t++) {
      rec.caller(frame(t + 1));
      rec.bot(t % 3 === 0 ? null : frame(-(t + 1)));
      // Real ticks are 20 ms apart; give the pending write its turn as the event loop would.
      if (t % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await rec.close();
    await rec.close(); // idempotent
    const wav = parseWav(readFileSync(path));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.channels).toBe(2);
    expect(wav.samples.length).toBe(120 * 160 * 2);
    for (const t of [0, 1, 49, 50, 99, 100, 119]) {
      const i = t * 160 * 2 + 2 * 17; // sample 17 of tick t
      expect(wav.samples[i]).toBe(t + 1);
      expect(wav.samples[i + 1]).toBe(t % 3 === 0 ? 0 : -(t + 1));
    }
    const bytes = readFileSync(path);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(40, true)).toBe(120 * 160 * 4);
    expect(rec.droppedFrames).toBe(0);
  });

  it('a tick with no caller frame records silence on the left', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'trunkline-rec-')), 'call.wav');
    const rec = new CallRecorder(path, silentLogger());
    rec.caller(frame(5));
    rec.bot(frame(6));
    rec.bot(frame(7)); // caller on hold: no frame this tick
    await rec.close();
    const wav = parseWav(readFileSync(path));
    expect([wav.samples[0], wav.samples[1]]).toEqual([5, 6]);
    expect([wav.samples[320], wav.samples[321]]).toEqual([0, 7]);
  });

  it('a disk that cannot keep up loses whole batches, counted, never unbounded memory', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'trunkline-rec-')), 'call.wav');
    const rec = new CallRecorder(path, silentLogger());
    for (let t = 0; t < 500; t++) {
      rec.caller(frame(1));
      rec.bot(null); // 500 ticks with no chance for the write to finish
    }
    await rec.close();
    expect(rec.droppedFrames).toBeGreaterThan(0);
    const wav = parseWav(readFileSync(path));
    expect(wav.samples.length / 320 + rec.droppedFrames).toBe(500);
  });

  it('an unwritable path is logged, never thrown into the call', async () => {
    const rec = new CallRecorder('/nonexistent-dir/x/call.wav', silentLogger());
    for (let t = 0; t < 60; t++) {
      rec.caller(frame(1));
      rec.bot(null);
    }
    await expect(rec.close()).resolves.toBeUndefined();
  });
});
