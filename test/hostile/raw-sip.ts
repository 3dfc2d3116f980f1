/**
 * A raw SIP peer for hostile-input and fault tests: writes exactly the bytes a test gives it
 * (over UDP or one TCP connection) and parses whatever comes back, so tests can send what no
 * well-behaved stack would (100 Vias, 64 KiB headers, lying Content-Length, scanner sweeps).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SipStreamFramer, createResponse, parseMessage, serializeMessage, type SipMessage, type SipResponse } from '../../src/sip/message/index.js';

export interface RawPeer {
  readonly port: number;
  readonly received: SipMessage[];
  /** True once a TCP peer's connection was closed by the server. */
  readonly closed: boolean;
  send(data: string | Buffer): void;
  /** Resolves with the first received message (from index `from` on) matching, or undefined after `timeoutMs`. */
  waitFor(match: (m: SipMessage) => boolean, timeoutMs: number, from?: number): Promise<SipMessage | undefined>;
  close(): Promise<void>;
}

type Waiter = { match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void };

/** The received list plus waiters woken on each message (no polling: thousands of round trips stay fast). */
function inbox(): { received: SipMessage[]; push(m: SipMessage): void; waitFor: RawPeer['waitFor'] } {
  const received: SipMessage[] = [];
  let waiters: Waiter[] = [];
  return {
    received,
    push(m) {
      received.push(m);
      if (waiters.length === 0) return;
      const still: Waiter[] = [];
      for (const w of waiters) {
        if (w.match(m)) w.resolve(m);
        else still.push(w);
      }
      waiters = still;
    },
    waitFor(match, timeoutMs, from = 0) {
      for (let i = from; i < received.length; i++) {
        const m = received[i];
        if (m !== undefined && match(m)) return Promise.resolve(m);
      }
      return new Promise((res) => {
        const w: Waiter = {
          match,
          resolve: (m) => {
            clearTimeout(timer);
            res(m);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((x) => x !== w);
          res(undefined);
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/**
 * A UDP peer on `localHost`. With `answerByes` (default) a BYE gets 200 at once, as any phone
 * would, so a server stopping in a test's teardown is not left retransmitting its BYE.
 */
export async function udpPeer(target: { host: string; port: number }, localHost = '127.0.0.1', answerByes = true): Promise<RawPeer> {
  const socket: UdpSocket = createSocket('udp4');
  const box = inbox();
  socket.on('message', (data, rinfo) => {
    try {
      const m = parseMessage(data, { datagram: true });
      if (answerByes && m.type === 'request' && m.method === 'BYE') socket.send(serializeMessage(createResponse(m, 200)), rinfo.port, rinfo.address);
      box.push(m);
    } catch {
      // not SIP: a hostile test only counts what parses
    }
  });
  await new Promise<void>((r) => socket.bind(0, localHost, r));
  return {
    port: socket.address().port,
    received: box.received,
    closed: false,
    send: (data) => socket.send(typeof data === 'string' ? Buffer.from(data) : data, target.port, target.host),
    waitFor: box.waitFor,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

export async function tcpPeer(target: { host: string; port: number }): Promise<RawPeer> {
  const box = inbox();
  const framer = new SipStreamFramer({ maxBytes: 1 << 20 });
  const socket: TcpSocket = await new Promise((res, rej) => {
    const s = connect(target.port, target.host, () => res(s));
    s.once('error', rej);
  });
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const m of framer.push(chunk)) box.push(parseMessage(m, { datagram: false }));
    } catch {
      // not SIP
    }
  });
  return {
    port: socket.localPort ?? 0,
    received: box.received,
    get closed() {
      return closed;
    },
    send: (data) => {
      if (!socket.destroyed) socket.write(data);
    },
    waitFor: box.waitFor,
    close: () =>
      new Promise<void>((r) => {
        if (socket.destroyed) return r();
        socket.once('close', () => r());
        socket.destroy();
      }),
  };
}

export function token(): string {
  return randomBytes(6).toString('hex');
}

export interface RequestSpec {
  method: string;
  target: { host: string; port: number };
  peerPort: number;
  transport?: 'UDP' | 'TCP';
  callId?: string;
  branch?: string;
  fromTag?: string;
  toTag?: string;
  cseq?: number;
  /** Extra Via values after ours (a 100-Via INVITE has 99 of these). */
  extraVias?: readonly string[];
  headers?: readonly string[];
  body?: string;
  /** Overrides the Content-Length value (a lying Content-Length). */
  contentLength?: number;
  userAgent?: string;
  requestUser?: string;
}

/** A request as text, CRLF-terminated, with our Via on top. */
export function request(spec: RequestSpec): string {
  const t = spec.transport ?? 'UDP';
  const body = spec.body ?? '';
  const lines = [
    `${spec.method} sip:${spec.requestUser ?? 'bot'}@${spec.target.host}:${spec.target.port}${t === 'TCP' ? ';transport=tcp' : ''} SIP/2.0`,
    `Via: SIP/2.0/${t} 127.0.0.1:${spec.peerPort};branch=z9hG4bK${spec.branch ?? token()};rport`,
    ...(spec.extraVias ?? []).map((v) => `Via: ${v}`),
    'Max-Forwards: 70',
    `From: <sip:caller@127.0.0.1:${spec.peerPort}>;tag=${spec.fromTag ?? token()}`,
    `To: <sip:${spec.requestUser ?? 'bot'}@${spec.target.host}:${spec.target.port}>${spec.toTag !== undefined ? `;tag=${spec.toTag}` : ''}`,
    `Call-ID: ${spec.callId ?? token()}@hostile`,
    `CSeq: ${spec.cseq ?? 1} ${spec.method}`,
    `Contact: <sip:caller@127.0.0.1:${spec.peerPort}${t === 'TCP' ? ';transport=tcp' : ''}>`,
    ...(spec.userAgent !== undefined ? [`User-Agent: ${spec.userAgent}`] : []),
    ...(spec.headers ?? []),
    ...(body.length > 0 ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${spec.contentLength ?? Buffer.byteLength(body)}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A PCMU offer with media on `port` (nothing listens there unless the test binds it). */
export function offer(port: number): string {
  return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
}

export function isResponse(status: number, method?: string): (m: SipMessage) => m is SipResponse {
  return (m): m is SipResponse => m.type === 'response' && m.status === status && (method === undefined || (m.headers.get('cseq') ?? '').endsWith(method));
}

export function finalResponse(callId: string): (m: SipMessage) => m is SipResponse {
  return (m): m is SipResponse => m.type === 'response' && m.status >= 200 && (m.headers.get('call-id') ?? '').startsWith(callId);
}

/** The ACK for a 2xx (RFC 3261 §13.2.2.4): new branch, same Call-ID/From, the 2xx's To. */
export function ackFor(response: SipResponse, spec: RequestSpec): string {
  const to = response.headers.get('to') ?? '';
  const toTag = /;tag=([^;>\s]+)/.exec(to)?.[1];
  return request({ ...spec, method: 'ACK', ...(toTag !== undefined ? { toTag } : {}), branch: token(), body: '' });
}
