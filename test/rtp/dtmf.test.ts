import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DtmfReceiver, DtmfSender, RtpPacketView, RtpWriter, dtmfDigitToEvent, type DtmfEvent } from '../../src/rtp/index.js';
import { SIPP_PCAP_DIR } from '../e2e/media-assets.js';
import { readPcapUdp } from './pcap-reader.js';

/** One RFC 4733 §2.3 payload. */
function ev(event: number, end: boolean, duration: number, volume = 10): Uint8Array {
  return Uint8Array.from([event, (end ? 0x80 : 0) | volume, duration >> 8, duration & 0xff]);
}

function receiver(): { rx: DtmfReceiver; events: DtmfEvent[] } {
  const events: DtmfEvent[] = [];
  const rx = new DtmfReceiver((e) => events.push(e));
  return { rx, events };
}

describe('DtmfReceiver (RFC 4733 §2.5.2)', () => {
  it('reports a press once: start with marker, updates, end ×3 (§2.5.1.4)', () => {
    const { rx, events } = receiver();
    const ts = 16000;
    rx.push(ts, true, ev(5, false, 160), 0, 4, 0);
    rx.push(ts, false, ev(5, false, 320), 0, 4, 20);
    rx.push(ts, false, ev(5, false, 480), 0, 4, 40);
    rx.push(ts, false, ev(5, true, 640), 0, 4, 60);
    rx.push(ts, false, ev(5, true, 640), 0, 4, 80);
    rx.push(ts, false, ev(5, true, 640), 0, 4, 100);
    expect(events).toEqual([{ digit: '5', durationMs: 80, endTimestamp: ts + 640 }]);
    expect(rx.stats.duplicates).toBe(2);
  });

  it('handles a start packet without the marker bit and a lost start packet', () => {
    const { rx, events } = receiver();
    rx.push(1000, false, ev(11, false, 320), 0, 4, 0); // first seen is an update
    rx.push(1000, false, ev(11, true, 800), 0, 4, 40);
    expect(events).toEqual([{ digit: '#', durationMs: 100, endTimestamp: 1800 }]);
  });

  it('reports an event whose end packets were all lost when the next event starts', () => {
    const { rx, events } = receiver();
    rx.push(1000, true, ev(1, false, 160), 0, 4, 0);
    rx.push(1000, false, ev(1, false, 480), 0, 4, 40);
    rx.push(5000, true, ev(2, false, 160), 0, 4, 500);
    rx.push(5000, false, ev(2, true, 320), 0, 4, 520);
    expect(events.map((e) => [e.digit, e.durationMs])).toEqual([
      ['1', 60],
      ['2', 40],
    ]);
    expect(rx.stats.endsMissing).toBe(1);
  });

  it('reports after a timeout when no end packet ever comes', () => {
    const { rx, events } = receiver();
    rx.push(1000, true, ev(0, false, 160), 0, 4, 0);
    rx.poll(500);
    expect(events).toHaveLength(0);
    rx.poll(1000);
    expect(events).toEqual([{ digit: '0', durationMs: 20, endTimestamp: 1160 }]);
    rx.poll(3000);
    expect(events).toHaveLength(1);
  });

  it('two presses of the same digit are two events (different timestamps)', () => {
    const { rx, events } = receiver();
    for (const ts of [1000, 4000]) {
      rx.push(ts, true, ev(7, false, 160), 0, 4, 0);
      for (let i = 0; i < 3; i++) rx.push(ts, false, ev(7, true, 800), 0, 4, 0);
    }
    expect(events.map((e) => e.digit)).toEqual(['7', '7']);
  });

  it('joins the segments of a long event (§2.5.1.3: new timestamp, no E bit on the first)', () => {
    const { rx, events } = receiver();
    rx.push(0, true, ev(9, false, 32000), 0, 4, 0);
    rx.push(0, false, ev(9, false, 0xffff), 0, 4, 0);
    rx.push(0xffff, false, ev(9, false, 160), 0, 4, 0);
    rx.push(0xffff, false, ev(9, true, 4001), 0, 4, 0);
    expect(events).toEqual([{ digit: '9', durationMs: (0xffff + 4001) / 8, endTimestamp: 0xffff + 4001 }]);
  });

  it('maps * # A-D and flash; ignores non-DTMF events and short payloads', () => {
    const { rx, events } = receiver();
    const codes = [10, 11, 12, 13, 14, 15, 16, 40];
    codes.forEach((c, i) => rx.push(i * 2000, true, ev(c, true, 800), 0, 4, 0));
    rx.push(99999, true, Uint8Array.from([1, 2]), 0, 2, 0);
    expect(events.map((e) => e.digit)).toEqual(['*', '#', 'A', 'B', 'C', 'D', 'flash']);
    expect(rx.stats.ignored).toBe(1);
    expect(rx.stats.malformed).toBe(1);
    expect(dtmfDigitToEvent('a')).toBe(12);
    expect(() => dtmfDigitToEvent('x')).toThrow(RangeError);
  });

  // Debian's sip-tester ships it; scripts/install-test-tools.sh installs the package when it is missing.
  const pcap = join(SIPP_PCAP_DIR, 'dtmf_2833_1.pcap');
  it('decodes what SIPp sends (dtmf_2833_1.pcap: digit 1, 280 ms, end ×3 same seq)', () => {
    expect(existsSync(pcap), `${pcap} (Debian package sip-tester)`).toBe(true);
    const { rx, events } = receiver();
    const view = new RtpPacketView();
    const packets = readPcapUdp(pcap);
    expect(packets.length).toBe(10);
    const t0 = packets[0]!.timeMs;
    for (const p of packets) {
      expect(view.parse(p.payload)).toBeNull();
      expect(view.payloadType).toBe(101);
      rx.push(view.timestamp, view.marker, p.payload, view.payloadOffset, view.payloadLength, p.timeMs - t0);
    }
    expect(events).toEqual([{ digit: '1', durationMs: 280, endTimestamp: 0x33e0 + 2240 }]);
  });
});

