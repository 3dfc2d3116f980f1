import { describe, expect, it } from 'vitest';
import { SequenceUnwrapper } from './sequence-unwrapper.js';
import { TimestampUnwrapper } from './timestamp-unwrapper.js';

describe('SequenceUnwrapper (RFC 3550 §A.1 extended sequence numbers)', () => {
  it('counts a cycle when 65535 is followed by 0', () => {
    const u = new SequenceUnwrapper();
    const a = u.unwrap(65534);
    expect(u.unwrap(65535)).toBe(a + 1);
    expect(u.unwrap(0)).toBe(a + 2);
    expect(u.unwrap(1)).toBe(a + 3);
  });

  it('places a reordered packet from before the wrap behind, not a cycle ahead', () => {
    const u = new SequenceUnwrapper();
    const a = u.unwrap(65535);
    expect(u.unwrap(1)).toBe(a + 2);
    expect(u.unwrap(0)).toBe(a + 1);
    expect(u.unwrap(65534)).toBe(a - 1);
    expect(u.unwrap(2)).toBe(a + 3);
  });

  it('keeps the first value positive even for a packet reordered before it', () => {
    const u = new SequenceUnwrapper();
    u.unwrap(0);
    expect(u.unwrap(65535)).toBeGreaterThanOrEqual(0);
  });

  it('a late packet does not pull the reference back', () => {
    const u = new SequenceUnwrapper();
    const a = u.unwrap(100);
    u.unwrap(100 - 30000 + 65536); // far behind
    expect(u.unwrap(101)).toBe(a + 1);
  });

  it('reset forgets the stream', () => {
    const u = new SequenceUnwrapper();
    u.unwrap(10);
    u.unwrap(40000);
    u.reset();
    expect(u.unwrap(5)).toBe(0x10000 + 5);
  });
});

describe('TimestampUnwrapper (32-bit RTP timestamp, RFC 3550 §5.1)', () => {
  it('crosses 2^32 forward', () => {
    const u = new TimestampUnwrapper();
    const a = u.unwrap(0xffff_ff60);
    expect(u.unwrap(0x0000_0000)).toBe(a + 160);
    expect(u.unwrap(0x0000_00a0)).toBe(a + 320);
  });

  it('a reordered packet from before the wrap stays behind', () => {
    const u = new TimestampUnwrapper();
    const a = u.unwrap(0xffff_ff60);
    expect(u.unwrap(0x0000_00a0)).toBe(a + 320);
    expect(u.unwrap(0x0000_0000)).toBe(a + 160);
    expect(u.unwrap(0xffff_fec0)).toBe(a - 160);
  });

  it('a forward jump of less than 2^31 is forward (silence suppression can skip a lot)', () => {
    const u = new TimestampUnwrapper();
    const a = u.unwrap(1000);
    expect(u.unwrap(1000 + 0x7fff_0000)).toBe(a + 0x7fff_0000);
  });
});
