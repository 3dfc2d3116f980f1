import OpenAI, { toFile } from 'openai';
import { encodeWav } from '../../wav.js';
import { ServiceError } from '../service-error.js';
import type { SttService, SttSession } from './stt.js';

/**
 * An OpenAI-compatible transcription endpoint (`POST {baseUrl}/audio/transcriptions`, multipart
 * with `file` and `model`, answer `{"text": …}`): OpenAI, or a local whisper.cpp / faster-whisper
 * server. Batch: the turn's captured audio is sent as an 8 kHz WAV when the turn ends.
 */
export interface OpenAiSttOptions {
  readonly apiKey?: string;
  /** Default https://api.openai.com/v1 */
  readonly baseUrl?: string;
  readonly model?: string;
  readonly language?: string;
  readonly timeoutMs?: number;
}

export const DEFAULT_OPENAI_STT = { model: 'whisper-1', timeoutMs: 15_000 } as const satisfies OpenAiSttOptions;

export class OpenAiStt implements SttService {
  readonly name = 'openai';
  readonly streaming = false;
  private readonly client: OpenAI;
  private readonly model: string;

  constructor(private readonly options: OpenAiSttOptions = {}) {
    this.model = options.model ?? DEFAULT_OPENAI_STT.model;
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'not-needed',
      ...(options.baseUrl !== undefined ? { baseURL: options.baseUrl } : {}),
      maxRetries: 0, // the agent's policy retries
      timeout: options.timeoutMs ?? DEFAULT_OPENAI_STT.timeoutMs,
    });
  }

  async transcribe(audio: Int16Array, sampleRate: number, signal?: AbortSignal): Promise<string> {
    try {
      const file = await toFile(encodeWav(audio, sampleRate), 'turn.wav', { type: 'audio/wav' });
      const res = await this.client.audio.transcriptions.create(
        { file, model: this.model, ...(this.options.language !== undefined ? { language: this.options.language } : {}) },
        signal !== undefined ? { signal } : {},
      );
      return res.text.trim();
    } catch (err) {
      throw ServiceError.from('stt', this.name, err);
    }
  }

  open(): Promise<SttSession> {
    return Promise.resolve({
      write: () => undefined,
      finishTurn: (turnAudio, signal) => (turnAudio === null || turnAudio.length === 0 ? Promise.resolve('') : this.transcribe(turnAudio, 8000, signal)),
      close: () => Promise.resolve(),
    });
  }
}
