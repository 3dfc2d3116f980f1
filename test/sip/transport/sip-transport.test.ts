import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import { createRequest, createResponse, parseMessage, parseVia } from '../../../src/sip/message/index.js';
import type { SipResponse } from '../../../src/sip/message/index.js';
import { SIP_UDP_RECEIVE_BUFFER_BYTES, SipTransport } from '../../../src/sip/transport/index.js';
import type { InboundMessage } from '../../../src/sip/transport/index.js';

const IDLE_MS = 60_000;

let clock: FakeClock;
let transport: SipTransport;
let inbox: InboundMessage[];
let waiters: (() => void)[];
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  clock = new FakeClock();
  transport = new SipTransport({
    listen: { host: '127.0.0.1', port: 0 },
    protocols: ['udp', 'tcp'],
    maxMessageBytes: 4096,
    maxHeaders: 64,
    tcpIdleTimeoutMs: IDLE_MS,
    clock,
    logger: silentLogger(),
  });
  inbox = [];
  waiters = [];
  transport.onMessage((m) => {
    inbox.push(m);
    for (const w of waiters.splice(0)) w();
  });
  await transport.listen();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await transport.close();
});

/** Resolves once `n` messages have arrived (bounded by a real 3 s timeout). */
async function received(n: number): Promise<InboundMessage[]> {
  const deadline = Date.now() + 3000;
  while (inbox.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${inbox.length}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 50);
      waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  return inbox;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function options(opts: { viaHost?: string; transport?: string; rport?: boolean; branch?: string; extra?: string } = {}): string {
  return [
    'OPTIONS sip:bot@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/${opts.transport ?? 'UDP'} ${opts.viaHost ?? 'client.example.com'}:5070;branch=${opts.branch ?? 'z9hG4bKt1'}${opts.rport === false ? '' : ';rport'}`,
    'Max-Forwards: 70',
    'To: <sip:bot@127.0.0.1>',
    'From: <sip:tester@client.example.com>;tag=f1',
    'Call-ID: transport-test-1',
    `CSeq: 1 OPTIONS${opts.extra ?? ''}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function udpClient(): Promise<{ socket: UdpSocket; port: number; next(): Promise<Buffer> }> {
  const socket = createSocket('udp4');
  const queue: Buffer[] = [];
  socket.on('message', (m) => queue.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  return {
    socket,
    port: socket.address().port,
    async next() {
      for (let i = 0; i < 60 && queue.length === 0; i++) await delay(50);
      const m = queue.shift();
      if (m === undefined) throw new Error('no datagram');
      return m;
    },
  };
}

async function tcpClient(): Promise<{ socket: Socket; data(): string; closed(): boolean }> {
  const socket = connect({ host: '127.0.0.1', port: transport.port, noDelay: true });
  let text = '';
  let isClosed = false;
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('close', () => (isClosed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  cleanups.push(() => {
    socket.destroy();
  });
  return { socket, data: () => text, closed: () => isClosed };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (cond()) return;
    await delay(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('SipTransport over UDP (RFC 3261 §18)', () => {
  it('binds UDP and TCP on the same port', async () => {
    expect(transport.port).toBeGreaterThan(0);
    const c = await tcpClient();
    expect(c.socket.remotePort).toBe(transport.port);
  });

  it('asks for a 4 MiB UDP receive buffer (as much as net.core.rmem_max grants) so call bursts are not dropped', () => {
    let rmemMax = 0;
    try {
      rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    } catch {
      return; // not Linux
    }
    // Linux grants up to rmem_max and reports twice that (the other half is its bookkeeping).
    expect(transport.udpReceiveBufferBytes / 2).toBe(Math.min(SIP_UDP_RECEIVE_BUFFER_BYTES, rmemMax));
  });

  it('stamps received and rport on the top Via (§18.2.1, RFC 3581 §4) and routes the response to received:rport', async () => {
    const client = await udpClient();
    client.socket.send(options(), transport.port, '127.0.0.1');
    const [m] = await received(1);
    expect(m!.message.type).toBe('request');
    expect(m!.source).toEqual({ protocol: 'udp', host: '127.0.0.1', port: client.port });
    const via = parseVia(m!.message.headers.get('via')!);
    expect(via.params.get('received')).toBe('127.0.0.1');
    expect(via.params.get('rport')).toBe(String(client.port));
    const dest = transport.responseDestination(via, m!.source);
    expect(dest).toEqual({ protocol: 'udp', host: '127.0.0.1', port: client.port });
    if (m!.message.type !== 'request') throw new Error('request expected');
    await transport.send(createResponse(m!.message, 200, undefined, { toTag: 'x' }), dest);
    const res = parseMessage(await client.next()) as SipResponse;
    expect(res.status).toBe(200);
    expect(parseVia(res.headers.get('via')!).params.get('rport')).toBe(String(client.port));
  });

  it('does not add received when sent-by is the source address and there is no rport', async () => {
    const client = await udpClient();
    client.socket.send(options({ viaHost: '127.0.0.1', rport: false }), transport.port, '127.0.0.1');
    const [m] = await received(1);
    expect(m!.message.headers.get('via')).toBe('SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKt1');
  });

  it('discards a response whose Via sent-by is not ours (§18.1.2) and delivers one that is', async () => {
    const client = await udpClient();
    const res = (viaHost: string, port: number): string =>
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${viaHost}:${port};branch=z9hG4bKr\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    client.socket.send(res('198.51.100.99', transport.port), transport.port, '127.0.0.1');
    client.socket.send(res('127.0.0.1', transport.port + 1), transport.port, '127.0.0.1');
    await delay(100);
    expect(inbox).toHaveLength(0);
    client.socket.send(res('127.0.0.1', transport.port), transport.port, '127.0.0.1');
    const [m] = await received(1);
    expect(m!.message.type).toBe('response');
  });

  it('drops garbage and CRLF keep-alive datagrams and keeps serving', async () => {
    const client = await udpClient();
    client.socket.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a]), transport.port, '127.0.0.1');
    client.socket.send('\r\n\r\n', transport.port, '127.0.0.1');
    client.socket.send('SIP/2.0 200\r\n\r\n', transport.port, '127.0.0.1');
    await delay(100);
    client.socket.send(options(), transport.port, '127.0.0.1');
    await received(1);
    expect(inbox).toHaveLength(1);
  });

  it('answers a malformed request with readable headers with 400 and the defect as reason phrase', async () => {
    const client = await udpClient();
    // CSeq method differs from the Request-Line method (§8.1.1.5)
    client.socket.send(options({ extra: '' }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'), transport.port, '127.0.0.1');
    const res = parseMessage(await client.next()) as SipResponse;
    expect(res.status).toBe(400);
    expect(res.reason).toBe('CSeq method does not match Request-Line');
    expect(res.headers.get('call-id')).toBe('transport-test-1');
    expect(parseVia(res.headers.get('via')!).params.get('rport')).toBe(String(client.port));
    expect(inbox).toHaveLength(0);
  });

  it('answers 400 when Content-Length exceeds the datagram (§18.3)', async () => {
    const client = await udpClient();
    client.socket.send(options().replace('Content-Length: 0', 'Content-Length: 50'), transport.port, '127.0.0.1');
    const res = parseMessage(await client.next()) as SipResponse;
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/Content-Length/);
  });

  it('drops an oversize datagram (413 before any header is parsed, so no response can be routed) and keeps serving', async () => {
    const client = await udpClient();
    client.socket.send(options().replace('Content-Length: 0', `X-Pad: ${'a'.repeat(5000)}\r\nContent-Length: 0`), transport.port, '127.0.0.1');
    await delay(150);
    client.socket.send(options(), transport.port, '127.0.0.1');
    await received(1);
    expect(inbox).toHaveLength(1);
  });
});

describe('SipTransport over TCP (RFC 3261 §18.3)', () => {
  it('frames a stream split at odd byte boundaries, tags the connection and answers on it', async () => {
    const c = await tcpClient();
    const bytes = Buffer.from(options({ transport: 'TCP', branch: 'z9hG4bKa' }) + options({ transport: 'TCP', branch: 'z9hG4bKb' }).replace('CSeq: 1', 'CSeq: 2'));
    const sizes = [1, 7, 13, 2, 101, 3, 250];
    let off = 0;
    for (let i = 0; off < bytes.length; i++) {
      const n = sizes[i % sizes.length]!;
      c.socket.write(bytes.subarray(off, off + n));
      off += n;
      if (i % 3 === 0) await delay(2);
    }
    const msgs = await received(2);
    expect(msgs.map((m) => parseVia(m.message.headers.get('via')!).params.get('branch'))).toEqual(['z9hG4bKa', 'z9hG4bKb']);
    const src = msgs[0]!.source;
    expect(src.protocol).toBe('tcp');
    expect(src.connectionId).toMatch(/^tcp-/);
    expect(msgs[1]!.source.connectionId).toBe(src.connectionId);
    const req = msgs[0]!.message;
    if (req.type !== 'request') throw new Error('request expected');
    const dest = transport.responseDestination(parseVia(req.headers.get('via')!), src);
    expect(dest.connectionId).toBe(src.connectionId);
    await transport.send(createResponse(req, 200, undefined, { toTag: 't' }), dest);
    await until(() => c.data().includes('SIP/2.0 200 OK'), '200 on the same connection');
  });

  it('answers a double-CRLF ping with a CRLF pong (RFC 5626 §4.4.1)', async () => {
    const c = await tcpClient();
    c.socket.write('\r\n\r\n');
    await until(() => c.data() === '\r\n', 'pong');
    expect(c.closed()).toBe(false);
  });

  it('closes a connection that sends an oversize message, without touching another connection', async () => {
    const bad = await tcpClient();
    const good = await tcpClient();
    bad.socket.write(`OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nX-Pad: ${'a'.repeat(5000)}\r\n`);
    await until(() => bad.closed(), 'oversize connection closed');
    good.socket.write(options({ transport: 'TCP' }));
    await received(1);
    expect(good.closed()).toBe(false);
  });

  it('answers 400 on the connection for a framed but malformed request and keeps the connection', async () => {
    const c = await tcpClient();
    c.socket.write(options({ transport: 'TCP' }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 BYE'));
    await until(() => c.data().startsWith('SIP/2.0 400 CSeq method does not match Request-Line'), '400');
    c.socket.write(options({ transport: 'TCP' }));
    await received(1);
  });

  it('reuses one outbound connection per peer, delivers what the peer sends back on it, and closes it when idle', async () => {
    const accepted: Socket[] = [];
    let peerData = '';
    let peerClosed = 0;
    const peer: Server = createServer((s) => {
      accepted.push(s);
      s.on('data', (d: Buffer) => (peerData += d.toString('latin1')));
      s.on('close', () => peerClosed++);
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      for (const s of accepted) s.destroy();
      peer.close(() => r());
    }));
    const port = (peer.address() as { port: number }).port;
    const req = createRequest({
      method: 'OPTIONS',
      uri: `sip:peer@127.0.0.1:${port}`,
      headers: [
        ['Via', `SIP/2.0/TCP 127.0.0.1:${transport.port};branch=z9hG4bKout`],
        ['From', '<sip:bot@127.0.0.1>;tag=a'],
        ['To', '<sip:peer@127.0.0.1>'],
        ['Call-ID', 'out-1'],
        ['CSeq', '1 OPTIONS'],
        ['Max-Forwards', '70'],
        ['Content-Length', '0'],
      ],
    });
    const dest = { protocol: 'tcp' as const, host: '127.0.0.1', port };
    await Promise.all([transport.send(req, dest), transport.send(req, dest)]);
    await transport.send(req, dest);
    await until(() => (peerData.match(/OPTIONS sip:/g) ?? []).length === 3, 'three requests at the peer');
    expect(accepted).toHaveLength(1);
    expect(transport.tcpConnectionCount).toBe(1);
    // the peer answers on the same connection
    accepted[0]!.write(`SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:${transport.port};branch=z9hG4bKout\r\nFrom: <sip:bot@127.0.0.1>;tag=a\r\nTo: <sip:peer@127.0.0.1>;tag=p\r\nCall-ID: out-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);
    const [res] = await received(1);
    expect(res!.message.type).toBe('response');
    clock.advance(IDLE_MS - 1);
    expect(transport.tcpConnectionCount).toBe(1);
    clock.advance(1);
    expect(transport.tcpConnectionCount).toBe(0);
    await until(() => peerClosed === 1, 'idle connection closed');
  });

  it('refuses connections beyond maxConnections', async () => {
    const small = new SipTransport({
      listen: { host: '127.0.0.1', port: 0 },
      protocols: ['tcp'],
      maxMessageBytes: 4096,
      maxHeaders: 64,
      tcpIdleTimeoutMs: IDLE_MS,
      maxConnections: 2,
      clock,
      logger: silentLogger(),
    });
    await small.listen();
    cleanups.push(() => small.close());
    const states: boolean[] = [];
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect({ host: '127.0.0.1', port: small.port });
      s.on('error', () => undefined);
      sockets.push(s);
      await new Promise<void>((r) => s.once('connect', () => r()));
      await delay(30);
    }
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    await delay(100);
    for (const s of sockets) states.push(s.destroyed || s.readyState !== 'open');
    expect(small.tcpConnectionCount).toBe(2);
    expect(states).toEqual([false, false, true]);
  });

  it('rejects a send to a closed port as a transport error', async () => {
    const probe: Server = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const req = createRequest({ method: 'OPTIONS', uri: 'sip:x@127.0.0.1', headers: [['Call-ID', 'x'], ['CSeq', '1 OPTIONS']] });
    await expect(transport.send(req, { protocol: 'tcp', host: '127.0.0.1', port })).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('SipTransport lifecycle', () => {
  it('close() is idempotent and later sends reject', async () => {
    await transport.close();
    await transport.close();
    const req = createRequest({ method: 'OPTIONS', uri: 'sip:x@127.0.0.1', headers: [['Call-ID', 'x'], ['CSeq', '1 OPTIONS']] });
    await expect(transport.send(req, { protocol: 'udp', host: '127.0.0.1', port: 9 })).rejects.toThrow(/closed/);
    expect(clock.pendingCount()).toBe(0);
  });

  it('advertises the listen host, or the external address when set', () => {
    expect(transport.advertisedHost('198.51.100.1')).toBe('127.0.0.1');
    const ext = new SipTransport({
      listen: { host: '0.0.0.0', port: 0 },
      protocols: ['udp'],
      externalAddress: '203.0.113.9',
      maxMessageBytes: 4096,
      maxHeaders: 64,
      tcpIdleTimeoutMs: IDLE_MS,
      clock,
      logger: silentLogger(),
    });
    expect(ext.advertisedHost('198.51.100.1')).toBe('203.0.113.9');
    const wild = new SipTransport({
      listen: { host: '0.0.0.0', port: 0 },
      protocols: ['udp'],
      maxMessageBytes: 4096,
      maxHeaders: 64,
      tcpIdleTimeoutMs: IDLE_MS,
      clock,
      logger: silentLogger(),
    });
    expect(wild.advertisedHost('127.0.0.1')).toBe('127.0.0.1');
    expect(wild.advertisedHost('198.51.100.1')).not.toBe('0.0.0.0');
  });

  it('on a dual-stack "::" listener, IPv4 peers appear as plain IPv4 and get their responses', async () => {
    const dual = new SipTransport({
      listen: { host: '::', port: 0 },
      protocols: ['udp', 'tcp'],
      maxMessageBytes: 4096,
      maxHeaders: 64,
      tcpIdleTimeoutMs: IDLE_MS,
      clock,
      logger: silentLogger(),
    });
    const got: InboundMessage[] = [];
    dual.onMessage((m) => got.push(m));
    await dual.listen();
    cleanups.push(() => dual.close());
    const client = await udpClient();
    client.socket.send(options(), dual.port, '127.0.0.1');
    await until(() => got.length === 1, 'request on ::');
    const m = got[0]!;
    expect(m.source.host).toBe('127.0.0.1');
    if (m.message.type !== 'request') throw new Error('request expected');
    const via = parseVia(m.message.headers.get('via')!);
    expect(via.params.get('received')).toBe('127.0.0.1');
    await dual.send(createResponse(m.message, 200, undefined, { toTag: 'd' }), dual.responseDestination(via, m.source));
    expect((parseMessage(await client.next()) as SipResponse).status).toBe(200);
  });

  it('a second transport on a taken fixed port fails with EADDRINUSE and leaves nothing open', async () => {
    const other = new SipTransport({
      listen: { host: '127.0.0.1', port: transport.port },
      protocols: ['udp', 'tcp'],
      maxMessageBytes: 4096,
      maxHeaders: 64,
      tcpIdleTimeoutMs: IDLE_MS,
      clock,
      logger: silentLogger(),
    });
    await expect(other.listen()).rejects.toThrow(/EADDRINUSE/);
    await other.close();
  });
});
