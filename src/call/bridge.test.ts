import { describe, expect, it } from 'vitest';
import { g711Codec } from '../codec/index.js';
import type { DtmfEvent, FrameInfo, PlayoutPull } from '../rtp/index.js';
import { silentLogger } from '../shared/index.js';
import { Bridge, type BridgeLeg, type BridgeMedia } from './bridge.js';

/** A leg's media as the pacer drives it: receive() is the receive tick, send() the send tick. */
class FakeMedia implements BridgeMedia {
  private frameHandler: ((pcm: Int16Array, info: FrameInfo) => void) | null = null;
  private dtmfHandler: ((event: DtmfEvent) => void) | null = null;
  source: PlayoutPull | null = null;
  readonly dtmfSent: { digit: string; durationMs: number | undefined }[] = [];
  cleared = 0;
  private readonly out = new Int16Array(160);
  private readonly info: FrameInfo = { concealed: false, silent: false };

  onFrame(handler: (pcm: Int16Array, info: FrameInfo) => void): void {
    this.frameHandler = handler;
  }
  onDtmf(handler: (event: DtmfEvent) => void): void {
    this.dtmfHandler = handler;
  }
  setPlayoutSource(source: PlayoutPull | null): void {
    this.source = source;
  }
  clearPlayout(): number {
    this.cleared++;
    return 0;
  }
  sendDtmf(digit: string, durationMs?: number): void {
    this.dtmfSent.push({ digit, durationMs });
  }
  receive(pcm: Int16Array, silent = false): void {
    this.info.silent = silent;
    this.frameHandler?.(pcm, this.info);
  }
  dtmf(digit: string, durationMs: number): void {
    this.dtmfHandler?.({ digit, durationMs, endTimestamp: 0 });
  }
  /** What this leg would send this tick (a copy), or null for nothing. */
  send(): Int16Array | null {
    return this.source?.pull(this.out) === true ? this.out.slice() : null;
  }
}

interface FakeLeg extends BridgeLeg {
  readonly media: FakeMedia;
  hangups: number;
  /** The far end hangs up (BYE received). */
  end(): void;
}

function leg(id: string): FakeLeg {
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const l: FakeLeg = {
    id,
    media: new FakeMedia(),
    ended,
    hangups: 0,
    hangup: () => {
      l.hangups++;
      resolveEnded();
      return ended;
    },
    end: () => resolveEnded(),
  };
  return l;
}

function frame(seed: number): Int16Array {
  const f = new Int16Array(160);
  for (let i = 0; i < 160; i++) f[i] = ((seed * 7919 + i * 104729) % 60000) - 30000;
  return f;
}

