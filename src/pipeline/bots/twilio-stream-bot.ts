import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { ulawDecode, ulawEncode } from '../../codec/index.js';
import type { TimerHandle } from '../../shared/index.js';
import type { Bot, BotContext } from '../bot.js';
import { BotEventHub } from '../bot.js';
import type { BotEvent } from '../events.js';
import type { PlayoutSource } from '../playout.js';
import { MediaStreamPlayout } from './media-stream-playout.js';
import { closeWebSocket, openWebSocket, rawDataText } from '../services/websocket.js';

/**
 * A bridge to a bot written for Twilio Media Streams (bidirectional, `<Connect><Stream>`): per call
 * Trunkline opens a WebSocket to the bot and speaks that protocol, so the bot runs unchanged on a
 * raw SIP trunk.
 *
 * Messages (https://www.twilio.com/docs/voice/media-streams/websocket-messages):
 * - to the bot: `connected` {protocol 'Call', version '1.0.0'} once the socket opens; `start`
 *   (sequenceNumber "1") with streamSid, accountSid, callSid, tracks ['inbound'], customParameters
 *   and mediaFormat {audio/x-mulaw, 8000, 1}; `media` per 20 ms caller frame {track 'inbound',
 *   chunk, timestamp (ms since start), payload base64 μ-law}; `dtmf` {track 'inbound_track', digit};
 *   `mark` {name} echoed once the audio sent before it has been played; `stop`. Every message
 *   after `connected` carries a string sequenceNumber, incremented by one.
 * - from the bot: `media` {payload} queued for playout, `mark` {name}, `clear` (drops queued audio
 *   at once and returns the pending marks).
 *
 * The socket closing ends the call with a cause: a normal close (1000) as `bot-closed-stream`; an
 * abnormal one is retried up to `maxReconnects` times (a fresh `connected`/`start` on the new
 * socket, same streamSid), then `bot-stream-lost`.
 */
export interface TwilioStreamBotOptions {
  readonly url: string;
  /** Reported as start.accountSid (the bot may check it); default a fixed Trunkline value. */
  readonly accountSid?: string;
  /** Abnormal closes retried per call (and extra connect attempts in prepare()). */
  readonly maxReconnects?: number;
  readonly reconnectDelayMs?: number;
  readonly connectTimeoutMs?: number;
  /** Extra HTTP headers on the upgrade request (e.g. an auth token for the bot). */
  readonly headers?: Readonly<Record<string, string>>;
}

export const DEFAULT_TWILIO_STREAM_OPTIONS = {
  accountSid: 'AC00000000000000000000000000000000',
  maxReconnects: 2,
  reconnectDelayMs: 250,
  connectTimeoutMs: 3000,
} as const satisfies Omit<TwilioStreamBotOptions, 'url'>;

type StreamState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

interface InboundMessage {
  readonly event?: unknown;
  readonly media?: { readonly payload?: unknown };
  readonly mark?: { readonly name?: unknown };
}

/** `CA` + 32 hex for a call, `MZ` + 32 hex for a stream: the shapes bots validate. */
function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

const METADATA_SKIP = new Set(['operator']);

export class TwilioStreamBot implements Bot {
  readonly playout: PlayoutSource;
  readonly streamSid = sid('MZ');
  readonly callSid: string;
  private readonly queue: MediaStreamPlayout;
  private readonly events: BotEventHub;
  private readonly options: Required<Omit<TwilioStreamBotOptions, 'headers'>> & Pick<TwilioStreamBotOptions, 'headers'>;
  private state: StreamState = 'idle';
  private socket: WebSocket | null = null;
  private started = false;
  private startSent = false;
  private seq = 0;
  private chunk = 0;
  private reconnects = 0;
  private timer: TimerHandle | null = null;
  private readonly ulaw = new Uint8Array(160);
  private ended = false;

