import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterPopResult } from './jitter-buffer.js';

/** One packet as the network delivers it. Payload byte i is (first sample index + i) & 0xff. */
interface Delivery {
  at: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  /** Stream sample index of the first sample (for the payload tag). */
  sample: number;
  samples: number;
}

interface Played {
  now: number;
  result: JitterPopResult;
  /** For 'packet': the tag of the first byte, and whether the 160 bytes were consecutive. */
  first: number;
  consecutive: boolean;
}

function stream(count: number, opts: { ptimeMs?: number; seq0?: number; ts0?: number; ssrc?: number; t0?: number; sample0?: number; delayMs?: number } = {}): Delivery[] {
  const ptime = opts.ptimeMs ?? 20;
  const samples = ptime * 8;
  const out: Delivery[] = [];
  for (let k = 0; k < count; k++) {
    out.push({
      at: (opts.t0 ?? 0) + k * ptime + (opts.delayMs ?? 30),
      seq: ((opts.seq0 ?? 100) + k) & 0xffff,
      ts: ((opts.ts0 ?? 5000) + k * samples) >>> 0,
      ssrc: opts.ssrc ?? 1,
      marker: k === 0,
      sample: (opts.sample0 ?? 0) + k * samples,
      samples,
    });
  }
  return out;
}

function run(jb: JitterBuffer, deliveries: Delivery[], untilMs: number, phaseMs = 5): Played[] {
  const sorted = [...deliveries].sort((a, b) => a.at - b.at);
  const out = new Uint8Array(160);
  const played: Played[] = [];
  let next = 0;
  for (let now = phaseMs; now <= untilMs; now += 20) {
    while (next < sorted.length && (sorted[next]?.at ?? Infinity) <= now) {
      const d = sorted[next++];
      if (d === undefined) break;
      const payload = new Uint8Array(d.samples);
      for (let i = 0; i < d.samples; i++) payload[i] = (d.sample + i) & 0xff;
      jb.push(d.seq, d.ts, d.ssrc, d.marker, payload, d.at);
    }
    const result = jb.pop(now, out);
    let consecutive = true;
    for (let i = 1; i < 160; i++) if (out[i] !== (((out[0] ?? 0) + i) & 0xff)) consecutive = false;
    played.push({ now, result, first: out[0] ?? 0, consecutive });
  }
  return played;
}

/** The frames played, as first-sample tags; checks each is 160 consecutive samples. */
function playedTags(played: Played[]): number[] {
  const tags: number[] = [];
  for (const p of played) {
    if (p.result !== 'packet') continue;
    expect(p.consecutive).toBe(true);
    tags.push(p.first);
  }
  return tags;
}

/** 'lost' results while packets were still arriving (after the last one the stream just ended). */
function lostDuring(played: Played[], deliveries: Delivery[]): number {
  const last = Math.max(...deliveries.map((d) => d.at));
  return played.filter((p) => p.result === 'lost' && p.now <= last).length;
}

/** Every tag appears in `all`, in order (frames may be skipped, never repeated or reordered). */
function expectSubsequence(tags: number[], all: number[]): void {
  let j = 0;
  for (const tag of tags) {
    while (j < all.length && all[j] !== tag) j++;
    expect(j).toBeLessThan(all.length);
    j++;
  }
}

/** Tags expected when frames 0..n-1 (160 samples each, from sample 0) all play in order. */
function expectedTags(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, j) => ((from + j) * 160) & 0xff);
}

