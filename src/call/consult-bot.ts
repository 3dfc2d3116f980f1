import {
  FliteTts,
  FrameProcessor,
  PipelineBot,
  PlayoutProcessor,
  PromptCache,
  TtsProcessor,
  frames,
  type BotContext,
  type Frame,
  type FrameDirection,
  type TtsEngine,
} from '../pipeline/index.js';

/** On start, speaks the summary once (no barge-in: the person answering hears it whole). */
class SummaryProcessor extends FrameProcessor {
  constructor(private readonly summary: string | null) {
    super('consult-summary');
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    this.pushFrame(frame, direction);
    if (direction === 'downstream' && frame.kind === 'start' && this.summary !== null) {
      this.pushFrame(frames.speak(this.summary, { allowInterruptions: false }));
    }
  }
}

/**
 * The bot on the consult leg of an attended transfer (RFC 5589 §7): it speaks the optional
 * summary to the person who answers, then stays quiet until the transfer completes (REFER with
 * Replaces, or the bridge, which takes the leg's media away from it). The summary is synthesized
 * in prepare(), before the consult INVITE leaves, with an offline engine (flite by default) into
 * a cache of its own — a per-call text must not grow the process-wide prompt cache.
 * `spoken` resolves once the summary has been played out (at once when there is none).
 */
export class ConsultBot extends PipelineBot {
  readonly spoken: Promise<void>;
  private readonly cache: PromptCache;

  constructor(
    context: BotContext,
    private readonly summary: string | null,
    engine: TtsEngine = FliteTts.shared(),
  ) {
    const cache = new PromptCache(engine, context.logger);
    const playout = new PlayoutProcessor();
    super(context, [new SummaryProcessor(summary), new TtsProcessor(engine, cache), playout], playout.source);
    this.cache = cache;
    this.spoken =
      summary === null
        ? Promise.resolve()
        : new Promise((resolve) => {
            this.events.add((e) => {
              if (e.type === 'utterance-played' && e.played.text === summary) resolve();
            });
          });
  }

  async prepare(): Promise<void> {
    if (this.summary !== null) await this.cache.get(this.summary);
  }
}
