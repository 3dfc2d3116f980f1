import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_SOURCES } from '../../shared/index.js';
import { CidrSet } from './cidr-set.js';

describe('CidrSet', () => {
  it('matches IPv4 prefixes at their boundaries', () => {
    const set = new CidrSet(['192.0.2.0/24', '198.51.100.7/32', '10.0.0.0/8']);
    expect(set.has('192.0.2.0')).toBe(true);
    expect(set.has('192.0.2.255')).toBe(true);
    expect(set.has('192.0.1.255')).toBe(false);
    expect(set.has('192.0.3.0')).toBe(false);
    expect(set.has('198.51.100.7')).toBe(true);
    expect(set.has('198.51.100.6')).toBe(false);
    expect(set.has('198.51.100.8')).toBe(false);
    expect(set.has('10.255.255.255')).toBe(true);
    expect(set.has('11.0.0.0')).toBe(false);
    expect(set.has('9.255.255.255')).toBe(false);
  });

  it('treats a bare address as /32 or /128', () => {
    const set = new CidrSet(['203.0.113.9', '2001:db8::9']);
    expect(set.has('203.0.113.9')).toBe(true);
    expect(set.has('203.0.113.8')).toBe(false);
    expect(set.has('2001:db8::9')).toBe(true);
    expect(set.has('2001:db8::8')).toBe(false);
    expect(set.has('2001:0db8:0000:0000:0000:0000:0000:0009')).toBe(true);
  });

  it('/0 matches every address of its family only', () => {
    const v4 = new CidrSet(['0.0.0.0/0']);
    expect(v4.has('0.0.0.0')).toBe(true);
    expect(v4.has('255.255.255.255')).toBe(true);
    expect(v4.has('::ffff:8.8.8.8')).toBe(true); // mapped = IPv4 peer
    expect(v4.has('2001:db8::1')).toBe(false);
    const v6 = new CidrSet(['::/0']);
    expect(v6.has('2001:db8::1')).toBe(true);
    expect(v6.has('::')).toBe(true);
    expect(v6.has('8.8.8.8')).toBe(false);
  });

  it('matches IPv6 prefixes across word boundaries', () => {
    const set = new CidrSet(['2001:db8:abcd:12::/64', 'fe80::/10', '2001:db8::1/128', '2001:db9:8000::/33']);
    expect(set.has('2001:db8:abcd:12:ffff:ffff:ffff:ffff')).toBe(true);
    expect(set.has('2001:db8:abcd:13::')).toBe(false);
    expect(set.has('febf:ffff::1')).toBe(true);
    expect(set.has('fec0::1')).toBe(false);
    expect(set.has('fe80::1%eth0')).toBe(true); // zone ignored
    expect(set.has('2001:db8::1')).toBe(true);
    expect(set.has('2001:db8::2')).toBe(false);
    expect(set.has('2001:db9:8000::1')).toBe(true);
    expect(set.has('2001:db9:ffff:ffff::')).toBe(true);
    expect(set.has('2001:db9:7fff:ffff::')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 sources against IPv4 prefixes, and mapped prefixes as IPv4', () => {
    const set = new CidrSet(['172.16.0.0/12', '::ffff:100.64.0.0/106']);
    expect(set.has('::ffff:172.16.0.1')).toBe(true);
    expect(set.has('::FFFF:172.31.255.255')).toBe(true);
    expect(set.has('::ffff:ac10:0001')).toBe(true); // hex form of 172.16.0.1
    expect(set.has('::ffff:172.32.0.0')).toBe(false);
    expect(set.has('100.127.255.255')).toBe(true);
    expect(set.has('100.128.0.0')).toBe(false);
    expect(set.has('::ffff:100.64.0.1')).toBe(true);
  });

  it('accepts the default config sources (loopback and private ranges)', () => {
    const set = new CidrSet(DEFAULT_ALLOWED_SOURCES);
    for (const a of ['127.0.0.1', '127.255.255.254', '::1', '10.1.2.3', '172.16.5.4', '172.31.0.1', '192.168.1.1', 'fd00::1', 'fc00::', '::ffff:127.0.0.1', '::ffff:192.168.0.10']) {
      expect(set.has(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '::2', '2001:db8::1', 'fe00::1', '11.0.0.1', '::ffff:8.8.8.8']) {
      expect(set.has(a), a).toBe(false);
    }
  });

  it('reports the longest matching prefix', () => {
    const set = new CidrSet(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3']);
    expect(set.longestMatch('10.1.2.3')).toBe(32);
    expect(set.longestMatch('10.1.9.9')).toBe(16);
    expect(set.longestMatch('10.9.9.9')).toBe(8);
    expect(set.longestMatch('11.0.0.0')).toBe(-1);
  });

  it('answers false for text that is not an address', () => {
    const set = new CidrSet(['0.0.0.0/0', '::/0']);
    for (const bad of ['', 'localhost', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', '1::2::3', ':::', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7:', '::1.2.3', '1:2:3:4:5:6:7:8::']) {
      expect(set.has(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('rejects bad entries at construction', () => {
    expect(() => new CidrSet(['10.0.0.0/33'])).toThrow(TypeError);
    expect(() => new CidrSet(['::/129'])).toThrow(TypeError);
    expect(() => new CidrSet(['10.0.0.0/'])).toThrow(TypeError);
    expect(() => new CidrSet(['example.com'])).toThrow(TypeError);
    expect(() => new CidrSet(['10.0.0.0/8/8'])).toThrow(TypeError);
  });

  it('ignores host bits below the prefix', () => {
    const set = new CidrSet(['192.168.1.77/24']);
    expect(set.has('192.168.1.1')).toBe(true);
    expect(set.has('192.168.2.1')).toBe(false);
  });

  it('agrees with a reference implementation on random addresses', () => {
    // A BigInt reference over random prefixes: slow but obviously right.
    const toBig = (groups: number[]): bigint => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const net = Array.from({ length: 8 }, () => rnd(0x10000));
      const bits = rnd(129);
      const text = `${net.map((g) => g.toString(16)).join(':')}/${bits}`;
      if (net[0] === 0 && net[1] === 0 && net[2] === 0 && net[3] === 0 && net[4] === 0 && net[5] === 0xffff) continue;
      const set = new CidrSet([text]);
      const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
      for (let k = 0; k < 5; k++) {
        const probe = net.slice();
        const flip = rnd(128);
        const gi = Math.floor(flip / 16);
        probe[gi] = (probe[gi] ?? 0) ^ (1 << (15 - (flip % 16)));
        const expected = (toBig(probe) & mask) === (toBig(net) & mask);
        expect(set.has(probe.map((g) => g.toString(16)).join(':')), `${text} vs flip ${flip}`).toBe(expected);
      }
    }
  });
});
