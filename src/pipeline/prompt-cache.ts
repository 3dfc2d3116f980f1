import type { Logger } from '../shared/index.js';
import type { TtsAudio, TtsEngine } from './flite-tts.js';

/**
 * Fixed prompts synthesized once per process and shared by every call (the audio is never
 * modified: the playout reads it in place). `peek()` answers synchronously so a cached prompt
 * reaches the playout in the same tick it was asked for.
 */
export class PromptCache {
  private readonly ready = new Map<string, TtsAudio>();
  private readonly inflight = new Map<string, Promise<TtsAudio>>();
  private firstLogged = false;

  constructor(
    readonly engine: TtsEngine,
    private readonly logger?: Logger,
  ) {}

  peek(text: string): TtsAudio | undefined {
    return this.ready.get(text);
  }

  get(text: string): Promise<TtsAudio> {
    const done = this.ready.get(text);
    if (done !== undefined) return Promise.resolve(done);
    let p = this.inflight.get(text);
    if (p === undefined) {
      const startedAt = performance.now();
      p = this.engine.synthesize(text).then(
        (audio) => {
          this.ready.set(text, audio);
          this.inflight.delete(text);
          if (!this.firstLogged) {
            this.firstLogged = true;
            this.logger?.info({ engine: this.engine.name, ms: Math.round(performance.now() - startedAt), chars: text.length }, 'first prompt synthesized');
          }
          return audio;
        },
        (err: unknown) => {
          this.inflight.delete(text);
          throw err;
        },
      );
      this.inflight.set(text, p);
    }
    return p;
  }

  /** Synthesizes every prompt not cached yet; resolves when all are ready. */
  async warm(texts: readonly string[]): Promise<void> {
    await Promise.all(texts.map((t) => this.get(t)));
  }

  get size(): number {
    return this.ready.size;
  }
}
