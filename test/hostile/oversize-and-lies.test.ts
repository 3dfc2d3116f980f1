import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { startServer as startTestServer } from './server.js';
import { settledHeap } from './heap.js';
import { offer, request, tcpPeer, token, udpPeer, type RawPeer } from './raw-sip.js';

/**
 * Requests built to cost a server memory: a 100-Via INVITE, a 64 KiB header, a Content-Length
 * that lies. Each gets a 4xx (UDP) or a closed connection (TCP stream that cannot be framed),
 * leaves no transaction behind, and 2,000 of them do not grow the heap.
 */
let t: TestServer;
let target: { host: string; port: number };
let udp: RawPeer;

const HUNDRED_VIAS = Array.from({ length: 99 }, (_, i) => `SIP/2.0/UDP 10.0.${i}.1:5060;branch=z9hG4bK${token()}`);

beforeAll(async () => {
  // No rate limit here: these tests send thousands of requests from one socket on purpose.
  t = await startTestServer({ rtpPairs: 4, file: { sip: { rateLimit: { perSecond: 0 } } } });
  target = { host: '127.0.0.1', port: t.server.sipPort };
  udp = await udpPeer(target);
});

afterAll(async () => {
  await udp.close();
  await t.stop();
});

/** Sends one request and waits for the response carrying its Call-ID. */
async function ask(peer: RawPeer, build: (callId: string) => string, timeoutMs = 2000): Promise<number | undefined> {
  const callId = token();
  const from = peer.received.length;
  peer.send(build(callId));
  const r = await peer.waitFor((m) => m.type === 'response' && m.status >= 200 && (m.headers.get('call-id') ?? '').startsWith(callId), timeoutMs, from);
  return r?.type === 'response' ? r.status : undefined;
}

const hundredViaInvite = (callId: string): string => request({ method: 'INVITE', target, peerPort: udp.port, callId, extraVias: HUNDRED_VIAS, body: offer(20_000) });
const lyingLength = (callId: string): string => request({ method: 'OPTIONS', target, peerPort: udp.port, callId, body: 'v=0\r\n', contentLength: 4000 });

describe('hostile sizes and lies', () => {
  it('a 100-Via INVITE gets 483 before any transaction or call exists, counted as refused', async () => {
    const before = t.server.ua.refused.tooManyVias;
    expect(await ask(udp, hundredViaInvite)).toBe(483);
    expect(t.server.calls.active).toBe(0);
    expect(t.server.ua.stats.transactions).toBe(0);
    expect(t.server.ua.refused.tooManyVias).toBe(before + 1);
  });

  it('a Content-Length larger than the datagram gets 400 (RFC 3261 §18.3), counted as malformed', async () => {
    const before = t.server.ua.refused.malformed;
    expect(await ask(udp, lyingLength)).toBe(400);
    expect(t.server.ua.refused.malformed).toBe(before + 1);
  });

  it('over TCP a 64 KiB header, or a Content-Length beyond the message limit, closes the connection', async () => {
    const a = await tcpPeer(target);
    a.send(request({ method: 'OPTIONS', target, peerPort: a.port, transport: 'TCP', headers: [`X-Big: ${'a'.repeat(65_536)}`] }));
    const b = await tcpPeer(target);
    b.send(request({ method: 'OPTIONS', target, peerPort: b.port, transport: 'TCP', body: 'hello', contentLength: 10_000_000 }));
    const until = Date.now() + 3000;
    while ((!a.closed || !b.closed) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect(a.received.filter((m) => m.type === 'response' && m.status < 300)).toHaveLength(0);
    await a.close();
    await b.close();
    // the listener is still serving
    const c = await tcpPeer(target);
    expect(await ask(c, (callId) => request({ method: 'OPTIONS', target, peerPort: c.port, transport: 'TCP', callId }))).toBe(200);
    await c.close();
  });

  it('a 64 KiB header in a 64 KiB datagram gets 413 naming the field; the server keeps serving', async () => {
    // The largest UDP payload over IPv4 is 65,507 bytes: the header fills what the datagram can carry.
    const status = await ask(udp, (callId) => request({ method: 'OPTIONS', target, peerPort: udp.port, callId, headers: [`X-Big: ${'a'.repeat(64_000)}`] }), 2000);
    expect(status).toBe(413);
    const reply = udp.received.find((m) => m.type === 'response' && m.status === 413);
    expect(reply?.type === 'response' ? reply.reason : '').toMatch(/^Header Field Too Large \(X-Big/);
    // An INVITE too: no transaction, no call.
    expect(await ask(udp, (callId) => request({ method: 'INVITE', target, peerPort: udp.port, callId, headers: [`X-Big: ${'a'.repeat(20_000)}`] }), 2000)).toBe(413);
    expect(await ask(udp, (callId) => request({ method: 'OPTIONS', target, peerPort: udp.port, callId }))).toBe(200);
  });

  it('2,000 of each hostile request leave no transaction behind and do not grow the heap', async () => {
    for (let i = 0; i < 100; i++) {
      await ask(udp, hundredViaInvite);
      await ask(udp, lyingLength);
    }
    const before = settledHeap();
    let answered483 = 0;
    let answered400 = 0;
    for (let i = 0; i < 2000; i++) {
      if ((await ask(udp, hundredViaInvite)) === 483) answered483++;
      if ((await ask(udp, lyingLength)) === 400) answered400++;
      if (udp.received.length > 1000) udp.received.length = 0;
    }
    const grown = settledHeap() - before;
    expect(answered483).toBe(2000);
    expect(answered400).toBe(2000);
    // Only the two valid OPTIONS of the tests above may still sit in Timer J (64·T1).
    expect(t.server.ua.stats.transactions).toBeLessThanOrEqual(3);
    expect(t.server.calls.active).toBe(0);
    // Loose: 4,200 requests that each retained even 1 KiB would add 4 MB.
    expect(grown, `heap grew by ${grown} bytes`).toBeLessThan(3 * 1024 * 1024);
  });
});
