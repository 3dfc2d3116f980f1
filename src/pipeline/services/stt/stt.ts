/**
 * Speech-to-text, one interface for every provider (agents-js: one interface per kind).
 *
 * A session lives for one call. Streaming providers (Deepgram) hear the caller live through
 * `write()` and are asked to finalize when the turn ends; batch providers (an OpenAI-compatible
 * transcription endpoint, pocketsphinx) ignore `write()` and transcribe the turn's captured audio
 * handed to `finishTurn()`. Failures are ServiceError with `retryable`.
 */
export interface SttSessionOptions {
  /** Partial results while the caller speaks (streaming providers only). */
  readonly onInterim?: (text: string) => void;
}

export interface SttSession {
  /** One caller frame, 8 kHz 16-bit; a reused buffer, copied if kept. */
  write(audio: Int16Array): void;
  /**
   * The caller's turn ended: resolves with the turn's final transcript ('' when nothing was
   * recognised). `turnAudio` is the turn's captured 8 kHz audio (with pre-roll) for batch providers.
   */
  finishTurn(turnAudio: Int16Array | null, signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

export interface SttService {
  readonly name: string;
  /** true: needs live audio through write(); false: transcribes the captured turn audio. */
  readonly streaming: boolean;
  open(options?: SttSessionOptions): Promise<SttSession>;
  /** Releases what the service holds beyond its sessions (temp files); idempotent. */
  close?(): void | Promise<void>;
}
