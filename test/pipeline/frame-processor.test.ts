import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock, silentLogger, type Logger } from '../../src/shared/index.js';
import { FrameProcessor, PassThroughProcessor, Pipeline, frames, retainFrame, runProcessorTest, type Frame, type FrameDirection } from '../../src/pipeline/index.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Takes a macrotask per data frame (like a TTS or LLM call), passes system frames at once. */
class SlowProcessor extends FrameProcessor {
  constructor() {
    super('slow');
  }
  protected processFrame(frame: Frame, direction: FrameDirection): void | Promise<void> {
    if (frame.tier === 'system') {
      this.pushFrame(frame, direction);
      return undefined;
    }
    // awaiting on a frame means keeping it past this call: the reused input audio must be copied
    const kept = retainFrame(frame);
    return tick().then(() => this.pushFrame(kept, direction));
  }
}

class ThrowingProcessor extends FrameProcessor {
  constructor() {
    super('thrower');
  }
  protected processFrame(frame: Frame, direction: FrameDirection): void | Promise<void> {
    if (frame.kind === 'text' && frame.text === 'boom') throw new Error('boom on purpose');
    if (frame.kind === 'text' && frame.text === 'reject') return Promise.reject(new Error('async boom'));
    this.pushFrame(frame, direction);
    return undefined;
  }
}

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const textIs = (t: string) => (f: Frame) => f.kind === 'text' && f.text === t;
const audioAt = (ms: number) => (f: Frame) => f.kind === 'input-audio' && f.mediaMs === ms;

describe('FrameProcessor scheduling (pipecat tiers)', () => {
  it('passes frames through in order', async () => {
    await runProcessorTest(new PassThroughProcessor('pass'), {
      framesIn: [frames.text('a'), frames.dtmf('5'), frames.text('b')],
      expectedDown: [textIs('a'), 'dtmf', textIs('b')],
      expectedUp: [],
    });
  });

  it('system frames overtake data frames queued behind a busy processor', async () => {
    const a = new Int16Array(160).fill(1);
    const { down } = await runProcessorTest(new SlowProcessor(), {
      framesIn: [frames.inputAudio(a, 8000, 0), frames.inputAudio(a, 8000, 20), frames.dtmf('1'), frames.inputAudio(a, 8000, 40)],
      ignore: ['start', 'end'],
      expectedDown: ['dtmf', audioAt(0), audioAt(20), audioAt(40)],
    });
    // queued audio was copied, so the reused buffer does not leak into it
    a.fill(9);
    expect(down[1]!.kind === 'input-audio' && down[1].audio[0]).toBe(1);
  });

  it('audio pushed through one reused buffer keeps each frame\'s samples while queued', async () => {
    const out: number[] = [];
    const pipeline = new Pipeline([new SlowProcessor()], {
      clock: new FakeClock(),
      logger: silentLogger(),
      onDownstream: (f) => {
        if (f.kind === 'input-audio') out.push(f.audio[0]!, f.mediaMs);
      },
    });
    pipeline.start();
    const buf = new Int16Array(160);
    for (let i = 1; i <= 3; i++) pipeline.pushAudio(buf.fill(i));
    await pipeline.idle();
    pipeline.close();
    expect(out).toEqual([1, 0, 2, 20, 3, 40]);
  });

  it('an interruption drops queued data frames and the output of the step in progress', async () => {
    await runProcessorTest(new SlowProcessor(), {
      framesIn: [frames.text('a'), frames.text('b'), frames.text('c'), frames.interruption('test'), frames.text('d')],
      expectedDown: ['interruption', textIs('d')],
    });
  });

  it('a processor that throws is logged, reported upstream, and the pipeline goes on', async () => {
    const { logger, lines } = capturingLogger();
    const { events } = await runProcessorTest(new ThrowingProcessor(), {
      logger,
      framesIn: [frames.text('ok1'), frames.text('boom'), frames.text('ok2'), frames.text('reject'), frames.text('ok3')],
      expectedDown: [textIs('ok1'), textIs('ok2'), textIs('ok3')],
      expectedUp: [(f) => f.kind === 'error' && f.message === 'boom on purpose', (f) => f.kind === 'error' && f.message === 'async boom'],
    });
    expect(events.filter((e) => e.type === 'error')).toHaveLength(2);
    const errs = lines.filter((l) => l.msg === 'frame processor failed');
    expect(errs).toHaveLength(2);
    expect(errs[0]).toMatchObject({ processor: 'thrower', frame: 'text' });
  });

  it('runProcessorTest fails when the frames differ from the expectation', async () => {
    await expect(
      runProcessorTest(new PassThroughProcessor('pass'), { framesIn: [frames.text('a')], expectedDown: ['dtmf'] }),
    ).rejects.toThrow(/downstream: expected \[dtmf\], got \[text\]/);
  });

  it('upstream frames leave at the head', async () => {
    await runProcessorTest(new PassThroughProcessor('pass'), {
      direction: 'upstream',
      framesIn: [frames.hangup('x')],
      expectedDown: [],
      expectedUp: ['hangup-request'],
    });
  });
});
