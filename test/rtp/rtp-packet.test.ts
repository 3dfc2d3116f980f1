import { describe, expect, it } from 'vitest';
import { RtpPacketView, RtpWriter, isRtcpMuxed } from '../../src/rtp/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('RtpPacketView (RFC 3550 §5.1)', () => {
  it('reads a plain PCMU packet in place', () => {
    // V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0xdeadbeef | ssrc 0x01020304 | 4 payload bytes
    const buf = hex('80 80 1234 deadbeef 01020304 ffff7f00');
    const v = new RtpPacketView();
    expect(v.parse(buf)).toBeNull();
    expect(v.dump()).toMatchObject({
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: true,
      payloadType: 0,
      sequenceNumber: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
      payloadOffset: 12,
      payloadLength: 4,
    });
    expect(v.payloadByte(2)).toBe(0x7f);
  });

  it('reads a packet at an offset inside a larger buffer', () => {
    const inner = hex('80 08 0001 00000010 aabbccdd 0102');
    const buf = Buffer.concat([hex('ffffff'), inner, hex('eeee')]);
    const v = new RtpPacketView();
    expect(v.parse(buf, 3, inner.length)).toBeNull();
    expect(v.payloadType).toBe(8);
    expect(v.payloadOffset).toBe(3 + 12);
    expect(v.payloadLength).toBe(2);
  });

  it('skips CSRCs (CC) and a header extension (profile + length in words, §5.3.1)', () => {
    // CC=2, X=1: 2 CSRCs, extension profile 0xBEDE length 2 words, then 3 payload bytes
    const buf = hex('92 65 0005 00000100 11111111 aaaaaaaa bbbbbbbb bede0002 10ff0000 20ee0000 010203');
    const v = new RtpPacketView();
    expect(v.parse(buf)).toBeNull();
    expect(v.csrcCount).toBe(2);
    expect(v.csrc(0)).toBe(0xaaaaaaaa);
    expect(v.csrc(1)).toBe(0xbbbbbbbb);
    expect(() => v.csrc(2)).toThrow(RangeError);
    expect(v.extension).toBe(true);
    expect(v.extensionProfile).toBe(0xbede);
    expect(v.extensionLength).toBe(8);
    expect(v.marker).toBe(false);
    expect(v.payloadType).toBe(101);
    expect(v.payloadOffset).toBe(12 + 8 + 4 + 8);
    expect(v.payloadLength).toBe(3);
  });

  it('removes padding: the last octet counts the padding including itself', () => {
    const buf = hex('a0 00 0001 00000000 00000001 c1c2c3 000003');
    const v = new RtpPacketView();
    expect(v.parse(buf)).toBeNull();
    expect(v.paddingLength).toBe(3);
    expect(v.payloadLength).toBe(3);
  });

  it('accepts padding that is the whole body (empty payload)', () => {
    const buf = hex('a0 00 0001 00000000 00000001 00000004');
    const v = new RtpPacketView();
    expect(v.parse(buf)).toBeNull();
    expect(v.payloadLength).toBe(0);
  });

  it('accepts the boundary lengths: exactly 12 bytes, and CSRCs ending at the packet end', () => {
    const v = new RtpPacketView();
    expect(v.parse(hex('80 00 0001 00000000 00000001'))).toBeNull();
    expect(v.payloadLength).toBe(0);
    expect(v.parse(hex('81 00 0001 00000000 00000001 00000009'))).toBeNull();
    expect(v.payloadLength).toBe(0);
    expect(v.parse(hex('90 00 0001 00000000 00000001 00000000'))).toBeNull(); // empty extension
    expect(v.payloadLength).toBe(0);
  });

  it.each([
    ['too-short', '80 00 0001 00000000 000000'],
    ['too-short', ''],
    ['bad-version', '40 00 0001 00000000 00000001 00'],
    ['bad-version', 'c0 00 0001 00000000 00000001 00'],
    ['csrc-overrun', '8f 00 0001 00000000 00000001 00000002'],
    ['extension-overrun', '90 00 0001 00000000 00000001 bede'],
    ['extension-overrun', '90 00 0001 00000000 00000001 bede0002 00000000'],
    ['bad-padding', 'a0 00 0001 00000000 00000001 00 00 00 08'],
    ['bad-padding', 'a0 00 0001 00000000 00000001 01 02 03 00'],
    ['bad-padding', 'b0 00 0001 00000000 00000001 bede0000 05'],
  ])('rejects %s: %s', (reason, bytes) => {
    const v = new RtpPacketView();
    expect(v.parse(hex(bytes))).toBe(reason);
  });

  it('RtpWriter writes what RtpPacketView reads, with the sequence number advancing and wrapping', () => {
    const w = new RtpWriter(0xcafebabe, 0xffff);
    const out = Buffer.alloc(64);
    const payload = Uint8Array.from([9, 8, 7, 6, 5]);
    const n = w.write(out, 4, 0, true, 0xfffffff0, payload, 1, 3);
    expect(n).toBe(15);
    const v = new RtpPacketView();
    expect(v.parse(out, 4, n)).toBeNull();
    expect(v.dump()).toMatchObject({ marker: true, payloadType: 0, sequenceNumber: 0xffff, timestamp: 0xfffffff0, ssrc: 0xcafebabe, payloadLength: 3 });
    expect([...out.subarray(v.payloadOffset, v.payloadOffset + 3)]).toEqual([8, 7, 6]);
    w.write(out, 0, 8, false, 160, payload);
    expect(v.parse(out, 0, 17)).toBeNull();
    expect(v.sequenceNumber).toBe(0);
    expect(v.marker).toBe(false);
    expect(v.payloadType).toBe(8);
    expect(() => w.write(Buffer.alloc(10), 0, 0, false, 0, payload)).toThrow(RangeError);
    expect(() => new RtpWriter(2 ** 32)).toThrow(RangeError);
  });

  it('classifies RTCP on a muxed port by the second octet (RFC 5761 §4)', () => {
    expect(isRtcpMuxed(hex('80c8'), 0, 2)).toBe(true); // SR 200
    expect(isRtcpMuxed(hex('80c9'), 0, 2)).toBe(true); // RR 201
    expect(isRtcpMuxed(hex('80e5'), 0, 2)).toBe(false); // RTP marker + PT 101
    expect(isRtcpMuxed(hex('8000'), 0, 2)).toBe(false);
  });
});
