import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { rawDataText } from '../../src/pipeline/services/websocket.js';

/**
 * A FAKE Deepgram for tests only, speaking the documented WebSocket protocols:
 * - `/v1/listen` (streaming STT): query parameters as sent, `Authorization: Token KEY`; binary
 *   audio frames in; `Results` messages out (`is_final`, `speech_final`, `from_finalize`,
 *   `channel.alternatives[0].transcript`); `{"type":"Finalize"}` flushes the current turn as a
 *   final result with `from_finalize: true`; `{"type":"CloseStream"}` ends with a `Metadata`
 *   message and a close.
 * - `/v1/speak` (Aura streaming TTS): `{"type":"Speak","text"}` buffers text, `{"type":"Flush"}`
 *   returns linear16 audio as binary messages and then `{"type":"Flushed","sequence_id"}`,
 *   `{"type":"Clear"}` → `{"type":"Cleared"}`, `{"type":"Close"}` closes.
 * A wrong key gets HTTP 401 on the upgrade, as Deepgram does.
 */
export interface FakeDeepgramOptions {
  readonly apiKey: string;
  /** Final transcripts handed out per Finalize, in order (then ''). */
  readonly transcripts?: string[];
  /** Interim result sent after this many audio frames of a turn (0: none). */
  readonly interimAfterFrames?: number;
  /** Ms of audio per character of text the TTS returns. */
  readonly ttsMsPerChar?: number;
}

export interface ListenSession {
  readonly socket: WebSocket;
  readonly query: URLSearchParams;
  audioBytes: number;
  finalizes: number;
  closeStreams: number;
}

export interface SpeakSession {
  readonly socket: WebSocket;
  readonly query: URLSearchParams;
  readonly spoken: string[];
  clears: number;
}

export class FakeDeepgram {
  readonly listens: ListenSession[] = [];
  readonly speaks: SpeakSession[] = [];
  /** Drop the listen socket (abnormal close) when it has received this many audio bytes. */
  dropListenAfterBytes: number | null = null;
  /** Do not answer the next Finalize (a stalled provider). */
  ignoreFinalize = false;
  /** Ms to wait before answering a Finalize / Flush (the fake's own latency). */
  replyDelayMs = 0;

  private constructor(
    private readonly server: WebSocketServer,
    readonly baseUrl: string,
    private readonly options: FakeDeepgramOptions,
  ) {
    server.on('connection', (socket, req) => this.onConnection(socket, req));
  }

  static async start(options: FakeDeepgramOptions): Promise<FakeDeepgram> {
    let fake: FakeDeepgram | null = null;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, message?: string) => void) => {
        const ok = info.req.headers.authorization === `Token ${fake?.options.apiKey ?? ''}`;
        cb(ok, ok ? undefined : 401, ok ? undefined : 'Unauthorized');
      },
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected address');
    fake = new FakeDeepgram(server, `ws://127.0.0.1:${addr.port}`, options);
    return fake;
  }

  private onConnection(socket: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v1/listen') this.listen(socket, url.searchParams);
    else if (url.pathname === '/v1/speak') this.speak(socket, url.searchParams);
    else socket.close(1008, 'unknown path');
  }

  private listen(socket: WebSocket, query: URLSearchParams): void {
    const s: ListenSession = { socket, query, audioBytes: 0, finalizes: 0, closeStreams: 0 };
    this.listens.push(s);
    let start = 0;
    let turnFrames = 0;
    const results = (transcript: string, isFinal: boolean, fromFinalize: boolean): string =>
      JSON.stringify({
        type: 'Results',
        channel_index: [0, 1],
        duration: 0.5,
        start,
        is_final: isFinal,
        speech_final: isFinal,
        ...(fromFinalize ? { from_finalize: true } : {}),
        channel: { alternatives: [{ transcript, confidence: 0.98, words: [] }] },
        metadata: { request_id: 'fake', model_info: { name: 'fake' } },
      });
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        s.audioBytes += (data as Buffer).length;
        turnFrames++;
        if (this.dropListenAfterBytes !== null && s.audioBytes >= this.dropListenAfterBytes) {
          this.dropListenAfterBytes = null;
          socket.terminate();
          return;
        }
        const interim = this.options.interimAfterFrames ?? 0;
        const next = this.options.transcripts?.[0];
        if (interim > 0 && turnFrames === interim && next !== undefined) socket.send(results(next.split(' ')[0] ?? '', false, false));
        return;
      }
      const msg = JSON.parse(rawDataText(data)) as { type?: string };
      if (msg.type === 'Finalize') {
        s.finalizes++;
        if (this.ignoreFinalize) {
          this.ignoreFinalize = false;
          return;
        }
        const text = this.options.transcripts?.shift() ?? '';
        turnFrames = 0;
        setTimeout(() => {
          socket.send(results(text, true, true));
          start += 1;
        }, this.replyDelayMs);
      } else if (msg.type === 'CloseStream') {
        s.closeStreams++;
        socket.send(JSON.stringify({ type: 'Metadata', request_id: 'fake', duration: s.audioBytes / 8000, channels: 1 }));
        socket.close(1000);
      }
    });
  }

  private speak(socket: WebSocket, query: URLSearchParams): void {
    const s: SpeakSession = { socket, query, spoken: [], clears: 0 };
    this.speaks.push(s);
    let pending = '';
    let seq = 0;
    const rate = Number(query.get('sample_rate') ?? '24000');
    socket.on('message', (data) => {
      const msg = JSON.parse(rawDataText(data)) as { type?: string; text?: string };
      if (msg.type === 'Speak') {
        pending += msg.text ?? '';
      } else if (msg.type === 'Flush') {
        const text = pending;
        pending = '';
        s.spoken.push(text);
        const ms = (this.options.ttsMsPerChar ?? 50) * text.length;
        const n = Math.round((ms * rate) / 1000);
        const pcm = new Int16Array(n);
        for (let i = 0; i < n; i++) pcm[i] = Math.round(5000 * Math.sin((2 * Math.PI * 250 * i) / rate));
        const bytes = Buffer.from(pcm.buffer);
        const id = seq++;
        setTimeout(() => {
          if (socket.readyState !== socket.OPEN) return;
          // odd-sized binary messages, as a real stream may split samples
          for (let off = 0; off < bytes.length; off += 1601) socket.send(bytes.subarray(off, Math.min(bytes.length, off + 1601)));
          socket.send(JSON.stringify({ type: 'Flushed', sequence_id: id }));
        }, this.replyDelayMs);
      } else if (msg.type === 'Clear') {
        s.clears++;
        pending = '';
        socket.send(JSON.stringify({ type: 'Cleared', sequence_id: seq }));
      } else if (msg.type === 'Close') {
        socket.close(1000);
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
