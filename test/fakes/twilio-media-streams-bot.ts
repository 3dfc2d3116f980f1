import { WebSocketServer, type WebSocket } from 'ws';
import { ulawDecode, ulawEncode } from '../../src/codec/index.js';
import { rawDataText } from '../../src/pipeline/services/websocket.js';

/**
 * A FAKE bot written for Twilio Media Streams (bidirectional), for tests only: a WebSocket server
 * on a free loopback port that records every message Trunkline sends and answers the way a
 * Pipecat TwilioFrameSerializer bot would — `media` with base64 μ-law payloads, `mark`, `clear`.
 * With `bargeInRms` set it sends `clear` as soon as a caller frame is louder than that (its own
 * barge-in), like a bot that runs a VAD on the inbound track.
 */
export interface TwilioMessage {
  readonly event: string;
  readonly sequenceNumber?: string;
  readonly streamSid?: string;
  readonly [key: string]: unknown;
}

export interface FakeTwilioBotOptions {
  readonly bargeInRms?: number;
}

export interface FakeConnection {
  readonly socket: WebSocket;
  readonly messages: TwilioMessage[];
  readonly headers: Record<string, string | string[] | undefined>;
  streamSid: string | null;
  clearsSent: number;
}

export class FakeTwilioBot {
  readonly connections: FakeConnection[] = [];
  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
    private readonly options: FakeTwilioBotOptions,
  ) {
    server.on('connection', (socket, req) => {
      const conn: FakeConnection = { socket, messages: [], headers: req.headers, streamSid: null, clearsSent: 0 };
      this.connections.push(conn);
      socket.on('message', (data) => {
        const msg = JSON.parse(rawDataText(data)) as TwilioMessage;
        conn.messages.push(msg);
        if (msg.event === 'start') conn.streamSid = (msg.start as { streamSid: string }).streamSid;
        if (msg.event === 'media' && this.options.bargeInRms !== undefined) {
          const pcm = decodePayload((msg.media as { payload: string }).payload);
          if (rmsOf(pcm) > this.options.bargeInRms) {
            conn.clearsSent++;
            socket.send(JSON.stringify({ event: 'clear', streamSid: conn.streamSid }));
          }
        }
      });
    });
  }

  static async start(options: FakeTwilioBotOptions = {}): Promise<FakeTwilioBot> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected address');
    return new FakeTwilioBot(server, `ws://127.0.0.1:${addr.port}/stream`, options);
  }

  get last(): FakeConnection {
    const c = this.connections[this.connections.length - 1];
    if (c === undefined) throw new Error('no connection yet');
    return c;
  }

  /** Sends 8 kHz PCM as μ-law `media` messages of `chunkMs` each (Pipecat sends 20 ms). */
  sendAudio(pcm: Int16Array, chunkMs = 20, conn = this.last): void {
    const step = chunkMs * 8;
    for (let off = 0; off < pcm.length; off += step) {
      const part = pcm.subarray(off, Math.min(pcm.length, off + step));
      const bytes = new Uint8Array(part.length);
      ulawEncode(part, bytes);
      conn.socket.send(JSON.stringify({ event: 'media', streamSid: conn.streamSid, media: { payload: Buffer.from(bytes).toString('base64') } }));
    }
  }

  sendMark(name: string, conn = this.last): void {
    conn.socket.send(JSON.stringify({ event: 'mark', streamSid: conn.streamSid, mark: { name } }));
  }

  sendClear(conn = this.last): void {
    conn.socket.send(JSON.stringify({ event: 'clear', streamSid: conn.streamSid }));
  }

  received(event: string, conn = this.last): TwilioMessage[] {
    return conn.messages.filter((m) => m.event === event);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function decodePayload(payload: string): Int16Array {
  const bytes = Buffer.from(payload, 'base64');
  const pcm = new Int16Array(bytes.length);
  ulawDecode(bytes, pcm);
  return pcm;
}

function rmsOf(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) s += v * v;
  return pcm.length === 0 ? 0 : Math.sqrt(s / pcm.length);
}

/** Polls `cond` on real time until true (sockets deliver asynchronously); throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
