import type { TimerHandle } from '../shared/index.js';
import { FrameProcessor } from './frame-processor.js';
import { frames, type Frame, type FrameDirection } from './frames.js';

export interface SilenceTimeoutOptions {
  /** Caller silence, counted while neither side speaks, before the bot reacts. */
  readonly timeoutMs: number;
  /** Said after the first timeout. */
  readonly repromptText: string;
  /** Said after the second; the call is hung up once it has been played. */
  readonly goodbyeText: string;
  readonly hangupReason: string;
}

export const DEFAULT_SILENCE_TIMEOUT_OPTIONS = {
  timeoutMs: 10_000,
  repromptText: 'Are you still there?',
  goodbyeText: 'I did not hear anything. Goodbye.',
  hangupReason: 'silence-timeout',
} as const satisfies SilenceTimeoutOptions;

/**
 * No caller speech for `timeoutMs` → re-prompt once; again → goodbye, then hang up after the
 * goodbye was played. The clock runs while nobody speaks: it starts at the start frame and when
 * the bot or the caller stops, and stops while either speaks. Caller speech or a DTMF digit
 * resets the count. Sits after the VAD; sends speak frames downstream towards the TTS.
 */
export class SilenceTimeoutProcessor extends FrameProcessor {
  readonly options: SilenceTimeoutOptions;
  private timer: TimerHandle | null = null;
  private count = 0;
  private botSpeaking = false;
  private userSpeaking = false;
  private done = false;

  constructor(options: Partial<SilenceTimeoutOptions> = {}) {
    super('silence-timeout');
    this.options = { ...DEFAULT_SILENCE_TIMEOUT_OPTIONS, ...options };
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    switch (frame.kind) {
      case 'start':
        this.arm();
        break;
      case 'bot-started-speaking':
        this.botSpeaking = true;
        this.disarm();
        break;
      case 'bot-stopped-speaking':
        this.botSpeaking = false;
        this.arm();
        break;
      case 'user-started-speaking':
        this.userSpeaking = true;
        this.count = 0;
        this.disarm();
        break;
      case 'user-stopped-speaking':
        this.userSpeaking = false;
        this.arm();
        break;
      case 'dtmf':
        this.count = 0;
        this.arm();
        break;
      case 'end':
        this.done = true;
        this.disarm();
        break;
      default:
        break;
    }
    this.pushFrame(frame, direction);
  }

  private arm(): void {
    this.disarm();
    if (this.done || this.botSpeaking || this.userSpeaking) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = null;
      this.fire();
    }, this.options.timeoutMs);
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private fire(): void {
    this.count++;
    this.ctx.emit({ type: 'silence-timeout', count: this.count });
    this.ctx.logger.info({ count: this.count }, 'caller silence timeout');
    if (this.count === 1) {
      this.pushFrame(frames.speak(this.options.repromptText));
      return;
    }
    this.done = true;
    this.pushFrame(frames.speak(this.options.goodbyeText, { allowInterruptions: false, after: { hangup: this.options.hangupReason } }));
  }

  override cleanup(): void {
    super.cleanup();
    this.done = true;
    this.disarm();
  }
}
