import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_PROMPTS, FliteTts, PromptCache } from '../../src/pipeline/index.js';
import { rms } from './audio-helpers.js';

const tts = new FliteTts();
afterAll(async () => {
  await tts.close();
});

describe('FliteTts (offline, WASI in a worker)', () => {
  it('speaks the greeting as non-silent 8 kHz audio of plausible length', async () => {
    const { audio, sampleRate } = await tts.synthesize(DEMO_PROMPTS.greeting);
    expect(sampleRate).toBe(8000);
    const seconds = audio.length / sampleRate;
    // 24 words at a normal speaking rate: roughly 6-10 s
    expect(seconds).toBeGreaterThan(4);
    expect(seconds).toBeLessThan(12);
    expect(rms(audio)).toBeGreaterThan(500);
  });

  it('a short prompt is shorter than a long one; requests in parallel all resolve', async () => {
    const [short, long] = await Promise.all([tts.synthesize('Goodbye.'), tts.synthesize(DEMO_PROMPTS.menu)]);
    expect(short.audio.length).toBeGreaterThan(2000);
    expect(short.audio.length).toBeLessThan(long.audio.length / 2);
  });

  it('the prompt cache synthesizes each text once and answers peek() synchronously after', async () => {
    let calls = 0;
    const counting = { name: 'counting', synthesize: (t: string) => (calls++, tts.synthesize(t)), close: () => Promise.resolve() };
    const cache = new PromptCache(counting);
    expect(cache.peek('Hello.')).toBeUndefined();
    await Promise.all([cache.get('Hello.'), cache.get('Hello.'), cache.warm(['Hello.'])]);
    expect(calls).toBe(1);
    expect(cache.peek('Hello.')?.audio.length).toBeGreaterThan(0);
  });

  it('a request with no answer in time fails, the stuck worker is stopped, and the next request gets a fresh worker', async () => {
    // 1 ms is less than compiling flite.wasm takes, so the first request is "stuck".
    const impatient = new FliteTts({ timeoutMs: 1 });
    await Promise.all([
      expect(impatient.synthesize('One.')).rejects.toThrow(/no answer in 1 ms/),
      expect(impatient.synthesize('Two.')).rejects.toThrow(/no answer in 1 ms/),
    ]);
    const patient = new FliteTts({ timeoutMs: 20_000 });
    try {
      expect((await patient.synthesize('Three.')).audio.length).toBeGreaterThan(0);
    } finally {
      await patient.close();
      await impatient.close();
    }
  });

  it('close() fails what is still pending instead of leaving it hanging', async () => {
    const engine = new FliteTts();
    const failed = expect(engine.synthesize(DEMO_PROMPTS.menu)).rejects.toThrow(/engine closed/);
    await engine.close();
    await failed;
  });

  it('restarts after close()', async () => {
    await tts.close();
    const { audio } = await tts.synthesize('Again.');
    expect(audio.length).toBeGreaterThan(0);
  });
});
