import { FakeClock, silentLogger, type Logger } from '../shared/index.js';
import type { BotEvent } from './events.js';
import type { FrameProcessor } from './frame-processor.js';
import { retainFrame, type Frame, type FrameDirection, type FrameKind } from './frames.js';
import { Pipeline } from './pipeline.js';

/** A frame to send, or a pause that moves the fake clock (pipecat's SleepFrame). */
export type TestInput = Frame | { readonly advanceMs: number } | { readonly direction: FrameDirection; readonly frame: Frame };

/** An expected frame: its kind, or a predicate for a closer look. */
export type FrameExpectation = FrameKind | ((frame: Frame) => boolean);

export interface ProcessorTestOptions {
  readonly framesIn: readonly TestInput[];
  readonly expectedDown?: readonly FrameExpectation[];
  readonly expectedUp?: readonly FrameExpectation[];
  /** Direction of the frames in `framesIn` without an explicit one (default downstream). */
  readonly direction?: FrameDirection;
  /** Kinds left out of the comparison; default start, end and input-audio. */
  readonly ignore?: readonly FrameKind[];
  readonly clock?: FakeClock;
  readonly logger?: Logger;
  /** Send a start frame first (default true); an end frame follows the inputs when started. */
  readonly sendStart?: boolean;
}

export interface ProcessorTestResult {
  readonly down: Frame[];
  readonly up: Frame[];
  readonly events: BotEvent[];
  readonly clock: FakeClock;
}

function matches(frame: Frame, expected: FrameExpectation): boolean {
  return typeof expected === 'string' ? frame.kind === expected : expected(frame);
}

function describe(list: readonly FrameExpectation[]): string {
  return `[${list.map((e) => (typeof e === 'string' ? e : `<${e.name || 'predicate'}>`)).join(', ')}]`;
}

function check(label: string, got: readonly Frame[], expected: readonly FrameExpectation[] | undefined): void {
  if (expected === undefined) return;
  const ok = got.length === expected.length && expected.every((e, i) => matches(got[i]!, e));
  if (!ok) {
    throw new Error(`${label}: expected ${describe(expected)}, got [${got.map((f) => f.kind).join(', ')}]`);
  }
}

/**
 * pipecat's run_test: runs one processor inside a pipeline with both ends captured, sends
 * `framesIn` (advancing the fake clock where asked), waits until async work has drained, and
 * checks the frames that came out downstream and upstream, in order. Throws with both lists on a
 * mismatch; returns the captured frames (copied, so reused audio buffers stay inspectable) and
 * the events the processor emitted.
 */
export async function runProcessorTest(processor: FrameProcessor, options: ProcessorTestOptions): Promise<ProcessorTestResult> {
  const clock = options.clock ?? new FakeClock();
  const ignore = new Set<FrameKind>(options.ignore ?? ['start', 'end', 'input-audio']);
  const down: Frame[] = [];
  const up: Frame[] = [];
  const events: BotEvent[] = [];
  const pipeline = new Pipeline([processor], {
    clock,
    logger: options.logger ?? silentLogger(),
    onDownstream: (f) => {
      if (!ignore.has(f.kind)) down.push(retainFrame(f));
    },
    onUpstream: (f) => {
      if (!ignore.has(f.kind)) up.push(retainFrame(f));
    },
    onEvent: (e) => events.push(e),
  });
  if (options.sendStart ?? true) pipeline.start();
  for (const item of options.framesIn) {
    if ('advanceMs' in item) {
      clock.advance(item.advanceMs);
      await pipeline.idle();
    } else if ('frame' in item) {
      pipeline.queueFrame(item.frame, item.direction);
    } else {
      pipeline.queueFrame(item, options.direction ?? 'downstream');
    }
  }
  await pipeline.idle();
  pipeline.close('test'); // sends the end frame when started, then cleans the processor up
  check('downstream', down, options.expectedDown);
  check('upstream', up, options.expectedUp);
  return { down, up, events, clock };
}
