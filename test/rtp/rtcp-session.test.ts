import { describe, expect, it } from 'vitest';
import type { ReceiverReportPacket, ByePacket } from 'rtp.js/packets';
import { CompoundPacket, SdesPacket, SenderReportPacket } from 'rtp.js/packets';
import { FakeClock } from '../../src/shared/index.js';
import { RtcpSession, RtpReceiveStats } from '../../src/rtp/index.js';

/** Feeds packets seq/ts with arrival at `arrivalMs` (ms → 8 kHz units). */
function feed(stats: RtpReceiveStats, seqs: number[], arrivalMs: (i: number) => number, ts: (i: number) => number = (i) => i * 160): void {
  seqs.forEach((seq, i) => stats.update(0x1111, seq & 0xffff, ts(i) >>> 0, arrivalMs(i) * 8, 160));
}

describe('RtpReceiveStats (RFC 3550 A.1, A.3, A.8)', () => {
  it('counts expected, lost and fraction lost across a sequence wrap', () => {
    const s = new RtpReceiveStats();
    // 65530 … 65535, 0 … 13, with 3 packets missing (65534, 2, 3)
    const seqs: number[] = [];
    for (let q = 65530; q < 65536 + 14; q++) if (![65534, 65536 + 2, 65536 + 3].includes(q)) seqs.push(q);
    feed(s, seqs, (i) => i * 20);
    // A.1 probation: the first packet only starts the source; base_seq is the second one.
    expect(s.expected).toBe(65536 + 14 - 65531);
    expect(s.extendedMaxSeq).toBe(65536 + 13);
    expect(s.cumulativeLost).toBe(3);
    // 3 lost of 19 expected → floor(3·256/19) = 40
    expect(s.takeFractionLost()).toBe(40);
    // Next interval without loss
    feed(s, [14, 15, 16], (i) => 400 + i * 20, (i) => (20 + i) * 160);
    expect(s.takeFractionLost()).toBe(0);
  });

  it('jitter is 0 for perfectly paced packets and follows J += (|D| − J)/16 otherwise', () => {
    const s = new RtpReceiveStats();
    feed(s, [1, 2, 3, 4, 5], (i) => i * 20);
    expect(s.jitter).toBe(0);
    // One packet 10 ms late: D = 80 units, then the next on time: D = 80 again.
    s.update(0x1111, 6, 5 * 160, (5 * 20 + 10) * 8, 160);
    expect(s.jitter).toBeCloseTo(80 / 16, 6);
    s.update(0x1111, 7, 6 * 160, 6 * 20 * 8, 160);
    expect(s.jitter).toBeCloseTo(5 + (80 - 5) / 16, 6);
  });

  it('duplicates make cumulative lost negative (A.3 allows it)', () => {
    const s = new RtpReceiveStats();
    feed(s, [1, 2, 3, 3, 3], (i) => i * 20);
    expect(s.cumulativeLost).toBe(-2);
  });
});

