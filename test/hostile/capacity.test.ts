import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipResponse } from '../../src/sip/message/index.js';
import { waitFor, type TestServer } from '../helpers/server.js';
import { startServer as startTestServer } from './server.js';
import { ackFor, offer, request, token, udpPeer, type RawPeer, type RequestSpec } from './raw-sip.js';

let server: TestServer | undefined;
let peer: RawPeer | undefined;
let media: Socket | undefined;

afterEach(async () => {
  await server?.stop();
  await peer?.close();
  if (media !== undefined) await new Promise<void>((r) => media?.close(() => r()));
  server = undefined;
  peer = undefined;
  media = undefined;
});

async function setup(file: Record<string, unknown>, rtpPairs?: number): Promise<{ target: { host: string; port: number }; rtpPort: number }> {
  server = await startTestServer({ file, ...(rtpPairs !== undefined ? { rtpPairs } : {}) });
  const target = { host: '127.0.0.1', port: server.server.sipPort };
  peer = await udpPeer(target);
  const m = createSocket('udp4');
  media = m;
  await new Promise<void>((r) => m.bind(0, '127.0.0.1', r));
  return { target, rtpPort: m.address().port };
}

/** INVITE → final response; a 2xx is ACKed (the call stays up). */
async function call(target: { host: string; port: number }, rtpPort: number): Promise<{ final: SipResponse; spec: RequestSpec }> {
  const p = peer;
  if (p === undefined) throw new Error('no peer');
  const callId = token();
  const spec: RequestSpec = { method: 'INVITE', target, peerPort: p.port, callId, fromTag: token(), body: offer(rtpPort) };
  p.send(request(spec));
  const final = await p.waitFor((m) => m.type === 'response' && m.status >= 200 && (m.headers.get('call-id') ?? '').startsWith(callId), 5000);
  if (final?.type !== 'response') throw new Error('no final response');
  if (final.status === 200) p.send(ackFor(final, spec));
  return { final, spec };
}

describe('capacity refusals carry Retry-After', () => {
  it('calls.maxConcurrent reached → 503 with Retry-After; a slot freed by BYE admits the next call', async () => {
    const { target, rtpPort } = await setup({ calls: { maxConcurrent: 2 } });
    const a = await call(target, rtpPort);
    const b = await call(target, rtpPort);
    expect([a.final.status, b.final.status]).toEqual([200, 200]);
    const c = await call(target, rtpPort);
    expect(c.final.status).toBe(503);
    expect(Number(c.final.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(server?.server.calls.active).toBe(2);
    // BYE one call; the next INVITE is admitted.
    const toTag = /;tag=([^;>\s]+)/.exec(a.final.headers.get('to') ?? '')?.[1] ?? '';
    peer?.send(request({ ...a.spec, method: 'BYE', toTag, cseq: 2, branch: token(), body: '' }));
    expect(await waitFor(() => server?.server.calls.active === 1, 3000)).toBe(true);
    expect((await call(target, rtpPort)).final.status).toBe(200);
  });

  it('an exhausted RTP port pool → 503 with Retry-After, and nothing leaks from the refused call', async () => {
    // Two RTP/RTCP pairs: two calls fit, the third finds no port.
    const { target, rtpPort } = await setup({ calls: { maxConcurrent: 50 } }, 2);
    const a = await call(target, rtpPort);
    const b = await call(target, rtpPort);
    expect([a.final.status, b.final.status]).toEqual([200, 200]);
    const c = await call(target, rtpPort);
    expect(c.final.status).toBe(503);
    expect(Number(c.final.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await waitFor(() => server?.server.calls.active === 2, 2000)).toBe(true);
    expect(server?.server.pool.inUse ?? -1).toBe(2);
  });
});