describe('JitterBuffer basics', () => {
  it("returns 'empty' before any packet and until the first frame is due", () => {
    const jb = new JitterBuffer();
    const out = new Uint8Array(160);
    expect(jb.pop(0, out)).toBe('empty');
    jb.push(1, 1000, 7, true, new Uint8Array(160).fill(3), 10);
    // Start-up target is 60 ms: frame due 40 ms after it arrived (the frame itself is 20 ms).
    expect(jb.pop(15, out)).toBe('empty');
    expect(jb.pop(35, out)).toBe('empty');
    expect(jb.pop(55, out)).toBe('packet');
    expect(out.every((b) => b === 3)).toBe(true);
    expect(jb.stats.framesPlayed).toBe(1);
  });

  it('plays an in-order stream frame by frame and settles at a low delay', () => {
    const jb = new JitterBuffer();
    const stats = jb.stats;
    const s = stream(200);
    const played = run(jb, s, 4200);
    const tags = playedTags(played);
    // The start-up delay (60 ms) is brought down to the measured need by dropping two frames.
    expect(tags.length).toBeGreaterThanOrEqual(197);
    expect(stats).toBe(jb.stats); // live object
    expect(stats.latePackets).toBe(0);
    expect(lostDuring(played, s)).toBe(0);
    expect(stats.targetDelayMs).toBeLessThanOrEqual(25);
    expect(stats.currentDelayMs === 0 || stats.currentDelayMs <= stats.targetDelayMs + 20).toBe(true);
    // Strictly increasing frames, 160 samples apart except where a frame was dropped.
    expectSubsequence(tags, expectedTags(200));
    expect(stats.skewCorrections).toBe(200 - tags.length);
  });

  it('rejects an output buffer smaller than a frame and invalid options', () => {
    const jb = new JitterBuffer();
    expect(() => jb.pop(0, new Uint8Array(100))).toThrow(RangeError);
    expect(() => new JitterBuffer({ frameMs: 0.01 })).toThrow(RangeError);
    expect(() => new JitterBuffer({ minDelayMs: 100, maxDelayMs: 50 })).toThrow(RangeError);
    expect(() => new JitterBuffer({ bytesPerSample: 0 })).toThrow(RangeError);
  });

  it('discards empty and oversized payloads', () => {
    const jb = new JitterBuffer();
    jb.push(1, 0, 1, false, new Uint8Array(0), 0);
    jb.push(2, 0, 1, false, new Uint8Array(8000), 0);
    expect(jb.stats.discardedPackets).toBe(2);
  });
});

describe('JitterBuffer wrap-around', () => {
  it('crosses the 16-bit sequence number wrap without loss or duplicates', () => {
    const jb = new JitterBuffer();
    const s = stream(60, { seq0: 65_520 });
    const played = run(jb, s, 1500);
    expect(playedTags(played).length).toBeGreaterThanOrEqual(58);
    expect(jb.stats.duplicatePackets).toBe(0);
    expect(jb.stats.latePackets).toBe(0);
    expect(lostDuring(played, s)).toBe(0);
  });

  it('crosses the 32-bit timestamp wrap without a glitch', () => {
    const jb = new JitterBuffer();
    const s = stream(60, { ts0: 0x1_0000_0000 - 160 * 20 });
    const played = run(jb, s, 1500);
    const tags = playedTags(played);
    expect(tags.length).toBeGreaterThanOrEqual(58);
    expectSubsequence(tags, expectedTags(60));
    expect(lostDuring(played, s)).toBe(0);
    expect(jb.stats.resets).toBe(0);
    expect(jb.stats.discardedPackets).toBeLessThanOrEqual(2); // only the start-up drops
  });
});

