import type { Clock } from '../../../shared/index.js';
import { FrameProcessor } from '../../frame-processor.js';
import { frames, type Frame, type FrameDirection, type SpeakFrame } from '../../frames.js';
import { ServiceError } from '../../services/service-error.js';
import type { TtsService } from '../../services/tts/tts.js';
import { guardStream } from './guard-stream.js';

/**
 * Streaming TTS in the pipeline: each speak frame (one sentence or clause) becomes an utterance
 * whose audio chunks go to the playout as the provider produces them (`tts-first-audio` on the turn
 * timeline at the first one). Sentences are synthesized one after another, in order; an
 * interruption aborts the synthesis in progress (its late chunks are dropped by the frame
 * processor's epoch check). A retryable failure before any audio of the sentence is retried; other
 * failures go to `onFatal`, and the sentence is dropped.
 */
export class StreamingTtsProcessor extends FrameProcessor {
  private controller: AbortController | null = null;
  private interruptions = 0;

  constructor(
    private readonly tts: TtsService,
    private readonly options: { readonly retries: number; readonly stallMs: number; readonly clock: Clock },
    private readonly onFatal: (err: ServiceError) => void,
  ) {
    super('streaming-tts');
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void | Promise<void> {
    if (frame.kind === 'interruption' || frame.kind === 'end') {
      this.interruptions++;
      this.controller?.abort();
      this.controller = null;
    }
    if (frame.kind !== 'speak' || direction !== 'downstream') {
      this.pushFrame(frame, direction);
      return undefined;
    }
    return this.speak(frame);
  }

  private async speak(frame: SpeakFrame): Promise<void> {
    const id = this.ctx.nextUtteranceId();
    const epoch = this.interruptions;
    this.ctx.timeline.mark('speak');
    let started = false;
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      this.controller = controller;
      try {
        const stream = guardStream(this.tts.synthesize(frame.text, controller.signal), this.options.clock, this.options.stallMs, 'tts', this.tts.name, () => controller.abort());
        for await (const audio of stream) {
          if (epoch !== this.interruptions) return;
          if (!started) {
            started = true;
            this.ctx.timeline.mark('tts-first-audio');
            this.pushFrame({ kind: 'tts-started', tier: 'control', utteranceId: id, text: frame.text, allowInterruptions: frame.allowInterruptions, after: frame.after });
          }
          this.pushFrame({ kind: 'tts-audio', tier: 'data', utteranceId: id, audio, sampleRate: this.tts.sampleRate });
        }
        break;
      } catch (err) {
        if (epoch !== this.interruptions) return; // cut off by barge-in: not a failure
        const e = ServiceError.from('tts', this.tts.name, err);
        if (e.retryable && !started && attempt < this.options.retries) {
          this.ctx.logger.warn({ err: e.message, attempt: attempt + 1 }, 'tts failed; retrying');
          continue;
        }
        if (started) this.pushFrame({ kind: 'tts-stopped', tier: 'control', utteranceId: id });
        this.onFatal(e);
        return;
      } finally {
        if (this.controller === controller) this.controller = null;
      }
    }
    if (epoch !== this.interruptions) return;
    if (started) {
      this.pushFrame({ kind: 'tts-stopped', tier: 'control', utteranceId: id });
    } else if (frame.after !== null) {
      // no audio came back: still carry out the hangup/transfer the sentence was to precede
      this.pushFrame('hangup' in frame.after ? frames.hangup(frame.after.hangup) : frames.transfer(frame.after.transfer), 'upstream');
    }
  }

  override cleanup(): void {
    super.cleanup();
    this.controller?.abort();
    this.controller = null;
  }
}
