import { FrameProcessor } from './frame-processor.js';
import type { TtsEngine } from './flite-tts.js';
import type { Frame, FrameDirection, SpeakFrame } from './frames.js';
import type { PromptCache } from './prompt-cache.js';

/**
 * Turns speak frames into tts-started / tts-audio / tts-stopped. A prompt in the cache goes out in
 * the same call (no await, no copy); anything else is synthesized asynchronously — later frames
 * queue behind it in order, and an interruption during synthesis discards the result.
 */
export class TtsProcessor extends FrameProcessor {
  constructor(
    private readonly engine: TtsEngine,
    private readonly cache: PromptCache | null = null,
  ) {
    super('tts');
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void | Promise<void> {
    if (frame.kind !== 'speak' || direction !== 'downstream') {
      this.pushFrame(frame, direction);
      return undefined;
    }
    this.ctx.timeline.mark('speak');
    const id = this.ctx.nextUtteranceId();
    const cached = this.cache?.peek(frame.text);
    if (cached !== undefined) {
      this.emitUtterance(frame, id, cached.audio, cached.sampleRate);
      return undefined;
    }
    return this.synthesize(frame, id);
  }

  private async synthesize(frame: SpeakFrame, id: string): Promise<void> {
    const startedAt = this.ctx.clock.now();
    const out = await this.engine.synthesize(frame.text);
    this.ctx.logger.debug({ utteranceId: id, engine: this.engine.name, ms: this.ctx.clock.now() - startedAt }, 'synthesized');
    this.ctx.timeline.mark('tts-done');
    this.emitUtterance(frame, id, out.audio, out.sampleRate);
  }

  private emitUtterance(frame: SpeakFrame, id: string, audio: Int16Array, sampleRate: number): void {
    this.pushFrame({ kind: 'tts-started', tier: 'control', utteranceId: id, text: frame.text, allowInterruptions: frame.allowInterruptions, after: frame.after });
    this.pushFrame({ kind: 'tts-audio', tier: 'data', utteranceId: id, audio, sampleRate });
    this.pushFrame({ kind: 'tts-stopped', tier: 'control', utteranceId: id });
  }
}