describe('JitterBuffer network impairments', () => {
  it('drops duplicates and counts them', () => {
    const jb = new JitterBuffer();
    const base = stream(50);
    const dups = base.map((d) => ({ ...d, at: d.at + 7 }));
    const played = run(jb, [...base, ...dups], 1300);
    expect(jb.stats.duplicatePackets).toBe(50);
    expect(lostDuring(played, base)).toBe(0);
    const reference = playedTags(run(new JitterBuffer(), base, 1300));
    expect(playedTags(played)).toEqual(reference);
  });

  it('puts reordered packets back in order', () => {
    const jb = new JitterBuffer();
    const s = stream(100);
    // Swap every pair: packet 2k+1 arrives 1 ms before packet 2k.
    for (let k = 0; k + 1 < s.length; k += 2) {
      const a = s[k];
      const b = s[k + 1];
      if (a !== undefined && b !== undefined) b.at = a.at - 1;
    }
    const tags = playedTags(run(jb, s, 2300));
    expect(jb.stats.latePackets).toBe(0);
    expect(tags.length).toBeGreaterThanOrEqual(97);
    for (let i = 1; i < tags.length; i++) expect(((tags[i] ?? 0) - (tags[i - 1] ?? 0) + 256) & 0xff).not.toBe(0);
  });

  it('conceals a missing frame, then counts the packet late when it turns up', () => {
    const jb = new JitterBuffer();
    const s = stream(100);
    const victim = s[60];
    if (victim !== undefined) victim.at += 400;
    const played = run(jb, s, 2300);
    expect(jb.stats.latePackets).toBe(1);
    expect(jb.stats.concealedFrames).toBeGreaterThanOrEqual(1);
    const lostIndex = played.findIndex((p) => p.result === 'lost');
    // The frames right before and after the hole are frames 59 and 61.
    const before = played[lostIndex - 1];
    const after = played.slice(lostIndex).find((p) => p.result === 'packet');
    expect(before?.first).toBe((59 * 160) & 0xff);
    expect(after?.first).toBe((61 * 160) & 0xff);
  });

  it('restarts on a new SSRC (RFC 3550 §8.2)', () => {
    const jb = new JitterBuffer();
    const a = stream(50, { ssrc: 1 });
    const b = stream(50, { ssrc: 2, seq0: 40_000, ts0: 999_999, t0: 1000, sample0: 77 });
    const played = run(jb, [...a, ...b], 2500);
    expect(jb.stats.resets).toBe(1);
    expect(jb.stats.latePackets).toBe(0);
    const tags = playedTags(played.filter((p) => p.now > 1100));
    // The new stream plays from (about) its beginning, in order.
    expect(tags.length).toBeGreaterThanOrEqual(47);
    expect(tags.at(-1)).toBe((77 + 49 * 160) & 0xff);
  });

  it('resyncs when the timestamps jump forward far beyond the maximum delay', () => {
    const jb = new JitterBuffer();
    const a = stream(50, { ts0: 1000 });
    const b = stream(50, { ts0: 1000 + 50 * 160 + 8_000_000, seq0: 150, t0: 1000, sample0: 50 * 160 });
    for (const d of b) d.marker = false;
    const played = run(jb, [...a, ...b], 2500);
    expect(jb.stats.resets).toBe(1);
    expect(jb.stats.discardedPackets).toBeGreaterThanOrEqual(4);
    const tags = playedTags(played.filter((p) => p.now > 1100));
    expect(tags.length).toBeGreaterThanOrEqual(40);
    expect(tags.at(-1)).toBe((99 * 160) & 0xff);
  });

  it('resyncs when the timestamps jump backwards (same SSRC, new timestamp base)', () => {
    const jb = new JitterBuffer();
    const a = stream(50, { ts0: 9_000_000 });
    const b = stream(50, { ts0: 1000, seq0: 150, t0: 1000, sample0: 50 * 160 });
    for (const d of b) d.marker = false;
    const played = run(jb, [...a, ...b], 2500);
    expect(jb.stats.resets).toBe(1);
    expect(jb.stats.discardedPackets).toBeGreaterThanOrEqual(4);
    expect(playedTags(played.filter((p) => p.now > 1300)).at(-1)).toBe((99 * 160) & 0xff);
  });

  it('treats a gap before a marker packet as silence and re-anchors the talkspurt', () => {
    const jb = new JitterBuffer();
    const a = stream(50);
    // 1 s of silence (DTX): timestamps and time jump together, sequence numbers continue.
    const b = stream(50, { seq0: 150, ts0: 5000 + 100 * 160, t0: 2000, sample0: 100 * 160 });
    const played = run(jb, [...a, ...b], 3300);
    const gap = played.filter((p) => p.now > 1100 && p.now < 2000);
    expect(gap.every((p) => p.result !== 'packet')).toBe(true);
    // At most the idle-detection frames are concealed; the rest of the gap is silence.
    expect(gap.filter((p) => p.result === 'lost').length).toBeLessThanOrEqual(3);
    expect(gap.filter((p) => p.result === 'empty').length).toBeGreaterThan(35);
    const second = playedTags(played.filter((p) => p.now >= 2000));
    expect(second).toEqual(expectedTags(50, 100));
  });

  it('a short gap followed by a marker packet is silence, not loss', () => {
    // 100 ms of buffering: the marker packet is in before the gap comes up for playout.
    const jb = new JitterBuffer({ minDelayMs: 100 });
    const a = stream(50);
    // 40 ms of silence: the next talkspurt arrives while the buffer still holds audio.
    const b = stream(20, { seq0: 150, ts0: 5000 + 52 * 160, t0: 1040, sample0: 52 * 160 });
    const played = run(jb, [...a, ...b], 1700);
    expect(lostDuring(played, [...a, ...b])).toBe(0);
    expect(playedTags(played).slice(-20)).toEqual(expectedTags(20, 52));
  });
});

describe('JitterBuffer packet times', () => {
  for (const ptimeMs of [10, 30, 40, 60]) {
    it(`maps ${ptimeMs} ms packets onto exact 20 ms frames`, () => {
      const jb = new JitterBuffer();
      const count = Math.floor(3000 / ptimeMs);
      const s = stream(count, { ptimeMs });
      const played = run(jb, s, 3500);
      const tags = playedTags(played);
      expect(lostDuring(played, s)).toBe(0);
      expect(jb.stats.latePackets).toBe(0);
      // Every frame is a 20 ms slice of the stream on the 160-sample grid, in order.
      const frames = Math.floor((count * ptimeMs) / 20);
      expect(tags.length).toBeGreaterThanOrEqual(frames - 3);
      expectSubsequence(tags, expectedTags(frames));
    });
  }

  it('conceals only the frame whose 10 ms half is missing', () => {
    const jb = new JitterBuffer();
    const s = stream(300, { ptimeMs: 10 }).filter((_, k) => k !== 201);
    const played = run(jb, s, 3500);
    expect(lostDuring(played, s)).toBe(1);
    const lostAt = played.findIndex((p) => p.result === 'lost');
    expect(played[lostAt - 1]?.first).toBe((99 * 160) & 0xff);
    expect(played[lostAt + 1]?.first).toBe((101 * 160) & 0xff);
  });
});

