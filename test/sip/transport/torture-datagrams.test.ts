import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import type { SipMessage } from '../../../src/sip/message/index.js';
import { SipTransport } from '../../../src/sip/transport/index.js';
import type { InboundMessage, SipEndpoint } from '../../../src/sip/transport/index.js';

/**
 * Every RFC 4475 torture message, sent as a UDP datagram through a real socket: the transport
 * must deliver it, answer it (400/413/416/505) or drop it — and keep serving. Outbound datagrams
 * are redirected to the test socket so that no response leaves for the vectors' sent-by ports.
 */
const DIR = resolve(import.meta.dirname, '../../vectors/rfc4475');
const files = readdirSync(DIR).filter((f) => f.endsWith('.sip')).sort();

let transport: SipTransport;
const delivered: InboundMessage[] = [];
const answered: SipMessage[] = [];
const client = createSocket('udp4');
let clientPort = 0;

beforeAll(async () => {
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  clientPort = client.address().port;
  transport = new SipTransport({
    listen: { host: '127.0.0.1', port: 0 },
    protocols: ['udp'],
    maxMessageBytes: 65536,
    maxHeaders: 256,
    tcpIdleTimeoutMs: 60_000,
    clock: new FakeClock(),
    logger: silentLogger(),
  });
  const realSend = transport.send.bind(transport);
  transport.send = (m: SipMessage, d: SipEndpoint): Promise<void> => {
    answered.push(m);
    return realSend(m, { ...d, host: '127.0.0.1', port: clientPort });
  };
  transport.onMessage((m) => delivered.push(m));
  await transport.listen();
});

afterAll(async () => {
  await transport.close();
  await new Promise<void>((r) => client.close(() => r()));
});

async function sendAndSettle(data: Buffer): Promise<{ delivered: number; answered: SipMessage[] }> {
  const d0 = delivered.length;
  const a0 = answered.length;
  client.send(data, transport.port, '127.0.0.1');
  for (let i = 0; i < 20 && delivered.length === d0 && answered.length === a0; i++) await new Promise((r) => setTimeout(r, 10));
  return { delivered: delivered.length - d0, answered: answered.slice(a0) };
}

describe('RFC 4475 torture messages as UDP datagrams', () => {
  it('each is delivered, answered with an error status, or dropped; the transport keeps serving', async () => {
    const outcome = new Map<string, string>();
    for (const f of files) {
      const r = await sendAndSettle(readFileSync(join(DIR, f)));
      const statuses = r.answered.map((m) => (m.type === 'response' ? m.status : 0));
      outcome.set(f, r.delivered > 0 ? 'delivered' : statuses.length > 0 ? `answered ${statuses.join(',')}` : 'dropped');
      expect(r.delivered + r.answered.length).toBeLessThanOrEqual(1);
      for (const s of statuses) expect([400, 413, 416, 505]).toContain(s);
    }
    // §3.1.1 valid messages: an element must accept them
    for (const f of ['wsinv.sip', 'intmeth.sip', 'esc01.sip', 'escnull.sip', 'esc02.sip', 'lwsdisp.sip', 'longreq.sip', 'dblreq.sip', 'semiuri.sip', 'transports.sip', 'mpart01.sip']) {
      expect(outcome.get(f), f).toBe('delivered');
    }
    // §3.1.2.16 badvers: "SIP/7.0" → 505; §3.1.2.8 mismatch01: CSeq method ≠ method → 400
    expect(outcome.get('badvers.sip')).toBe('answered 505');
    expect(outcome.get('mismatch01.sip')).toBe('answered 400');
    // unreason/noreason are valid responses, but their Via sent-by (192.0.2.198, 192.0.2.105) is
    // not ours: §18.1.2 "the response MUST be silently discarded"
    expect(outcome.get('unreason.sip')).toBe('dropped');
    expect(outcome.get('noreason.sip')).toBe('dropped');
    const ok = await sendAndSettle(readFileSync(join(DIR, 'wsinv.sip')));
    expect(ok.delivered).toBe(1);
    // every delivered request carries the received stamp (§18.2.1: sent-by is a name or another IP)
    for (const m of delivered) if (m.message.type === 'request') expect(m.message.headers.get('via')).toMatch(/received=127\.0\.0\.1/);
  });
});
