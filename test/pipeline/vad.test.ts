import { describe, expect, it } from 'vitest';
import { Fvad, VadProcessor, frames, runProcessorTest, type Frame, type UserStartedSpeakingFrame, type UserStoppedSpeakingFrame } from '../../src/pipeline/index.js';
import { concat, energyBounds, espeak, noise } from './audio-helpers.js';

function toFrames(signal: Int16Array): Frame[] {
  const out: Frame[] = [];
  for (let off = 0; off + 160 <= signal.length; off += 160) out.push(frames.inputAudio(signal.slice(off, off + 160), 8000, (off / 8000) * 1000));
  return out;
}

const speech = espeak('Hello, this is a test of voice activity detection on the telephone.');
const bounds = energyBounds(speech, 300);
const LEAD_MS = 1000;

describe('VadProcessor (libfvad WASM) on real speech', () => {
  it('finds onset and offset of espeak speech in low noise within tolerance', async () => {
    const signal = concat(noise(8 * LEAD_MS, 40, 7), speech, noise(8 * 1500, 40, 9));
    const vad = new VadProcessor({ mode: 3, startMs: 60, stopMs: 600 });
    await vad.load();
    const { down } = await runProcessorTest(vad, { framesIn: toFrames(signal) });
    const kinds = down.map((f) => f.kind);
    expect(kinds).toEqual(['user-started-speaking', 'user-stopped-speaking']);
    const start = down[0] as UserStartedSpeakingFrame;
    const stop = down[1] as UserStoppedSpeakingFrame;
    const energyOnsetMs = LEAD_MS + bounds.first / 8;
    const energyOffsetMs = LEAD_MS + bounds.last / 8;
    expect(Math.abs(start.speechStartMs - energyOnsetMs)).toBeLessThanOrEqual(80);
    expect(start.mediaMs - start.speechStartMs).toBeGreaterThanOrEqual(60);
    expect(start.mediaMs - start.speechStartMs).toBeLessThanOrEqual(100);
    expect(Math.abs(stop.speechEndMs - energyOffsetMs)).toBeLessThanOrEqual(200);
    expect(stop.mediaMs - stop.speechEndMs).toBe(600);
    expect(stop.speechMs).toBeGreaterThan(((bounds.last - bounds.first) / 8) * 0.8);
  });

  it('stays quiet on silence and on low noise', async () => {
    const vad = new VadProcessor();
    await vad.load();
    const signal = concat(new Int16Array(8000), noise(8000 * 2, 60, 3));
    await runProcessorTest(vad, { framesIn: toFrames(signal), expectedDown: [] });
  });

  it('marks each audio frame voiced or not and passes it on', async () => {
    const vad = new VadProcessor();
    await vad.load();
    const signal = concat(new Int16Array(1600), speech.subarray(bounds.first, bounds.first + 8000));
    const { down } = await runProcessorTest(vad, { framesIn: toFrames(signal), ignore: ['start', 'end'] });
    const audio = down.filter((f) => f.kind === 'input-audio');
    expect(audio).toHaveLength(60);
    expect(audio.slice(0, 10).every((f) => f.kind === 'input-audio' && f.voiced === false)).toBe(true);
    expect(audio.slice(10).filter((f) => f.kind === 'input-audio' && f.voiced === true).length).toBeGreaterThan(25);
  });

  it('Fvad rejects frame sizes libfvad does not take and is closed idempotently', async () => {
    const vad = await Fvad.create(8000, 2);
    expect(vad.accepts(80) && vad.accepts(160) && vad.accepts(240)).toBe(true);
    expect(() => vad.process(new Int16Array(100))).toThrow(RangeError);
    vad.close();
    vad.close();
    expect(() => vad.process(new Int16Array(160))).toThrow(/closed/);
  });
});
