/**
 * RFC 3263 §4 target resolution (without NAPTR) and RFC 2782 SRV selection, against a fake DNS
 * that records the queries it was asked.
 */
import { describe, expect, it } from 'vitest';
import { parseUri } from '../../../src/sip/message/index.js';
import { pickSrv, resolveHop, type HopDns, type SrvRecord } from '../../../src/sip/ua/index.js';

function fakeDns(srv: Record<string, readonly SrvRecord[]>, a: Record<string, string>): HopDns & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    srv: (name) => {
      asked.push(`SRV ${name}`);
      const r = srv[name];
      return r === undefined ? Promise.reject(Object.assign(new Error(`queryNoData ${name}`), { code: 'ENODATA' })) : Promise.resolve(r);
    },
    address: (host) => {
      asked.push(`A ${host}`);
      const ip = a[host];
      return ip === undefined ? Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })) : Promise.resolve(ip);
    },
  };
}

const SRV: Record<string, readonly SrvRecord[]> = {
  '_sip._udp.carrier.example': [
    { name: 'sbc-b.carrier.example', port: 5080, priority: 20, weight: 0 },
    { name: 'sbc-a.carrier.example', port: 5070, priority: 10, weight: 100 },
  ],
  '_sip._tcp.carrier.example': [{ name: 'sbc-t.carrier.example', port: 5090, priority: 10, weight: 0 }],
  '_sip._udp.gone.example': [{ name: '.', port: 0, priority: 0, weight: 0 }],
};
const A = { 'sbc-a.carrier.example': '192.0.2.10', 'sbc-b.carrier.example': '192.0.2.20', 'sbc-t.carrier.example': '192.0.2.30', 'plain.example': '198.51.100.7', 'carrier.example': '192.0.2.1' };

describe('resolveHop (RFC 3263 §4, no NAPTR)', () => {
  it('an IP literal is used as is, port 5060 by default, with no DNS query', async () => {
    const dns = fakeDns(SRV, A);
    expect(await resolveHop(parseUri('sip:+15551230000@203.0.113.5'), 'udp', undefined, dns)).toEqual({ protocol: 'udp', host: '203.0.113.5', port: 5060 });
    expect(await resolveHop(parseUri('sip:x@[2001:db8::1]:5070;transport=tcp'), 'udp', 'c1', dns)).toEqual({ protocol: 'tcp', host: '2001:db8::1', port: 5070, connectionId: 'c1' });
    expect(dns.asked).toEqual([]);
  });

  it('a name with a port is an A/AAAA lookup only (§4.2)', async () => {
    const dns = fakeDns(SRV, A);
    expect(await resolveHop(parseUri('sip:x@carrier.example:5062'), 'udp', undefined, dns)).toEqual({ protocol: 'udp', host: '192.0.2.1', port: 5062 });
    expect(dns.asked).toEqual(['A carrier.example']);
  });

  it('a name without a port follows its SRV records: lowest priority, the record’s port, the target’s address', async () => {
    const dns = fakeDns(SRV, A);
    expect(await resolveHop(parseUri('sip:+15551230000@carrier.example'), 'udp', undefined, dns)).toEqual({ protocol: 'udp', host: '192.0.2.10', port: 5070 });
    expect(dns.asked).toEqual(['SRV _sip._udp.carrier.example', 'A sbc-a.carrier.example']);
  });

  it('the transport picks the SRV service (_sip._tcp for transport=tcp)', async () => {
    const dns = fakeDns(SRV, A);
    expect(await resolveHop(parseUri('sip:carrier.example;transport=tcp'), 'udp', undefined, dns)).toEqual({ protocol: 'tcp', host: '192.0.2.30', port: 5090 });
  });

  it('maddr replaces the host as the target', async () => {
    const dns = fakeDns(SRV, A);
    expect(await resolveHop(parseUri('sip:x@elsewhere.example;maddr=carrier.example'), 'udp', undefined, dns)).toEqual({ protocol: 'udp', host: '192.0.2.10', port: 5070 });
  });

  it('no SRV published: the name itself on 5060', async () => {
    const dns = fakeDns(SRV, A);
    expect(await resolveHop(parseUri('sip:x@plain.example'), 'udp', undefined, dns)).toEqual({ protocol: 'udp', host: '198.51.100.7', port: 5060 });
    expect(dns.asked).toEqual(['SRV _sip._udp.plain.example', 'A plain.example']);
  });

  it('an SRV target of "." means no SIP service there; an unknown name rejects', async () => {
    const dns = fakeDns(SRV, A);
    await expect(resolveHop(parseUri('sip:x@gone.example'), 'udp', undefined, dns)).rejects.toThrow(/no SIP service at gone.example/);
    await expect(resolveHop(parseUri('sip:x@nowhere.example'), 'udp', undefined, dns)).rejects.toThrow(/ENOTFOUND nowhere.example/);
  });
});

describe('pickSrv (RFC 2782)', () => {
  const tier: SrvRecord[] = [
    { name: 'a', port: 1, priority: 1, weight: 60 },
    { name: 'b', port: 2, priority: 1, weight: 30 },
    { name: 'c', port: 3, priority: 1, weight: 10 },
    { name: 'backup', port: 4, priority: 2, weight: 100 },
  ];

  it('never picks a higher priority while a lower one has a usable record', () => {
    for (let i = 0; i < 100; i++) expect(pickSrv(tier, () => i / 100)?.name).not.toBe('backup');
  });

  it('draws in proportion to weight', () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const name = pickSrv(tier, () => (i + 0.5) / 1000)?.name ?? '';
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 600, b: 300, c: 100 });
  });

  it('all weights 0: every record of the tier can be drawn; "." records are not usable', () => {
    const zero: SrvRecord[] = [
      { name: 'x', port: 1, priority: 5, weight: 0 },
      { name: 'y', port: 2, priority: 5, weight: 0 },
    ];
    expect(new Set([0, 0.49, 0.5, 0.99].map((r) => pickSrv(zero, () => r)?.name))).toEqual(new Set(['x', 'y']));
    expect(pickSrv([{ name: '.', port: 0, priority: 0, weight: 0 }])).toBeUndefined();
  });
});