describe('Bridge: relays frames and DTMF between two legs and ends them together', () => {
  it('each tick, A’s received frame goes out on B and B’s on A, bit-exact, whichever leg ticks first', () => {
    const a = leg('a');
    const b = leg('b');
    const bridge = new Bridge(a, b, silentLogger());
    expect(a.media.cleared).toBe(1);
    expect(b.media.cleared).toBe(1);
    const gotB: Int16Array[] = [];
    const gotA: Int16Array[] = [];
    for (let t = 0; t < 20; t++) {
      // The pacer visits A then B on even ticks, B then A on odd ones (order is not promised).
      if (t % 2 === 0) {
        a.media.receive(frame(t));
        const sa = a.media.send();
        b.media.receive(frame(1000 + t));
        const sb = b.media.send();
        if (sa !== null) gotA.push(sa);
        if (sb !== null) gotB.push(sb);
      } else {
        b.media.receive(frame(1000 + t));
        const sb = b.media.send();
        a.media.receive(frame(t));
        const sa = a.media.send();
        if (sa !== null) gotA.push(sa);
        if (sb !== null) gotB.push(sb);
      }
    }
    // Drain what is still in flight.
    for (let i = 0; i < 3; i++) {
      const sa = a.media.send();
      const sb = b.media.send();
      if (sa !== null) gotA.push(sa);
      if (sb !== null) gotB.push(sb);
    }
    expect(gotB.map((f) => Array.from(f))).toEqual(Array.from({ length: 20 }, (_, t) => Array.from(frame(t))));
    expect(gotA.map((f) => Array.from(f))).toEqual(Array.from({ length: 20 }, (_, t) => Array.from(frame(1000 + t))));
    expect(bridge.stats).toMatchObject({ framesAtoB: 20, framesBtoA: 20, overrunsAtoB: 0, overrunsBtoA: 0 });
  });

  it('a silent tick (nothing received) sends nothing on the other leg; a sender that falls behind loses the oldest frames only', () => {
    const a = leg('a');
    const b = leg('b');
    const bridge = new Bridge(a, b, silentLogger());
    a.media.receive(new Int16Array(160), true);
    expect(b.media.send()).toBeNull();
    for (let t = 0; t < 5; t++) a.media.receive(frame(t));
    // Three frames of slack, then the oldest go.
    expect(Array.from(b.media.send() ?? [])).toEqual(Array.from(frame(2)));
    expect(Array.from(b.media.send() ?? [])).toEqual(Array.from(frame(3)));
    expect(Array.from(b.media.send() ?? [])).toEqual(Array.from(frame(4)));
    expect(b.media.send()).toBeNull();
    expect(bridge.stats.overrunsAtoB).toBe(2);
  });

  it('μ-law on A and A-law on B: the PCM relay transcodes, and μ-law → μ-law passes the bytes through unchanged', () => {
    const ulaw = g711Codec('PCMU');
    const alaw = g711Codec('PCMA');
    const a = leg('a');
    const b = leg('b');
    new Bridge(a, b, silentLogger());
    const wire = new Uint8Array(160);
    for (let i = 0; i < 160; i++) wire[i] = (i * 37) & 0xff;
    const pcm = new Int16Array(160);
    ulaw.decode(wire, pcm);
    a.media.receive(pcm);
    const out = b.media.send();
    if (out === null) throw new Error('nothing relayed');
    const again = new Uint8Array(160);
    ulaw.encode(out, again);
    expect(Array.from(again)).toEqual(Array.from(wire));
    const asAlaw = new Uint8Array(160);
    alaw.encode(out, asAlaw);
    const expected = new Uint8Array(160);
    alaw.encode(pcm, expected);
    expect(Array.from(asAlaw)).toEqual(Array.from(expected));
  });

  it('RFC 4733 events received on one leg are regenerated on the other with their duration', () => {
    const a = leg('a');
    const b = leg('b');
    const bridge = new Bridge(a, b, silentLogger());
    a.media.dtmf('5', 120);
    b.media.dtmf('#', 200);
    expect(b.media.dtmfSent).toEqual([{ digit: '5', durationMs: 120 }]);
    expect(a.media.dtmfSent).toEqual([{ digit: '#', durationMs: 200 }]);
    expect(bridge.stats).toMatchObject({ dtmfAtoB: 1, dtmfBtoA: 1 });
  });

  it('leg A ends → the bridge hangs up B (once), unwires both, and closes with a-ended', async () => {
    const a = leg('a');
    const b = leg('b');
    const bridge = new Bridge(a, b, silentLogger());
    a.end();
    expect(await bridge.closed).toBe('a-ended');
    expect(bridge.state).toBe('closed');
    expect(a.hangups).toBe(0);
    expect(b.hangups).toBe(1);
    expect(a.media.source).toBeNull();
    expect(b.media.source).toBeNull();
    a.media.receive(frame(1));
    a.media.dtmf('1', 100);
    expect(b.media.send()).toBeNull();
    expect(b.media.dtmfSent).toEqual([]);
    expect(await bridge.close()).toBe('a-ended');
    expect(b.hangups).toBe(1);
  });

  it('leg B ends → A is hung up; close() is idempotent and hangs up both legs when neither ended', async () => {
    const a = leg('a');
    const b = leg('b');
    const bridge = new Bridge(a, b, silentLogger());
    b.end();
    expect(await bridge.closed).toBe('b-ended');
    expect([a.hangups, b.hangups]).toEqual([1, 0]);

    const c = leg('c');
    const d = leg('d');
    const second = new Bridge(c, d, silentLogger());
    const first = second.close();
    const again = second.close();
    expect(await first).toBe('closed');
    expect(await again).toBe('closed');
    expect([c.hangups, d.hangups]).toEqual([1, 1]);
  });
});
