/**
 * Per-frame cost of the bot pipelines: the echo loopback (onAudio + pull), the demo bot's input
 * path (VAD + barge-in + end of turn + timers, no speech), and the playout's pull of a queued
 * prompt. Heap bytes per frame should be ≈0: those paths allocate nothing.
 */
import { FakeClock, silentLogger } from '../src/shared/index.js';
import { createBot, frames, Pipeline, PlayoutProcessor, type TtsEngine } from '../src/pipeline/index.js';
import { measure, retainedHeapPerOp, row, type BenchSection } from './harness.js';

// a stand-in engine so the bench needs no synthesis: a 10 s prompt of low noise
const prompt = new Int16Array(80_000).map((_, i) => ((i * 7919) % 61) - 30);
const fakeTts: TtsEngine = { name: 'bench', synthesize: () => Promise.resolve({ audio: prompt, sampleRate: 8000 }), close: () => Promise.resolve() };

export async function run(): Promise<BenchSection> {
  const rows = [];
  const clock = new FakeClock();
  const context = { callId: 'bench', metadata: {}, logger: silentLogger(), clock, hangup: () => undefined, transfer: () => undefined };
  const frame = new Int16Array(160).map((_, i) => Math.round(3000 * Math.sin(i / 3)));
  const out = new Int16Array(160);

  const echo = createBot('echo', context);
  await echo.prepare();
  echo.start();
  const echoStep = (): void => {
    echo.onAudio(frame);
    echo.playout.pull(out);
  };
  rows.push(row('echo bot: onAudio + pull (frame)', measure(echoStep, 500_000), { extra: { retainedBytesPerFrame: retainedHeapPerOp(echoStep, 200_000) } }));

  const demo = createBot('demo', context, { tts: fakeTts, silenceTimeoutMs: 1e12 });
  await demo.prepare();
  demo.start();
  const silence = new Int16Array(160).map((_, i) => ((i * 31) % 11) - 5);
  demo.playout.clear();
  const demoStep = (): void => {
    demo.onAudio(silence);
    demo.playout.pull(out);
  };
  rows.push(row('demo bot: VAD + turn path, idle bot (frame)', measure(demoStep, 100_000), { extra: { retainedBytesPerFrame: retainedHeapPerOp(demoStep, 50_000) } }));

  const playout = new PlayoutProcessor();
  const pipeline = new Pipeline([playout], { clock, logger: silentLogger() });
  pipeline.start();
  const refill = (): void => {
    pipeline.queueFrame(frames.ttsStarted('p', 'prompt'));
    pipeline.queueFrame(frames.ttsAudio('p', prompt));
    pipeline.queueFrame(frames.ttsStopped('p'));
  };
  refill();
  const pullStep = (): void => {
    if (!playout.source.pull(out)) refill();
  };
  rows.push(row('playout pull of a queued prompt (frame)', measure(pullStep, 500_000)));

  await echo.close();
  await demo.close();
  pipeline.close();
  return {
    section: 'pipeline',
    rows,
    notes: ['demo bot row: libfvad (WASM) classifies every 20 ms frame; the prompt refill in the playout row allocates per utterance (500 frames), not per frame'],
  };
}