  constructor(
    private readonly context: BotContext,
    options: TwilioStreamBotOptions,
  ) {
    this.options = { ...DEFAULT_TWILIO_STREAM_OPTIONS, ...options };
    if (!/^wss?:\/\//.test(this.options.url)) throw new RangeError(`TwilioStreamBot: url must be ws:// or wss://, got ${this.options.url}`);
    this.callSid = /^CA[0-9a-f]{32}$/.test(context.callId) ? context.callId : sid('CA');
    this.events = new BotEventHub(context.logger);
    this.queue = new MediaStreamPlayout({ onMarkReached: (name) => this.sendMark(name) });
    const queue = this.queue;
    this.playout = {
      pull: (out) => queue.pull(out),
      clear: () => this.clearPlayout('cleared'),
      get queuedFrames(): number {
        return queue.queuedFrames;
      },
    };
  }

  get connectionState(): StreamState {
    return this.state;
  }

  onEvent(handler: (event: BotEvent) => void): void {
    this.events.add(handler);
  }

  /** Opens the socket before the call is answered; retries within maxReconnects, then rejects. */
  async prepare(): Promise<void> {
    if (this.state !== 'idle') return;
    let lastError: Error | null = null;
    for (let attempt = 0; attempt <= this.options.maxReconnects; attempt++) {
      if (this.ended) return;
      if (attempt > 0) await this.sleep(this.options.reconnectDelayMs);
      try {
        await this.connect();
        return;
      } catch (err) {
        lastError = err instanceof Error ? err : new Error(String(err));
        this.context.logger.warn({ err: lastError.message, attempt, url: this.options.url }, 'media stream bot: connect failed');
      }
    }
    this.state = 'closed';
    throw new Error(`media stream bot unreachable at ${this.options.url}: ${lastError?.message ?? 'unknown'}`);
  }

  start(): void {
    if (this.started || this.ended) return;
    this.started = true;
    this.sendStart();
  }

  onAudio(frame: Int16Array): void {
    if (!this.startSent || this.state !== 'open') return;
    const socket = this.socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    const n = Math.min(frame.length, this.ulaw.length);
    ulawEncode(frame, this.ulaw, n);
    const payload = Buffer.from(this.ulaw.buffer, 0, n).toString('base64');
    const chunk = ++this.chunk;
    const timestamp = (chunk - 1) * 20;
    // a template rather than JSON.stringify of a fresh object: one string per frame
    socket.send(
      `{"event":"media","sequenceNumber":"${++this.seq}","media":{"track":"inbound","chunk":"${chunk}","timestamp":"${timestamp}","payload":"${payload}"},"streamSid":"${this.streamSid}"}`,
    );
  }

  onDtmf(digit: string): void {
    if (this.ended) return;
    this.context.logger.info({ pii: { digit } }, 'dtmf');
    this.events.emit({ type: 'dtmf', digit });
    this.send({ event: 'dtmf', streamSid: this.streamSid, sequenceNumber: String(++this.seq), dtmf: { track: 'inbound_track', digit } });
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.timer?.cancel();
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.state = 'closed';
    if (socket === null) return;
    const stop = this.startSent
      ? JSON.stringify({
          event: 'stop',
          sequenceNumber: String(++this.seq),
          streamSid: this.streamSid,
          stop: { accountSid: this.options.accountSid, callSid: this.callSid },
        })
      : undefined;
    await closeWebSocket(socket, stop, 'call ended');
  }

  // ---- socket ---------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    this.state = 'connecting';
    const socket = await openWebSocket(this.options.url, { headers: { ...this.options.headers }, clock: this.context.clock, timeoutMs: this.options.connectTimeoutMs });
    if (this.ended) {
      socket.terminate();
      return;
    }
    this.socket = socket;
    this.state = 'open';
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code, reason) => this.onClose(socket, code, reason.toString()));
    socket.on('error', (err) => this.context.logger.warn({ err: err.message }, 'media stream bot: socket error'));
    socket.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  }

  private sendStart(): void {
    if (this.state !== 'open') return;
    const customParameters: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.context.metadata)) if (!METADATA_SKIP.has(k)) customParameters[k] = v;
    this.send({
      event: 'start',
      sequenceNumber: String(++this.seq),
      start: {
        accountSid: this.options.accountSid,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters,
      },
      streamSid: this.streamSid,
    });
    this.startSent = true;
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.ended) return;
    if (isBinary) {
      this.context.logger.debug('media stream bot: binary message ignored (the protocol is JSON text)');
      return;
    }
    let msg: InboundMessage;
    try {
      msg = JSON.parse(rawDataText(data)) as InboundMessage;
    } catch {
      this.context.logger.warn('media stream bot: message is not JSON; ignored');
      return;
    }
    switch (msg.event) {
      case 'media': {
        const payload = msg.media?.payload;
        if (typeof payload !== 'string') return;
        this.queue.appendCoded(Buffer.from(payload, 'base64'), ulawDecode);
        return;
      }
      case 'mark': {
        const name = msg.mark?.name;
        if (typeof name === 'string') this.queue.mark(name);
        return;
      }
      case 'clear':
        this.clearPlayout('bot-clear');
        return;
      default:
        this.context.logger.debug({ event: msg.event }, 'media stream bot: message ignored');
    }
  }

  private clearPlayout(reason: string): number {
    const dropped = this.queue.clear();
    this.events.emit({ type: 'interruption', reason, played: null, droppedUtterances: dropped > 0 ? 1 : 0, droppedFrames: dropped });
    return dropped;
  }

  private sendMark(name: string): void {
    this.send({ event: 'mark', sequenceNumber: String(++this.seq), streamSid: this.streamSid, mark: { name } });
  }

  private onClose(socket: WebSocket, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    if (this.ended) return;
    this.startSent = false;
    if (code === 1000) {
      this.state = 'closed';
      this.context.logger.info({ code, reason }, 'media stream bot closed the stream');
      this.endCall('bot-closed-stream');
      return;
    }
    this.context.logger.warn({ code, reason, reconnects: this.reconnects }, 'media stream lost');
    this.reconnect();
  }

  private reconnect(): void {
    if (this.reconnects >= this.options.maxReconnects) {
      this.state = 'closed';
      this.endCall('bot-stream-lost');
      return;
    }
    this.reconnects++;
    this.state = 'reconnecting';
    this.timer = this.context.clock.setTimeout(() => {
      this.timer = null;
      if (this.ended) return;
      this.connect().then(
        () => {
          if (this.started && !this.ended) this.sendStart();
        },
        (err: unknown) => {
          this.context.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'media stream bot: reconnect failed');
          if (!this.ended) this.reconnect();
        },
      );
    }, this.options.reconnectDelayMs);
  }

  private endCall(cause: string): void {
    if (this.ended) return;
    this.events.emit({ type: 'hangup-requested', reason: cause });
    try {
      this.context.hangup(cause);
    } catch (err) {
      this.context.logger.error({ err }, 'call layer failed on hangup');
    }
  }

  private send(msg: object): void {
    const socket = this.socket;
    if (socket !== null) this.sendOn(socket, msg);
  }

  private sendOn(socket: WebSocket, msg: object): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = this.context.clock.setTimeout(() => {
        this.timer = null;
        resolve();
      }, ms);
    });
  }
}
