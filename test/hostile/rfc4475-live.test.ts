import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { request, tcpPeer, token, udpPeer, type RawPeer } from './raw-sip.js';
import { startServer } from './server.js';

/**
 * The whole RFC 4475 set against a running Trunkline (transport, transaction layer, UA, call
 * layer and bot behind it), over UDP and over TCP. The parser-level and transport-level checks
 * live in test/sip/message/torture.test.ts and test/sip/transport/torture-datagrams.test.ts;
 * this one proves the assembled server survives them and still answers OPTIONS.
 */
const DIR = resolve(import.meta.dirname, '../vectors/rfc4475');
const vectors = readdirSync(DIR).filter((f) => f.endsWith('.sip')).sort().map((f) => ({ name: f, data: readFileSync(join(DIR, f)) }));

let t: TestServer;
let target: { host: string; port: number };

beforeAll(async () => {
  // T1 50 ms: calls the valid INVITE vectors set up are hung up at stop(); their BYEs go to
  // unreachable RFC 5737 addresses and give up after 64·T1.
  t = await startServer({ rtpPairs: 100, file: { sip: { rateLimit: { perSecond: 0 }, t1: 50, t2: 200 } } });
  target = { host: '127.0.0.1', port: t.server.sipPort };
});

afterAll(async () => {
  await t.stop();
});

async function optionsAnswered(p: RawPeer, transport: 'UDP' | 'TCP'): Promise<boolean> {
  const callId = token();
  p.send(request({ method: 'OPTIONS', target, peerPort: p.port, callId, transport }));
  const r = await p.waitFor((m) => m.type === 'response' && m.status === 200 && (m.headers.get('call-id') ?? '').startsWith(callId), 3000);
  return r !== undefined;
}

describe('RFC 4475 torture set against a live server', () => {
  it(`all ${vectors.length} vectors over UDP, each sent twice: the server keeps answering OPTIONS`, async () => {
    expect(vectors.length).toBeGreaterThanOrEqual(49);
    const p = await udpPeer(target);
    for (const v of vectors) {
      p.send(v.data);
      p.send(v.data);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await optionsAnswered(p, 'UDP')).toBe(true);
    await p.close();
  });

  it('each vector over its own TCP connection, then all of them on one connection: OPTIONS still answered on a fresh one', async () => {
    for (const v of vectors) {
      const c = await tcpPeer(target);
      c.send(v.data);
      await new Promise((r) => setTimeout(r, 5));
      await c.close();
    }
    const one = await tcpPeer(target);
    for (const v of vectors) one.send(v.data);
    await new Promise((r) => setTimeout(r, 200));
    await one.close();
    const fresh = await tcpPeer(target);
    expect(await optionsAnswered(fresh, 'TCP')).toBe(true);
    await fresh.close();
    const p = await udpPeer(target);
    expect(await optionsAnswered(p, 'UDP')).toBe(true);
    await p.close();
  });
});
