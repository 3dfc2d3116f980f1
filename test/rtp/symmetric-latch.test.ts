import { describe, expect, it } from 'vitest';
import { SymmetricLatch } from '../../src/rtp/index.js';

describe('SymmetricLatch (RFC 4961)', () => {
  it('accepts the SDP source and drops others', () => {
    const l = new SymmetricLatch(3);
    l.setExpected('10.0.0.5', 4000);
    expect(l.check('10.0.0.5', 4000, 0x11, true)).toBe('accept');
    expect(l.check('10.0.0.9', 4000, 0x11, true)).toBe('drop');
    expect(l.check('10.0.0.5', 4001, 0x11, true)).toBe('drop');
    expect(l.latched).toBe(false);
    expect(l.dropped).toBe(2);
  });

  it('latches to a NAT source after N consecutive packets with one SSRC and a valid PT', () => {
    const l = new SymmetricLatch(3);
    l.setExpected('192.168.1.20', 4000); // private address from SDP, never heard from
    expect(l.check('203.0.113.7', 61000, 0x22, true)).toBe('drop');
    expect(l.check('203.0.113.7', 61000, 0x22, true)).toBe('drop');
    expect(l.check('203.0.113.7', 61000, 0x22, true)).toBe('accept');
    expect(l.latched).toBe(true);
    expect([l.address, l.port]).toEqual(['203.0.113.7', 61000]);
    // Now the old address is foreign.
    expect(l.check('192.168.1.20', 4000, 0x22, true)).toBe('drop');
  });

  it('a broken run (other SSRC, bad PT, another source, the real source alive) does not latch', () => {
    const l = new SymmetricLatch(3);
    l.setExpected('198.51.100.1', 5000);
    l.check('198.51.100.1', 5000, 0x33, true); // real source known, SSRC 0x33
    // attacker with another SSRC never latches
    for (let i = 0; i < 10; i++) expect(l.check('6.6.6.6', 666, 0x44, true)).toBe('drop');
    // same SSRC but wrong PT
    l.check('6.6.6.6', 666, 0x33, true);
    l.check('6.6.6.6', 666, 0x33, false);
    l.check('6.6.6.6', 666, 0x33, true);
    expect(l.latched).toBe(false);
    // interleaved with the live real source: never 3 consecutive
    for (let i = 0; i < 10; i++) {
      l.check('198.51.100.1', 5000, 0x33, true);
      l.check('6.6.6.6', 666, 0x33, true);
      l.check('6.6.6.6', 666, 0x33, true);
    }
    expect(l.latched).toBe(false);
    // alternating two foreign sources
    for (let i = 0; i < 10; i++) {
      l.check('7.7.7.7', 1, 0x33, true);
      l.check('8.8.8.8', 1, 0x33, true);
    }
    expect(l.latched).toBe(false);
  });

  it('a new remote from SDP (re-INVITE) resets the latch', () => {
    const l = new SymmetricLatch(1);
    l.setExpected('10.0.0.1', 1000);
    l.check('1.2.3.4', 9, 7, true);
    expect(l.latched).toBe(true);
    l.setExpected('10.0.0.2', 2000);
    expect(l.latched).toBe(false);
    expect([l.address, l.port]).toEqual(['10.0.0.2', 2000]);
  });
});
