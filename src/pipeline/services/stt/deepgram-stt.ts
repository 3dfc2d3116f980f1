import WebSocket from 'ws';
import { ulawEncode } from '../../../codec/index.js';
import { systemClock, type Clock, type TimerHandle } from '../../../shared/index.js';
import { ServiceError } from '../service-error.js';
import type { SttService, SttSession, SttSessionOptions } from './stt.js';
import { closeWebSocket, connectWebSocket, rawDataText } from '../websocket.js';

/**
 * Deepgram streaming STT over a WebSocket (https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming):
 * `GET /v1/listen?encoding=mulaw&sample_rate=8000&channels=1&interim_results=true&endpointing=…`
 * with `Authorization: Token KEY`; the caller's audio goes up as binary μ-law frames; `Results`
 * messages come back (`is_final`, `speech_final`, `channel.alternatives[0].transcript`). At the end
 * of a turn we send `{"type":"Finalize"}`: Deepgram flushes what it holds and marks that result
 * `from_finalize: true`, which completes the turn. `{"type":"CloseStream"}` ends the session.
 */
export interface DeepgramSttOptions {
  readonly apiKey: string;
  /** Default wss://api.deepgram.com */
  readonly baseUrl?: string;
  readonly model?: string;
  readonly language?: string;
  /** Deepgram's own endpointing in ms (we end turns with our VAD and Finalize; this only helps interim results). */
  readonly endpointingMs?: number;
  readonly connectTimeoutMs?: number;
  /** How long a Finalize may take before the turn fails as stalled. */
  readonly finalizeTimeoutMs?: number;
  readonly clock?: Clock;
}

export const DEFAULT_DEEPGRAM_STT = {
  baseUrl: 'wss://api.deepgram.com',
  model: 'nova-2-phonecall',
  language: 'en-US',
  endpointingMs: 300,
  connectTimeoutMs: 5000,
  finalizeTimeoutMs: 3000,
} as const satisfies Omit<DeepgramSttOptions, 'apiKey'>;

interface DeepgramResults {
  readonly type?: string;
  readonly is_final?: boolean;
  readonly from_finalize?: boolean;
  readonly channel?: { readonly alternatives?: readonly { readonly transcript?: string }[] };
  readonly description?: string;
}

export class DeepgramStt implements SttService {
  readonly name = 'deepgram';
  readonly streaming = true;
  readonly options: Required<Omit<DeepgramSttOptions, 'clock'>>;
  private readonly clock: Clock;

  constructor(options: DeepgramSttOptions) {
    this.options = { ...DEFAULT_DEEPGRAM_STT, ...options };
    this.clock = options.clock ?? systemClock;
  }

  url(): string {
    const o = this.options;
    const q = new URLSearchParams({
      model: o.model,
      language: o.language,
      encoding: 'mulaw',
      sample_rate: '8000',
      channels: '1',
      interim_results: 'true',
      punctuate: 'true',
      endpointing: String(o.endpointingMs),
    });
    return `${o.baseUrl.replace(/\/$/, '')}/v1/listen?${q.toString()}`;
  }

  async open(options: SttSessionOptions = {}): Promise<SttSession> {
    const socket = await connectWebSocket(this.url(), {
      kind: 'stt',
      provider: this.name,
      headers: { Authorization: `Token ${this.options.apiKey}` },
      clock: this.clock,
      timeoutMs: this.options.connectTimeoutMs,
    });
    return new DeepgramSttSession(socket, this.clock, this.options.finalizeTimeoutMs, options);
  }
}

class DeepgramSttSession implements SttSession {
  private finals: string[] = [];
  private pending: { resolve: (t: string) => void; reject: (e: Error) => void; timer: TimerHandle } | null = null;
  private dead: ServiceError | null = null;
  private closing = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly clock: Clock,
    private readonly finalizeTimeoutMs: number,
    private readonly options: SttSessionOptions,
  ) {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(rawDataText(data));
    });
    socket.on('error', () => undefined); // followed by close
    socket.on('close', (code, reason) => {
      if (this.closing) return;
      this.dead = new ServiceError('stt', 'deepgram', `connection closed (${code} ${reason.toString()})`, code !== 1008 && code !== 4001, null);
      this.settle(this.dead);
    });
  }

  write(audio: Int16Array): void {
    if (this.dead !== null || this.socket.readyState !== WebSocket.OPEN) return;
    // ws queues the buffer it is given, so each frame gets its own 160 bytes
    const bytes = Buffer.allocUnsafe(audio.length);
    ulawEncode(audio, bytes);
    this.socket.send(bytes);
  }

  finishTurn(_turnAudio: Int16Array | null, signal?: AbortSignal): Promise<string> {
    if (this.dead !== null) return Promise.reject(this.dead);
    if (this.pending !== null) this.settle(new ServiceError('stt', 'deepgram', 'superseded by a newer turn', false));
    return new Promise<string>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.settle(new ServiceError('stt', 'deepgram', `no final result ${this.finalizeTimeoutMs} ms after Finalize`, true));
      }, this.finalizeTimeoutMs);
      this.pending = { resolve, reject, timer };
      signal?.addEventListener('abort', () => this.settle(new ServiceError('stt', 'deepgram', 'aborted', false)), { once: true });
      this.socket.send(JSON.stringify({ type: 'Finalize' }));
    });
  }

  private onMessage(text: string): void {
    let msg: DeepgramResults;
    try {
      msg = JSON.parse(text) as DeepgramResults;
    } catch {
      return;
    }
    if (msg.type === 'Error') {
      this.settle(new ServiceError('stt', 'deepgram', msg.description ?? 'error message', true));
      return;
    }
    if (msg.type !== 'Results') return;
    const transcript = msg.channel?.alternatives?.[0]?.transcript ?? '';
    if (msg.is_final === true) {
      if (transcript !== '') this.finals.push(transcript);
    } else if (transcript !== '') {
      this.options.onInterim?.([...this.finals, transcript].join(' '));
    }
    if (msg.from_finalize === true && this.pending !== null) {
      const text = this.finals.join(' ').trim();
      this.finals = [];
      this.settle(null, text);
    }
  }

  private settle(err: ServiceError | null, text = ''): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    p.timer.cancel();
    if (err !== null) {
      this.finals = [];
      p.reject(err);
    } else {
      p.resolve(text);
    }
  }

  close(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.closing = true;
    this.settle(new ServiceError('stt', 'deepgram', 'session closed', false));
    return closeWebSocket(this.socket, JSON.stringify({ type: 'CloseStream' }));
  }
}
