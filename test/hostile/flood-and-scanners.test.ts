import { afterEach, describe, expect, it } from 'vitest';
import type { SipMessage } from '../../src/sip/message/index.js';
import type { TestServer } from '../helpers/server.js';
import { startServer as startTestServer } from './server.js';
import { request, token, udpPeer, type RawPeer } from './raw-sip.js';

let server: TestServer | undefined;
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
  await server?.stop();
  server = undefined;
});

async function peer(host = '127.0.0.1'): Promise<RawPeer> {
  if (server === undefined) throw new Error('no server');
  const p = await udpPeer({ host: '127.0.0.1', port: server.server.sipPort }, host);
  peers.push(p);
  return p;
}

const responses = (p: RawPeer): SipMessage[] => p.received.filter((m) => m.type === 'response');

/** trunkline_sip_requests_refused_total{reason} as /metrics serves it. */
async function refusedMetric(reason: string): Promise<number> {
  const res = await server?.server.api?.app.inject({ method: 'GET', url: '/metrics' });
  const line = (res?.body ?? '').split('\n').find((l) => l.startsWith(`trunkline_sip_requests_refused_total{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('a SIP flood from one source meets the per-source rate limit', () => {
  it('thousands of OPTIONS and INVITEs per second from one socket: the excess is dropped; a second source is still served', async () => {
    server = await startTestServer({ file: { sip: { rateLimit: { perSecond: 200, burst: 200 } } } });
    const target = { host: '127.0.0.1', port: server.server.sipPort };
    const flooder = await peer('127.0.0.1');
    const other = await peer('127.0.0.2');
    const started = Date.now();
    const FLOOD_MS = 1500;
    let sent = 0;
    // The second source sends an OPTIONS every 100 ms and, like any UAC over UDP, retransmits it
    // (every 25 ms here) until answered: the kernel may drop a datagram under the flood, the
    // limiter must not. With a global instead of a per-source limit it would be starved.
    const otherCallIds: string[] = [];
    const otherSent = new Map<string, string>();
    let lastOther = 0;
    let lastRetransmit = 0;
    while (Date.now() - started < FLOOD_MS) {
      for (let i = 0; i < 50; i++, sent++) {
        // INVITEs carry a Require we do not support: if admitted they get 420, never a call.
        flooder.send(
          sent % 2 === 0
            ? request({ method: 'OPTIONS', target, peerPort: flooder.port })
            : request({ method: 'INVITE', target, peerPort: flooder.port, headers: ['Require: x-flood'] }),
        );
      }
      const now = Date.now();
      if (now - lastOther >= 100 && now - started < FLOOD_MS - 300) {
        lastOther = now;
        const callId = token();
        otherCallIds.push(callId);
        otherSent.set(callId, request({ method: 'OPTIONS', target, peerPort: other.port, callId }));
      }
      if (now - lastRetransmit >= 25) {
        lastRetransmit = now;
        const answered = new Set(responses(other).map((m) => (m.headers.get('call-id') ?? '').split('@')[0]));
        for (const [id, text] of otherSent) if (!answered.has(id)) other.send(text);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const elapsedSec = (Date.now() - started) / 1000;
    const otherAnsweredDuringFlood = new Set(responses(other).filter((m) => m.type === 'response' && m.status === 200).map((m) => (m.headers.get('call-id') ?? '').split('@')[0]));
    expect(sent / elapsedSec, 'the flood ran at thousands of requests per second').toBeGreaterThan(1000);
    await new Promise((r) => setTimeout(r, 500));
    // One per admitted request (a 420 to an INVITE is retransmitted until ACKed: count Call-IDs).
    const flooderFinal = [...new Map(responses(flooder).filter((m) => m.type === 'response' && m.status >= 200).map((m) => [m.headers.get('call-id'), m])).values()];
    // The bucket admits `burst` plus `perSecond` per elapsed second (the kernel may drop some too).
    const allowed = 200 + 200 * (elapsedSec + 0.6);
    expect(flooderFinal.length, `flooder got ${flooderFinal.length} answers to ${sent} requests in ${elapsedSec}s`).toBeLessThanOrEqual(allowed);
    expect(flooderFinal.length).toBeGreaterThan(0);
    expect(flooderFinal.length).toBeLessThan(sent / 4);
    for (const m of flooderFinal) expect(m.type === 'response' && [200, 420].includes(m.status)).toBe(true);
    // What the limiter dropped is counted and served on /metrics.
    const limited = server.server.ua.refused.rateLimited;
    expect(limited, `${limited} of ${sent} counted as rate-limited`).toBeGreaterThan(sent / 2);
    expect(limited).toBeLessThanOrEqual(sent);
    expect(await refusedMetric('rate-limited')).toBe(limited);
    // The second source was served while the flood went on.
    expect(otherCallIds.length).toBeGreaterThanOrEqual(8);
    const served = otherCallIds.filter((id) => otherAnsweredDuringFlood.has(id)).length;
    expect(served, `second source: ${served} of ${otherCallIds.length} OPTIONS answered during the flood`).toBeGreaterThanOrEqual(otherCallIds.length - 1);
    expect(server.server.calls.active).toBe(0);
    // Once the bucket refills, the flooder is served again.
    await new Promise((r) => setTimeout(r, 1100));
    const callId = token();
    flooder.send(request({ method: 'OPTIONS', target, peerPort: flooder.port, callId }));
    expect(await flooder.waitFor((m) => m.type === 'response' && m.status === 200 && (m.headers.get('call-id') ?? '').startsWith(callId), 2000)).toBeDefined();
  });
});

const SCANNERS = ['friendly-scanner', 'sipvicious', 'sipcli/v1.8', 'VaxSIPUserAgent/3.1', 'Sipvicious svmap 0.3'];

describe('scanners get nothing useful', () => {
  it('scanner User-Agents get silence, even from an allowed source; a normal OPTIONS from the same socket gets 200', async () => {
    server = await startTestServer();
    const target = { host: '127.0.0.1', port: server.server.sipPort };
    const p = await peer();
    for (const ua of SCANNERS) {
      for (const method of ['OPTIONS', 'REGISTER', 'INVITE']) p.send(request({ method, target, peerPort: p.port, userAgent: ua }));
    }
    await new Promise((r) => setTimeout(r, 400));
    expect(responses(p)).toHaveLength(0);
    expect(server.server.ua.stats.transactions).toBe(0);
    expect(server.server.ua.refused.scanner).toBe(SCANNERS.length * 3);
    expect(await refusedMetric('scanner')).toBe(SCANNERS.length * 3);
    const callId = token();
    p.send(request({ method: 'OPTIONS', target, peerPort: p.port, callId, userAgent: 'Carrier-SBC/1.0' }));
    expect(await p.waitFor((m) => m.type === 'response' && m.status === 200, 2000)).toBeDefined();
  });

  it('an OPTIONS and REGISTER sweep from an unknown source gets bare 403s: no Allow, Server, User-Agent, Supported or Accept; no transaction', async () => {
    server = await startTestServer({ file: { trunks: { inbound: [{ name: 'carrier', addresses: ['198.51.100.0/24'] }] } } });
    const target = { host: '127.0.0.1', port: server.server.sipPort };
    const p = await peer();
    const SWEEP = 100;
    for (let ext = 100; ext < 100 + SWEEP; ext++) {
      p.send(request({ method: ext % 2 === 0 ? 'OPTIONS' : 'REGISTER', target, peerPort: p.port, requestUser: String(ext) }));
    }
    const until = Date.now() + 3000;
    while (responses(p).length < SWEEP && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const all = responses(p);
    expect(all).toHaveLength(SWEEP);
    for (const m of all) {
      expect(m.type === 'response' && m.status).toBe(403);
      for (const h of ['allow', 'server', 'user-agent', 'supported', 'accept', 'contact', 'www-authenticate']) expect(m.headers.has(h), h).toBe(false);
    }
    // Refused statelessly, before any server transaction was created; counted.
    expect(server.server.ua.stats.transactions).toBe(0);
    expect(await refusedMetric('unknown-source')).toBe(SWEEP);
  });

  it("with unknownSource 'ignore' the sweep gets silence and creates no transaction", async () => {
    server = await startTestServer({ file: { sip: { unknownSource: 'ignore' }, trunks: { inbound: [{ name: 'carrier', addresses: ['198.51.100.0/24'] }] } } });
    const target = { host: '127.0.0.1', port: server.server.sipPort };
    const p = await peer();
    for (let ext = 100; ext < 150; ext++) {
      for (const method of ['OPTIONS', 'REGISTER', 'INVITE']) p.send(request({ method, target, peerPort: p.port, requestUser: String(ext) }));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(responses(p)).toHaveLength(0);
    expect(server.server.ua.stats.transactions).toBe(0);
    expect(server.server.calls.active).toBe(0);
  });
});
