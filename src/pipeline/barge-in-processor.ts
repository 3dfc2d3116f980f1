import { FrameProcessor } from './frame-processor.js';
import type { Frame, FrameDirection } from './frames.js';

export interface BargeInOptions {
  readonly enabled: boolean;
  /**
   * Voiced caller audio (counted from the VAD's first voiced frame) needed before it cuts the bot.
   * At or below the VAD's start hangover the cut happens on the VAD onset itself.
   */
  readonly minSpeechMs: number;
}

export const DEFAULT_BARGE_IN_OPTIONS = { enabled: true, minSpeechMs: 0 } as const satisfies BargeInOptions;

/**
 * Barge-in policy: while the bot speaks an interruptible utterance, caller speech sends an
 * interruption downstream. It is a system frame, handled in the same call stack as the audio frame
 * that completed the onset, so the playout is cleared within that 20 ms frame. Sits after the VAD;
 * learns the bot's speaking state from the playout's upstream speaking edges.
 */
export class BargeInProcessor extends FrameProcessor {
  readonly options: BargeInOptions;
  private botSpeaking = false;
  private interruptible = true;
  private userSpeaking = false;
  private voicedMs = 0;
  private fired = false;

  constructor(options: Partial<BargeInOptions> = {}) {
    super('barge-in');
    this.options = { ...DEFAULT_BARGE_IN_OPTIONS, ...options };
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    switch (frame.kind) {
      case 'bot-started-speaking':
        this.botSpeaking = true;
        this.interruptible = frame.allowInterruptions;
        this.fired = false;
        break;
      case 'bot-stopped-speaking':
        this.botSpeaking = false;
        break;
      case 'user-started-speaking':
        this.pushFrame(frame, direction);
        this.userSpeaking = true;
        this.fired = false;
        this.voicedMs = frame.mediaMs - frame.speechStartMs;
        this.consider();
        return;
      case 'user-stopped-speaking':
        this.userSpeaking = false;
        break;
      case 'input-audio':
        if (this.userSpeaking && frame.voiced === true) {
          this.voicedMs += (frame.audio.length * 1000) / frame.sampleRate;
          this.consider();
        }
        break;
      default:
        break;
    }
    this.pushFrame(frame, direction);
  }

  private consider(): void {
    if (this.fired || !this.options.enabled || !this.botSpeaking || !this.interruptible) return;
    if (this.voicedMs < this.options.minSpeechMs) return;
    this.fired = true;
    this.pushFrame({ kind: 'interruption', tier: 'system', reason: 'barge-in' });
  }
}
