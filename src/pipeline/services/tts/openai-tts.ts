import OpenAI from 'openai';
import { ServiceError } from '../service-error.js';
import { Pcm16Assembler, type TtsService } from './tts.js';

/**
 * An OpenAI-compatible speech endpoint (`POST {baseUrl}/audio/speech` with `model`, `voice`,
 * `input`, `response_format: "pcm"`): the body streams raw 24 kHz 16-bit little-endian mono PCM,
 * read chunk by chunk as it arrives.
 */
export interface OpenAiTtsOptions {
  readonly apiKey?: string;
  readonly baseUrl?: string;
  readonly model?: string;
  readonly voice?: string;
  readonly timeoutMs?: number;
}

export const DEFAULT_OPENAI_TTS = { model: 'gpt-4o-mini-tts', voice: 'alloy', timeoutMs: 15_000 } as const satisfies OpenAiTtsOptions;

export class OpenAiTts implements TtsService {
  readonly name = 'openai';
  /** What `response_format: pcm` is defined to be. */
  readonly sampleRate = 24_000;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiTtsOptions = {}) {
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'not-needed',
      ...(options.baseUrl !== undefined ? { baseURL: options.baseUrl } : {}),
      maxRetries: 0,
      timeout: options.timeoutMs ?? DEFAULT_OPENAI_TTS.timeoutMs,
    });
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    let body: ReadableStream<Uint8Array> | null;
    try {
      const res = await this.client.audio.speech.create(
        { model: this.options.model ?? DEFAULT_OPENAI_TTS.model, voice: this.options.voice ?? DEFAULT_OPENAI_TTS.voice, input: text, response_format: 'pcm' },
        { signal },
      );
      body = res.body;
    } catch (err) {
      throw ServiceError.from('tts', this.name, err);
    }
    if (body === null) throw new ServiceError('tts', this.name, 'empty response body', true);
    const pcm = new Pcm16Assembler();
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const samples = pcm.push(value);
        if (samples.length > 0) yield samples;
      }
    } catch (err) {
      throw ServiceError.from('tts', this.name, err);
    } finally {
      reader.releaseLock();
      if (signal.aborted) void body.cancel().catch(() => undefined);
    }
  }
}
