import WebSocket from 'ws';
import { systemClock, type Clock } from '../../../shared/index.js';
import { ServiceError } from '../service-error.js';
import { Pcm16Assembler, type TtsService } from './tts.js';
import { closeWebSocket, connectWebSocket, rawDataBytes, rawDataText } from '../websocket.js';

/**
 * Deepgram Aura streaming TTS over one WebSocket per call
 * (https://developers.deepgram.com/docs/tts-websocket): `GET /v1/speak?model=…&encoding=linear16&sample_rate=8000`
 * with `Authorization: Token KEY`. Per sentence we send `{"type":"Speak","text":…}` then
 * `{"type":"Flush"}`; audio comes back as binary messages until `{"type":"Flushed"}`. On barge-in
 * `{"type":"Clear"}` drops Deepgram's buffers; audio still in flight is discarded until `Cleared`.
 * Asking for 8 kHz means no resampling at all.
 */
export interface DeepgramTtsOptions {
  readonly apiKey: string;
  readonly baseUrl?: string;
  readonly model?: string;
  readonly connectTimeoutMs?: number;
  readonly clock?: Clock;
}

export const DEFAULT_DEEPGRAM_TTS = { baseUrl: 'wss://api.deepgram.com', model: 'aura-asteria-en', connectTimeoutMs: 5000 } as const satisfies Omit<DeepgramTtsOptions, 'apiKey'>;

type Waiter = (item: { audio: Int16Array } | { done: true } | { error: ServiceError }) => void;

export class DeepgramTts implements TtsService {
  readonly name = 'deepgram';
  readonly sampleRate = 8000;
  private socket: WebSocket | null = null;
  private connecting: Promise<WebSocket> | null = null;
  private readonly clock: Clock;
  private readonly options: Required<Omit<DeepgramTtsOptions, 'clock'>>;
  /** Audio of the current request, not yet consumed. */
  private readonly queue: ({ audio: Int16Array } | { done: true } | { error: ServiceError })[] = [];
  private waiter: Waiter | null = null;
  /** Between a Clear and its Cleared: audio arriving belongs to the abandoned request. */
  private discarding = false;
  private closed = false;

  constructor(options: DeepgramTtsOptions) {
    this.options = { ...DEFAULT_DEEPGRAM_TTS, ...options };
    this.clock = options.clock ?? systemClock;
  }

  url(): string {
    const q = new URLSearchParams({ model: this.options.model, encoding: 'linear16', sample_rate: '8000' });
    return `${this.options.baseUrl.replace(/\/$/, '')}/v1/speak?${q.toString()}`;
  }

  private connect(): Promise<WebSocket> {
    if (this.socket !== null && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.connecting ??= connectWebSocket(this.url(), {
      kind: 'tts',
      provider: this.name,
      headers: { Authorization: `Token ${this.options.apiKey}` },
      clock: this.clock,
      timeoutMs: this.options.connectTimeoutMs,
    }).then(
      (socket) => {
        this.connecting = null;
        this.socket = socket;
        const pcm = new Pcm16Assembler();
        socket.on('message', (data, isBinary) => {
          if (isBinary) {
            if (!this.discarding) this.deliver({ audio: pcm.push(rawDataBytes(data)) });
            return;
          }
          let msg: { type?: string; description?: string };
          try {
            msg = JSON.parse(rawDataText(data)) as { type?: string };
          } catch {
            return;
          }
          if (msg.type === 'Flushed' && !this.discarding) this.deliver({ done: true });
          else if (msg.type === 'Cleared') this.discarding = false;
          else if (msg.type === 'Error') this.deliver({ error: new ServiceError('tts', this.name, msg.description ?? 'error message', true) });
        });
        socket.on('error', () => undefined);
        socket.on('close', (code) => {
          if (this.socket === socket) this.socket = null;
          this.discarding = false;
          this.deliver({ error: new ServiceError('tts', this.name, `connection closed (${code})`, true) });
        });
        return socket;
      },
      (err: unknown) => {
        this.connecting = null;
        throw err;
      },
    );
    return this.connecting;
  }

  private deliver(item: { audio: Int16Array } | { done: true } | { error: ServiceError }): void {
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(item);
    } else {
      this.queue.push(item);
    }
  }

  private next(): Promise<{ audio: Int16Array } | { done: true } | { error: ServiceError }> {
    const item = this.queue.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    if (this.closed) throw new ServiceError('tts', this.name, 'closed', false);
    const socket = await this.connect();
    this.queue.length = 0;
    const onAbort = (): void => {
      // drop Deepgram's pending audio and wake the reader
      this.discarding = true;
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'Clear' }));
      this.deliver({ error: new ServiceError('tts', this.name, 'aborted', false) });
    };
    if (signal.aborted) return;
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      socket.send(JSON.stringify({ type: 'Speak', text }));
      socket.send(JSON.stringify({ type: 'Flush' }));
      for (;;) {
        const item = await this.next();
        if ('audio' in item) {
          if (item.audio.length > 0) yield item.audio;
        } else if ('done' in item) {
          return;
        } else {
          if (signal.aborted) return;
          throw item.error;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    await closeWebSocket(socket, JSON.stringify({ type: 'Close' }));
  }
}