describe('DtmfSender (RFC 4733 §2.5.1)', () => {
  it('sends start with marker, growing durations, end ×3 with one timestamp', () => {
    const tx = new DtmfSender();
    tx.enqueue('#', 100);
    const out = new Uint8Array(4);
    const rows: [boolean, number, number, boolean, number][] = [];
    let audioTs = 48000;
    for (let tick = 0; tick < 10; tick++, audioTs += 160) {
      const n = tx.next(out, 0, audioTs);
      if (n === 0) break;
      rows.push([tx.marker, tx.timestamp, out[0]!, (out[1]! & 0x80) !== 0, (out[2]! << 8) | out[3]!]);
    }
    expect(rows).toEqual([
      [true, 48000, 11, false, 160],
      [false, 48000, 11, false, 320],
      [false, 48000, 11, false, 480],
      [false, 48000, 11, false, 640],
      [false, 48000, 11, true, 800],
      [false, 48000, 11, true, 800],
      [false, 48000, 11, true, 800],
    ]);
    expect(out[1]! & 0x3f).toBe(10);
    expect(tx.eventsSent).toBe(1);
  });

  it('separates queued digits by an audio gap and each takes the audio timestamp at its start', () => {
    const tx = new DtmfSender({ gapTicks: 2 });
    tx.enqueue('1', 40);
    tx.enqueue('2', 40);
    const out = new Uint8Array(4);
    const kinds: string[] = [];
    for (let tick = 0; tick < 12; tick++) {
      const n = tx.next(out, 0, tick * 160);
      kinds.push(n === 0 ? 'audio' : `${out[0]}@${tx.timestamp}`);
    }
    expect(kinds).toEqual(['1@0', '1@0', '1@0', '1@0', 'audio', 'audio', '2@960', '2@960', '2@960', '2@960', 'audio', 'audio']);
  });

  it('round-trips through RTP packets into the receiver', () => {
    const tx = new DtmfSender();
    const { rx, events } = receiver();
    const w = new RtpWriter(1234, 0);
    const v = new RtpPacketView();
    const buf = new Uint8Array(64);
    for (const d of ['1', '2', '3', '*', 'D']) tx.enqueue(d, 120);
    for (let tick = 0; tick < 100; tick++) {
      const n = tx.next(buf, 12, tick * 160);
      if (n === 0) continue;
      const len = w.writeHeaderInPlace(buf, 0, 101, tx.marker, tx.timestamp) + n;
      expect(v.parse(buf, 0, len)).toBeNull();
      rx.push(v.timestamp, v.marker, buf, v.payloadOffset, v.payloadLength, tick * 20);
    }
    expect(events.map((e) => `${e.digit}:${e.durationMs}`)).toEqual(['1:120', '2:120', '3:120', '*:120', 'D:120']);
  });

  it('rejects bad digits and durations', () => {
    const tx = new DtmfSender();
    expect(() => tx.enqueue('E')).toThrow(RangeError);
    expect(() => tx.enqueue('1', 0)).toThrow(RangeError);
  });
});