describe('RtcpSession (RFC 3550 §6)', () => {
  it('builds SR + SDES CNAME when sending, RR + SDES when not, and BYE on close', () => {
    const clock = new FakeClock(1000);
    const rtcp = new RtcpSession({ ssrc: 0xabcdef01, cname: 'bot@trunkline', clock, wallClockMs: 1_700_000_000_000 });
    const out = new Uint8Array(1500);
    let n = rtcp.buildReport(out, { packetCount: 50, octetCount: 8000, rtpTimestamp: 12345 }, null);
    let c = new CompoundPacket(new DataView(out.buffer, 0, n));
    const [first, second] = c.getPackets();
    expect(first).toBeInstanceOf(SenderReportPacket);
    const sr = first as SenderReportPacket;
    expect(sr.getSsrc()).toBe(0xabcdef01);
    expect(sr.getPacketCount()).toBe(50);
    expect(sr.getOctetCount()).toBe(8000);
    expect(sr.getRtpTimestamp()).toBe(12345);
    expect(sr.getNtpSeconds()).toBe(1_700_000_000 + 2208988800);
    expect(second).toBeInstanceOf(SdesPacket);
    expect((second as SdesPacket).getChunks()[0]!.getItems()).toEqual([{ type: 1, text: 'bot@trunkline' }]);

    n = rtcp.buildReport(out, null, null, true, 'hangup');
    c = new CompoundPacket(new DataView(out.buffer, 0, n));
    const packets = c.getPackets();
    expect(packets.map((p) => p.getPacketType())).toEqual([201, 202, 203]);
    expect((packets[2] as ByePacket).getSsrcs()).toEqual([0xabcdef01]);
    expect((packets[2] as ByePacket).getReason()).toBe('hangup');
  });

  it('randomises the interval to 0.5–1.5 × nominal (§6.3.1)', () => {
    const clock = new FakeClock();
    const values = [0, 0.5, 0.999];
    const rtcp = new RtcpSession({ ssrc: 1, cname: 'x', clock, random: () => values.shift() ?? 0 });
    expect(rtcp.nextIntervalMs()).toBe(2500);
    expect(rtcp.nextIntervalMs()).toBe(5000);
    expect(rtcp.nextIntervalMs()).toBeCloseTo(7495, 0);
  });

  it('computes RTT from LSR/DLSR (§6.4.1) and reports loss and jitter both ways', () => {
    const clock = new FakeClock(0);
    const a = new RtcpSession({ ssrc: 0xa, cname: 'a', clock, wallClockMs: 1_700_000_000_000 });
    const b = new RtcpSession({ ssrc: 0xb, cname: 'b', clock, wallClockMs: 1_600_000_000_000 });
    const buf = new Uint8Array(1500);
    // B received A's stream with 2 losses out of 10.
    const bStats = new RtpReceiveStats();
    feed(bStats, [0, 1, 2, 3, 5, 6, 8, 9, 10, 11].map((s) => s + 100), (i) => i * 20);
    (bStats as { ssrc: number }).ssrc = 0xa;
    // A sends an SR; it takes 30 ms to reach B.
    let n = a.buildReport(buf, { packetCount: 10, octetCount: 1600, rtpTimestamp: 0 }, null);
    const sr = buf.slice(0, n);
    clock.advance(30);
    expect(b.handle(sr, 0, n)).toBe(true);
    // B holds it 250 ms, then sends an RR; 40 ms back to A → RTT 70 ms.
    clock.advance(250);
    n = b.buildReport(buf, null, bStats);
    clock.advance(40);
    expect(a.handle(buf, 0, n)).toBe(true);
    expect(a.remote.rttMs).toBeGreaterThan(69.9);
    expect(a.remote.rttMs).toBeLessThan(70.1);
    expect(a.remote.cumulativeLost).toBe(2);
    expect(a.remote.fractionLost).toBeCloseTo(Math.floor((2 * 256) / 11) / 256, 6);
    const rr = new CompoundPacket(new DataView(buf.buffer, 0, n)).getPackets()[0] as ReceiverReportPacket;
    expect(rr.getReports()[0]!.getHighestSeqNumber()).toBe(111);
  });

  it('encodes a negative cumulative lost as 24-bit two’s complement', () => {
    const clock = new FakeClock(0);
    const a = new RtcpSession({ ssrc: 0xa, cname: 'a', clock });
    const b = new RtcpSession({ ssrc: 0xb, cname: 'b', clock });
    const s = new RtpReceiveStats();
    feed(s, [1, 2, 3, 3, 3], (i) => i * 20);
    (s as { ssrc: number }).ssrc = 0xa;
    const buf = new Uint8Array(1500);
    const n = b.buildReport(buf, null, s);
    expect([...buf.subarray(8 + 5, 8 + 8)]).toEqual([0xff, 0xff, 0xfe]);
    a.handle(buf, 0, n);
    expect(a.remote.cumulativeLost).toBe(-2);
    expect(a.remote.rttMs).toBe(-1); // no SR from A yet → LSR 0 → no RTT
  });

  it('counts garbage as malformed', () => {
    const rtcp = new RtcpSession({ ssrc: 1, cname: 'x', clock: new FakeClock() });
    expect(rtcp.handle(Uint8Array.from([0x80, 0x00, 0, 1, 0, 0, 0, 0]), 0, 8)).toBe(false);
    expect(rtcp.handle(Uint8Array.from([0x80, 0xc8, 0, 0x30, 0, 0, 0, 0]), 0, 8)).toBe(false);
    expect(rtcp.remote.malformed).toBe(2);
  });
});
