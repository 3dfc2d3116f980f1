import type { Clock, Logger } from '../shared/index.js';
import type { BotEvent } from './events.js';
import type { FrameProcessor, FrameSink, ProcessorContext } from './frame-processor.js';
import { frames, type Frame, type FrameDirection, type InputAudioFrame } from './frames.js';
import { TurnTimeline } from './turn-timeline.js';

export interface PipelineOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Frames that leave the last processor downstream. */
  readonly onDownstream?: (frame: Frame) => void;
  /** Frames that leave the first processor upstream (hangup/transfer requests, errors…). */
  readonly onUpstream?: (frame: Frame) => void;
  readonly onEvent?: (event: BotEvent) => void;
  /** Caller audio sample rate (8000 for G.711). */
  readonly inputSampleRate?: number;
}

class Edge implements FrameSink {
  constructor(private readonly deliver: ((frame: Frame) => void) | undefined) {}
  queueFrame(frame: Frame): void {
    this.deliver?.(frame);
  }
}

type PipelineState = 'idle' | 'started' | 'closed';

/**
 * A chain of processors with the caller's audio entering at the head and bot audio leaving at the
 * tail. Owns its processors: `close()` sends an end frame, cleans every processor up (timers,
 * native handles) and is idempotent.
 */
export class Pipeline {
  readonly timeline: TurnTimeline;
  private state: PipelineState = 'idle';
  private readonly head: FrameSink;
  private readonly inputFrame: InputAudioFrame;
  private utteranceSeq = 0;

  constructor(
    private readonly processors: readonly FrameProcessor[],
    private readonly options: PipelineOptions,
  ) {
    if (processors.length === 0) throw new RangeError('a pipeline needs at least one processor');
    const emit = (event: BotEvent): void => {
      try {
        options.onEvent?.(event);
      } catch (err) {
        options.logger.error({ err, event: event.type }, 'bot event listener threw');
      }
    };
    this.timeline = new TurnTimeline(options.clock, (metrics) => emit({ type: 'turn-metrics', metrics }));
    const context: ProcessorContext = {
      clock: options.clock,
      logger: options.logger,
      timeline: this.timeline,
      emit,
      nextUtteranceId: () => `u${++this.utteranceSeq}`,
    };
    const upstreamEnd = new Edge(options.onUpstream);
    const downstreamEnd = new Edge(options.onDownstream);
    processors.forEach((p, i) => {
      p.setup(context, processors[i - 1] ?? upstreamEnd, processors[i + 1] ?? downstreamEnd);
    });
    this.head = processors[0] ?? downstreamEnd;
    const rate = options.inputSampleRate ?? 8000;
    this.inputFrame = frames.inputAudio(new Int16Array(0), rate, 0);
  }

  get started(): boolean {
    return this.state === 'started';
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'started';
    this.head.queueFrame(frames.start(), 'downstream');
  }

  /**
   * One frame of caller audio (reused buffer, not copied here). Media time advances by the frame's
   * duration, so VAD and turn times are in caller-audio time, independent of tick jitter.
   */
  pushAudio(audio: Int16Array): void {
    if (this.state !== 'started') return;
    const f = this.inputFrame;
    f.audio = audio;
    f.voiced = null;
    this.head.queueFrame(f, 'downstream');
    f.mediaMs += (audio.length * 1000) / f.sampleRate;
  }

  /** Injects a frame at the head (downstream) or the tail (upstream). */
  queueFrame(frame: Frame, direction: FrameDirection = 'downstream'): void {
    if (this.state === 'closed') return;
    if (direction === 'downstream') this.head.queueFrame(frame, direction);
    else this.processors[this.processors.length - 1]?.queueFrame(frame, direction);
  }

  /** Resolves when no processor has queued or in-flight work. */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.all(this.processors.map((p) => p.idle()));
      // let continuations that push frames on run, then look again
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.processors.every((p) => p.isIdle)) return;
    }
  }

  /** Media time of the next caller audio frame. */
  get mediaMs(): number {
    return this.inputFrame.mediaMs;
  }

  close(reason = 'closed'): void {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    if (wasStarted) this.head.queueFrame(frames.end(reason), 'downstream');
    for (const p of this.processors) {
      try {
        p.cleanup();
      } catch (err) {
        this.options.logger.error({ err, processor: p.name }, 'processor cleanup failed');
      }
    }
  }
}