describe('JitterBuffer pushFrom', () => {
  it('takes the payload in place from a larger buffer, exactly as push() takes a copy', () => {
    const a = new JitterBuffer();
    const b = new JitterBuffer();
    const outA = new Uint8Array(160);
    const outB = new Uint8Array(160);
    const datagram = new Uint8Array(12 + 160 + 7); // header, payload, trailing bytes (padding)
    for (let k = 0; k < 100; k++) {
      const ts = (0xffff_f000 + k * 160) >>> 0; // crosses the 32-bit timestamp wrap
      for (let i = 0; i < datagram.length; i++) datagram[i] = (k * 7 + i) & 0xff;
      if (k % 17 !== 5) {
        a.push(k, ts, 9, k === 0, datagram.slice(12, 172), k * 20 + 3);
        b.pushFrom(k, ts, 9, k === 0, datagram, 12, 160, k * 20 + 3);
      }
      const ra = a.pop(k * 20 + 10, outA);
      expect(b.pop(k * 20 + 10, outB)).toBe(ra);
      if (ra === 'packet') expect(outB).toEqual(outA);
    }
    expect(b.stats).toEqual(a.stats);
    expect(b.stats.framesPlayed).toBeGreaterThan(85);
    expect(() => b.pushFrom(1, 0, 9, false, datagram, 170, 160, 0)).toThrow(RangeError);
  });
});

describe('JitterBuffer overlaps and floods', () => {
  it('stores overlapping packets once and counts each packet start it overwrote as gone', () => {
    const jb = new JitterBuffer({ minDelayMs: 20, maxDelayMs: 200 });
    const out = new Uint8Array(160);
    const payload = (first: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (first + i) & 0xff);
    // Samples 0..159 as two halves, then one packet covering 40..199 over both (a repacketising relay).
    jb.push(1, 8000, 5, true, payload(0, 80), 0);
    jb.push(2, 8080, 5, false, payload(80, 80), 10);
    jb.push(3, 8040, 5, false, payload(40, 160), 12);
    jb.push(4, 8200, 5, false, payload(200, 120), 20);
    let now = 0;
    let result = jb.pop(now, out);
    while (result === 'empty' && now < 200) result = jb.pop((now += 20), out);
    expect(result).toBe('packet');
    expect(Array.from(out)).toEqual(Array.from(payload(0, 160)));
    expect(jb.pop((now += 20), out)).toBe('packet');
    expect(Array.from(out)).toEqual(Array.from(payload(160, 160)));
    expect(jb.stats.discardedPackets).toBe(0);
    expect(jb.stats.duplicatePackets).toBe(0);
  });

  it('discards a flood of tiny packets beyond what a real stream holds, and keeps playing', () => {
    const jb = new JitterBuffer();
    // 1-sample packets, every other sample: 600 runs of audio in 150 ms.
    for (let k = 0; k < 600; k++) jb.push(k, 1000 + 2 * k, 3, k === 0, new Uint8Array([k & 0xff]), 0);
    expect(jb.stats.discardedPackets).toBeGreaterThan(0);
    expect(jb.stats.discardedPackets).toBeLessThan(600);
    // A normal stream afterwards (new SSRC) plays.
    const played = run(jb, stream(50, { ssrc: 4, t0: 100 }), 1200);
    expect(playedTags(played.filter((p) => p.now > 300)).length).toBeGreaterThan(40);
  });
});

describe('JitterBuffer reset', () => {
  it('flushes the stream, keeps counters, and starts over', () => {
    const jb = new JitterBuffer();
    run(jb, stream(30), 700);
    const played = jb.stats.framesPlayed;
    jb.reset();
    expect(jb.stats.resets).toBe(1);
    expect(jb.stats.framesPlayed).toBe(played);
    const out = new Uint8Array(160);
    expect(jb.pop(720, out)).toBe('empty');
    // The same sequence numbers again are not duplicates after a reset.
    const again = run(jb, stream(30, { t0: 800 }), 1600);
    expect(jb.stats.duplicatePackets).toBe(0);
    expect(playedTags(again.filter((p) => p.now > 800)).length).toBeGreaterThanOrEqual(27);
  });
});
