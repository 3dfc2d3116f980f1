import type { TimerHandle } from '../shared/index.js';
import { FrameProcessor } from './frame-processor.js';
import { frames, type Frame, type FrameDirection } from './frames.js';

export interface MaxDurationOptions {
  readonly maxDurationMs: number;
  /** Said before hanging up (not interruptible); null hangs up at once. */
  readonly goodbyeText: string | null;
  readonly hangupReason: string;
}

export const DEFAULT_MAX_DURATION_OPTIONS = {
  maxDurationMs: 3_600_000,
  goodbyeText: 'This call has reached its time limit. Goodbye.',
  hangupReason: 'max-duration',
} as const satisfies MaxDurationOptions;

/**
 * Ends the call `maxDurationMs` after the start frame: interrupts whatever the bot says, says the
 * goodbye and hangs up once it was played (or at once without a goodbye).
 */
export class MaxDurationProcessor extends FrameProcessor {
  readonly options: MaxDurationOptions;
  private timer: TimerHandle | null = null;

  constructor(options: Partial<MaxDurationOptions> = {}) {
    super('max-duration');
    this.options = { ...DEFAULT_MAX_DURATION_OPTIONS, ...options };
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    if (frame.kind === 'start' && this.timer === null) {
      this.timer = this.ctx.clock.setTimeout(() => {
        this.timer = null;
        this.fire();
      }, this.options.maxDurationMs);
    } else if (frame.kind === 'end') {
      this.timer?.cancel();
      this.timer = null;
    }
    this.pushFrame(frame, direction);
  }

  private fire(): void {
    this.ctx.logger.info({ maxDurationMs: this.options.maxDurationMs }, 'maximum call duration reached');
    if (this.options.goodbyeText === null) {
      this.pushFrame(frames.hangup(this.options.hangupReason), 'upstream');
      return;
    }
    this.pushFrame(frames.interruption('max-duration'));
    this.pushFrame(frames.speak(this.options.goodbyeText, { allowInterruptions: false, after: { hangup: this.options.hangupReason } }));
  }

  override cleanup(): void {
    super.cleanup();
    this.timer?.cancel();
    this.timer = null;
  }
}
