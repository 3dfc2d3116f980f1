import { describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../src/shared/index.js';
import {
  BargeInProcessor,
  DtmfCollector,
  MaxDurationProcessor,
  Pipeline,
  PlayoutProcessor,
  frames,
  runProcessorTest,
  textPortion,
  type Frame,
} from '../../src/pipeline/index.js';

const collected = (digits: string, reason: string) => (f: Frame) => f.kind === 'dtmf-collected' && f.digits === digits && f.reason === reason;
const started = (speechStartMs: number, mediaMs: number): Frame => ({ kind: 'user-started-speaking', tier: 'system', speechStartMs, mediaMs, atMs: 0 });
const botStarted = (allowInterruptions: boolean): { direction: 'upstream'; frame: Frame } => ({
  direction: 'upstream',
  frame: { kind: 'bot-started-speaking', tier: 'system', utteranceId: 'u1', allowInterruptions },
});

describe('DtmfCollector', () => {
  it('ends an entry on #, on the inter-digit timeout, and at maxDigits', async () => {
    await runProcessorTest(new DtmfCollector({ interDigitTimeoutMs: 3000, maxDigits: 4 }), {
      framesIn: [frames.dtmf('1'), frames.dtmf('2'), frames.dtmf('#'), frames.dtmf('7'), { advanceMs: 2999 }, frames.dtmf('8'), { advanceMs: 3000 }, ...'1234'.split('').map((d) => frames.dtmf(d))],
      expectedDown: ['dtmf', 'dtmf', 'dtmf', collected('12', 'terminator'), 'dtmf', 'dtmf', collected('78', 'timeout'), 'dtmf', 'dtmf', 'dtmf', 'dtmf', collected('1234', 'max-digits')],
    });
  });
});

describe('BargeInProcessor', () => {
  it('interrupts an interruptible utterance on the VAD onset', async () => {
    await runProcessorTest(new BargeInProcessor(), {
      framesIn: [botStarted(true), started(1000, 1060)],
      expectedDown: ['user-started-speaking', (f) => f.kind === 'interruption' && f.reason === 'barge-in'],
      expectedUp: ['bot-started-speaking'],
    });
  });

  it('does not interrupt a non-interruptible utterance, nor when the bot is silent, nor when disabled', async () => {
    await runProcessorTest(new BargeInProcessor(), { framesIn: [botStarted(false), started(0, 60)], expectedDown: ['user-started-speaking'] });
    await runProcessorTest(new BargeInProcessor(), { framesIn: [started(0, 60)], expectedDown: ['user-started-speaking'] });
    await runProcessorTest(new BargeInProcessor({ enabled: false }), { framesIn: [botStarted(true), started(0, 60)], expectedDown: ['user-started-speaking'] });
  });

  it('waits for minSpeechMs of voiced audio before cutting', async () => {
    const voiced = (): Frame => ({ ...frames.inputAudio(new Int16Array(160)), voiced: true });
    await runProcessorTest(new BargeInProcessor({ minSpeechMs: 200 }), {
      framesIn: [botStarted(true), started(0, 60), voiced(), voiced(), voiced(), voiced(), voiced(), voiced(), voiced(), voiced()],
      ignore: ['start', 'end'],
      // 60 ms at onset + 7 frames = 200 ms: the interruption comes before the 7th frame passes
      expectedDown: ['user-started-speaking', 'input-audio', 'input-audio', 'input-audio', 'input-audio', 'input-audio', 'input-audio', 'interruption', 'input-audio', 'input-audio'],
    });
  });
});

describe('MaxDurationProcessor', () => {
  it('interrupts, says goodbye (not interruptible) and asks for hangup after it', async () => {
    const { down } = await runProcessorTest(new MaxDurationProcessor({ maxDurationMs: 60_000 }), {
      framesIn: [{ advanceMs: 59_999 }, { advanceMs: 1 }],
      expectedDown: ['interruption', 'speak'],
    });
    expect(down[1]).toMatchObject({ allowInterruptions: false, after: { hangup: 'max-duration' } });
  });
  it('without a goodbye hangs up at once', async () => {
    await runProcessorTest(new MaxDurationProcessor({ maxDurationMs: 1000, goodbyeText: null }), {
      framesIn: [{ advanceMs: 1000 }],
      expectedUp: [(f) => f.kind === 'hangup-request' && f.reason === 'max-duration'],
    });
  });
});

describe('PlayoutProcessor / UtterancePlayout', () => {
  function setup(): { p: PlayoutProcessor; up: Frame[]; pipeline: Pipeline; clock: FakeClock } {
    const clock = new FakeClock();
    const p = new PlayoutProcessor();
    const up: Frame[] = [];
    const pipeline = new Pipeline([p], { clock, logger: silentLogger(), onUpstream: (f) => up.push(f) });
    pipeline.start();
    return { p, up, pipeline, clock };
  }
  const say = (pipeline: Pipeline, id: string, text: string, audio: Int16Array, rate = 8000): void => {
    pipeline.queueFrame(frames.ttsStarted(id, text));
    pipeline.queueFrame(frames.ttsAudio(id, audio, rate));
    pipeline.queueFrame(frames.ttsStopped(id));
  };

  it('plays utterances in order, zero-pads the last frame, and reports speaking edges once per run', () => {
    const { p, up, pipeline } = setup();
    say(pipeline, 'a', 'one', new Int16Array(200).fill(1));
    say(pipeline, 'b', 'two', new Int16Array(160).fill(2));
    const out = new Int16Array(160);
    expect(p.source.queuedFrames).toBe(3);
    expect(p.source.pull(out)).toBe(true);
    expect(out[0]).toBe(1);
    expect(p.source.pull(out)).toBe(true);
    expect([out[39], out[40]]).toEqual([1, 0]);
    expect(p.source.pull(out)).toBe(true);
    expect(out[0]).toBe(2);
    expect(p.source.pull(out)).toBe(false);
    expect(up.map((f) => f.kind)).toEqual(['bot-started-speaking', 'bot-stopped-speaking']);
    pipeline.close();
  });

  it('clear() drops queued audio, returns the frames dropped and reports the played portion', () => {
    const { p, up, pipeline } = setup();
    say(pipeline, 'a', 'alpha beta gamma delta', new Int16Array(1600));
    say(pipeline, 'b', 'next', new Int16Array(1600));
    const out = new Int16Array(160);
    for (let i = 0; i < 5; i++) p.source.pull(out);
    expect(p.source.clear()).toBe(15);
    expect(p.source.queuedFrames).toBe(0);
    expect(p.source.pull(out)).toBe(false);
    const cut = up.find((f) => f.kind === 'bot-interrupted');
    expect(cut).toMatchObject({ played: { utteranceId: 'a', playedMs: 100, totalMs: 200, playedText: 'alpha beta' }, droppedUtterances: 2 });
    pipeline.close();
  });

  it('resamples a 16 kHz utterance to 8 kHz once, at enqueue', () => {
    const { p, pipeline } = setup();
    const tone = new Int16Array(16000);
    for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 400 * i) / 16000));
    say(pipeline, 'a', 'tone', tone, 16000);
    expect(Math.abs(p.source.queuedFrames - 50)).toBeLessThanOrEqual(1);
    pipeline.close();
  });

  it('an utterance with after: hangup asks for it one frame after its last frame was pulled', () => {
    const { p, up, pipeline, clock } = setup();
    pipeline.queueFrame(frames.ttsStarted('g', 'bye', { after: { hangup: 'done' } }));
    pipeline.queueFrame(frames.ttsAudio('g', new Int16Array(320)));
    pipeline.queueFrame(frames.ttsStopped('g'));
    const out = new Int16Array(160);
    p.source.pull(out);
    p.source.pull(out);
    expect(up.some((f) => f.kind === 'hangup-request')).toBe(false);
    clock.advance(20);
    expect(up.filter((f) => f.kind === 'hangup-request')).toEqual([{ kind: 'hangup-request', tier: 'system', reason: 'done' }]);
    pipeline.close();
    expect(clock.pendingCount()).toBe(0);
  });

  it('textPortion cuts at whole words', () => {
    expect(textPortion('alpha beta gamma', 0)).toBe('');
    expect(textPortion('alpha beta gamma', 0.5)).toBe('alpha');
    expect(textPortion('alpha beta gamma', 0.7)).toBe('alpha beta');
    expect(textPortion('alpha beta gamma', 1)).toBe('alpha beta gamma');
  });
});
