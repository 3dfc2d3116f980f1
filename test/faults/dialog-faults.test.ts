import { afterEach, describe, expect, it } from 'vitest';
import type { SipMessage, SipResponse } from '../../src/sip/message/index.js';
import { waitFor, type TestServer } from '../helpers/server.js';
import { ackFor, offer, request, token, udpPeer, type RawPeer, type RequestSpec } from '../hostile/raw-sip.js';
import { startServer } from '../hostile/server.js';
import { RtpSender, audioPort } from './rtp-sender.js';

/**
 * A carrier that misbehaves mid-call: vanishes without BYE, never answers our BYE, never ACKs
 * our 200. Each case ends with the call released: no call, no dialog, no transaction, every RTP
 * port back in the pool. T1 is 50 ms (the smallest the config allows) so 64·T1 is 3.2 s.
 */
let server: TestServer | undefined;
let peer: RawPeer | undefined;
let rtp: RtpSender | undefined;

afterEach(async () => {
  await server?.stop();
  await peer?.close();
  await rtp?.close();
  server = undefined;
  peer = undefined;
  rtp = undefined;
});

const T1 = 50;

async function setup(answerByes: boolean, rtpFile: Record<string, unknown> = {}): Promise<{ target: { host: string; port: number } }> {
  server = await startServer({ rtpPairs: 4, file: { sip: { t1: T1, t2: 400, t4: 200, rateLimit: { perSecond: 0 } }, rtp: { quarantineMs: 0, ...rtpFile } } });
  const target = { host: '127.0.0.1', port: server.server.sipPort };
  peer = await udpPeer(target, '127.0.0.1', answerByes);
  rtp = new RtpSender();
  await rtp.bind();
  return { target };
}

async function invite(target: { host: string; port: number }, ack: boolean): Promise<{ ok: SipResponse; spec: RequestSpec }> {
  if (peer === undefined || rtp === undefined) throw new Error('not set up');
  const callId = token();
  const spec: RequestSpec = { method: 'INVITE', target, peerPort: peer.port, callId, fromTag: token(), body: offer(rtp.port) };
  peer.send(request(spec));
  const ok = await peer.waitFor((m) => m.type === 'response' && m.status === 200 && (m.headers.get('call-id') ?? '').startsWith(callId), 10_000);
  if (ok?.type !== 'response') throw new Error('call not answered');
  if (ack) peer.send(ackFor(ok, spec));
  return { ok, spec };
}

const isBye = (m: SipMessage): boolean => m.type === 'request' && m.method === 'BYE';

async function expectReleased(): Promise<void> {
  const s = server?.server;
  if (s === undefined) throw new Error('no server');
  const clean = await waitFor(() => s.calls.active === 0 && s.ua.stats.dialogs === 0 && s.ua.stats.transactions === 0 && s.pool.inUse === 0, 8000);
  expect(clean, `calls=${s.calls.active} dialogs=${s.ua.stats.dialogs} transactions=${s.ua.stats.transactions} ports=${s.pool.inUse}`).toBe(true);
}

describe('faults: the peer misbehaves mid-call', () => {
  it('the peer vanishes without BYE: RTP stops, the inactivity timeout ends the call with our BYE', async () => {
    const { target } = await setup(true, { inactivityTimeoutMs: 1000 });
    const { ok } = await invite(target, true);
    rtp?.start('127.0.0.1', audioPort(ok.body));
    await new Promise((r) => setTimeout(r, 1500));
    // Media flowed both ways (echo bot), the call is up.
    expect(server?.server.calls.active).toBe(1);
    expect(rtp?.received ?? 0).toBeGreaterThan(10);
    expect(peer?.received.some(isBye)).toBe(false);
    const stoppedAt = Date.now();
    rtp?.stop();
    const bye = await peer?.waitFor(isBye, 4000);
    expect(bye, 'BYE after the RTP inactivity timeout').toBeDefined();
    const after = Date.now() - stoppedAt;
    expect(after).toBeGreaterThanOrEqual(900);
    await expectReleased();
  });

  it('our BYE is never answered: retransmitted (Timer E), given up at 64·T1 (Timer F), the call cleaned', async () => {
    const { target } = await setup(false, { inactivityTimeoutMs: 1000 });
    await invite(target, true);
    // No RTP at all: the inactivity timeout makes us hang up.
    const first = await peer?.waitFor(isBye, 4000);
    expect(first).toBeDefined();
    await new Promise((r) => setTimeout(r, 64 * T1 + 500));
    const byes = peer?.received.filter(isBye) ?? [];
    // RFC 3261 §17.1.2.2: at T1, 2T1, 4T1, … capped at T2, until Timer F; same transaction (branch).
    expect(byes.length).toBeGreaterThanOrEqual(5);
    expect(new Set(byes.map((m) => m.headers.get('via'))).size).toBe(1);
    await expectReleased();
    // And it stopped retransmitting.
    const n = peer?.received.filter(isBye).length ?? 0;
    await new Promise((r) => setTimeout(r, 500));
    expect(peer?.received.filter(isBye).length).toBe(n);
  });

  it('the ACK never comes: our 200 is retransmitted, then BYE at 64·T1 (RFC 3261 §13.3.1.4), the call cleaned', async () => {
    const { target } = await setup(true);
    const { spec } = await invite(target, false);
    const started = Date.now();
    const bye = await peer?.waitFor(isBye, 64 * T1 + 3000);
    expect(bye, 'BYE after 64·T1 without ACK').toBeDefined();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(64 * T1 - 200);
    const oks = peer?.received.filter((m) => m.type === 'response' && m.status === 200 && (m.headers.get('call-id') ?? '').startsWith(spec.callId ?? '')) ?? [];
    // The first 200 and its retransmissions at T1, 2T1, 4T1, … capped at T2.
    expect(oks.length).toBeGreaterThanOrEqual(5);
    await expectReleased();
  });
});
