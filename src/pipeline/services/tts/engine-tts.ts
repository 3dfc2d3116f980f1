import type { TtsEngine } from '../../flite-tts.js';
import type { TtsService } from './tts.js';

/**
 * A whole-utterance engine (offline flite) behind the streaming interface: one chunk per sentence.
 * With sentence chunking upstream the first sentence still plays while the next is synthesized.
 */
export class EngineTts implements TtsService {
  readonly name: string;

  constructor(
    private readonly engine: TtsEngine,
    readonly sampleRate: number,
  ) {
    this.name = engine.name;
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    const out = await this.engine.synthesize(text);
    if (signal.aborted) return;
    if (out.sampleRate !== this.sampleRate) throw new RangeError(`${this.name}: produced ${out.sampleRate} Hz, declared ${this.sampleRate} Hz`);
    yield out.audio;
  }
}
