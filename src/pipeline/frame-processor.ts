import type { Clock, Logger } from '../shared/index.js';
import type { BotEvent } from './events.js';
import { frames, retainFrame, type Frame, type FrameDirection } from './frames.js';
import type { TurnTimeline } from './turn-timeline.js';

/** What the pipeline lends each processor at setup. */
export interface ProcessorContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeline: TurnTimeline;
  /** Reports an event to the bot's listeners (a throwing listener is caught and logged). */
  emit(event: BotEvent): void;
  /** A fresh id for a bot utterance, unique within the pipeline. */
  nextUtteranceId(): string;
}

/** Anything that accepts frames: a processor or one of the pipeline's two ends. */
export interface FrameSink {
  queueFrame(frame: Frame, direction: FrameDirection): void;
}

interface QueuedFrame {
  readonly frame: Frame;
  readonly direction: FrameDirection;
}

/**
 * One stage of a pipeline (pipecat's FrameProcessor). Subclasses implement `processFrame` and call
 * `pushFrame` to pass frames on (a frame not pushed stops here).
 *
 * Scheduling, synchronous by default so a 20 ms audio frame costs no promise or allocation:
 * - a system frame is processed at once, even while the processor is busy with an earlier frame;
 *   an interruption also drops every data/control frame still queued here;
 * - a data/control frame is processed at once unless the processor is busy, i.e. a previous
 *   `processFrame` returned a promise that has not settled (TTS, LLM): then it is queued (the
 *   reused input audio frame is copied) and processed in order when the promise settles;
 * - frames pushed from an async step that an interruption overtook are dropped, so a synthesis
 *   that finishes after a barge-in never reaches the playout.
 *
 * A processFrame that awaits on a frame it was given keeps it past the call, so it must copy the
 * reused input audio frame first (`retainFrame`); frames queued here are copied by the base class.
 *
 * A processFrame that throws (or whose promise rejects) is caught, logged and reported as an
 * `error` frame upstream; the pipeline goes on.
 */
export abstract class FrameProcessor implements FrameSink {
  private next: FrameSink | null = null;
  private prev: FrameSink | null = null;
  private context: ProcessorContext | null = null;
  private readonly queue: QueuedFrame[] = [];
  private busy = false;
  private epoch = 0;
  private busyEpoch = 0;
  private syncDepth = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly name: string) {}

  /** Called by the pipeline before the start frame. */
  setup(context: ProcessorContext, prev: FrameSink, next: FrameSink): void {
    this.context = context;
    this.prev = prev;
    this.next = next;
  }

  /** Releases timers and native resources; idempotent. Subclasses extend it. */
  cleanup(): void {
    this.queue.length = 0;
  }

  protected get ctx(): ProcessorContext {
    if (this.context === null) throw new Error(`${this.name}: used before setup`);
    return this.context;
  }

  protected abstract processFrame(frame: Frame, direction: FrameDirection): void | Promise<void>;

  queueFrame(frame: Frame, direction: FrameDirection): void {
    if (frame.tier === 'system') {
      if (frame.kind === 'interruption') {
        this.epoch++;
        this.queue.length = 0;
      }
      // never queued; an async system handler runs beside whatever is in progress
      void this.invoke(frame, direction);
      return;
    }
    if (this.busy || this.queue.length > 0) {
      this.queue.push({ frame: retainFrame(frame), direction });
      return;
    }
    this.run(frame, direction);
  }

  /** Sends a frame to the next processor downstream or the previous one upstream. */
  protected pushFrame(frame: Frame, direction: FrameDirection = 'downstream'): void {
    if (frame.tier !== 'system' && this.syncDepth === 0 && this.busy && this.busyEpoch !== this.epoch) return;
    const target = direction === 'downstream' ? this.next : this.prev;
    target?.queueFrame(frame, direction);
  }

  /** Resolves when nothing is queued or in progress here (tests, orderly shutdown). */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get isIdle(): boolean {
    return !this.busy && this.queue.length === 0;
  }

  /** Data/control frames waiting behind an async step. */
  get queuedCount(): number {
    return this.queue.length;
  }

  private run(frame: Frame, direction: FrameDirection): void {
    const pending = this.invoke(frame, direction);
    if (pending === undefined) return;
    this.busy = true;
    this.busyEpoch = this.epoch;
    void pending.then(() => {
      this.busy = false;
      this.drain();
    });
  }

  private drain(): void {
    while (!this.busy) {
      const item = this.queue.shift();
      if (item === undefined) break;
      this.run(item.frame, item.direction);
    }
    if (!this.busy && this.queue.length === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Runs processFrame, catching errors; returns a promise that never rejects if it went async. */
  private invoke(frame: Frame, direction: FrameDirection): Promise<void> | undefined {
    this.syncDepth++;
    try {
      const result = this.processFrame(frame, direction);
      if (!(result instanceof Promise)) return undefined;
      return result.catch((err: unknown) => {
        this.reportError(frame, err);
      });
    } catch (err) {
      this.reportError(frame, err);
      return undefined;
    } finally {
      this.syncDepth--;
    }
  }

  private reportError(frame: Frame, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const context = this.context;
    if (context !== null) {
      context.logger.error({ processor: this.name, frame: frame.kind, err }, 'frame processor failed');
      context.emit({ type: 'error', processor: this.name, message });
    }
    if (frame.kind !== 'error') this.prev?.queueFrame(frames.error(this.name, message), 'upstream');
  }
}

/** Passes every frame on unchanged; the base for processors that only watch. */
export class PassThroughProcessor extends FrameProcessor {
  protected processFrame(frame: Frame, direction: FrameDirection): void {
    this.pushFrame(frame, direction);
  }
}
