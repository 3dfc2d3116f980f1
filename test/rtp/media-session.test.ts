import type { Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../src/shared/index.js';
import {
  MediaSession,
  Pacer,
  PortPool,
  RtpPacketView,
  RtpWriter,
  type Concealer,
  type DtmfEvent,
  type MediaSessionOptions,
  type PayloadCodec,
} from '../../src/rtp/index.js';
import { bindSocket, closeSocket, freePortRange, realDelay } from './rtp-test-helpers.js';

/** A linear "codec": byte = sample / 256 + 128 (exact for multiples of 256). */
const linearCodec: PayloadCodec = {
  name: 'PCMU',
  payloadType: 0,
  sampleRate: 8000,
  decode(payload, out) {
    for (let i = 0; i < out.length; i++) out[i] = ((payload[i] ?? 128) - 128) * 256;
  },
  encode(pcm, out) {
    for (let i = 0; i < pcm.length; i++) out[i] = Math.max(0, Math.min(255, (pcm[i]! >> 8) + 128));
  },
};

function fakeConcealer(): Concealer & { concealed: number; good: (f: Int16Array) => void } {
  return {
    concealed: 0,
    good() {
      /* remembers nothing */
    },
    conceal(out) {
      this.concealed++;
      out.fill(0);
    },
    reset() {
      /* nothing */
    },
  };
}

function frame(value: number): Int16Array {
  return new Int16Array(160).fill(value);
}

interface Env {
  clock: FakeClock;
  pacer: Pacer;
  pool: PortPool;
  options: (extra?: Partial<MediaSessionOptions>) => MediaSessionOptions;
  /** Advances `ticks` × 20 ms of fake time, letting loopback I/O happen between ticks. */
  run: (ticks: number) => Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function env(pairs = 4): Promise<Env> {
  const range = await freePortRange(pairs * 2);
  const clock = new FakeClock(0);
  const pacer = new Pacer({ clock });
  const pool = new PortPool({ ...range, quarantineMs: 1000, clock, address: '127.0.0.1' });
  cleanups.push(() => pool.close());
  return {
    clock,
    pacer,
    pool,
    options: (extra = {}) => ({
      pool,
      pacer,
      clock,
      logger: silentLogger(),
      codec: linearCodec,
      concealer: fakeConcealer(),
      inactivityTimeoutMs: 1000,
      localAddress: '127.0.0.1',
      ...extra,
    }),
    run: async (ticks) => {
      for (let i = 0; i < ticks; i++) {
        clock.advance(20);
        await realDelay(1);
      }
    },
  };
}

async function open(e: Env, extra?: Partial<MediaSessionOptions>): Promise<MediaSession> {
  const s = await MediaSession.open(e.options(extra));
  cleanups.push(() => s.close());
  return s;
}

function connect(a: MediaSession, b: MediaSession, mux = false): void {
  a.setRemote({ address: '127.0.0.1', port: b.localPort, rtcpPort: b.localRtcpPort, rtcpMux: mux, send: true, receive: true });
  b.setRemote({ address: '127.0.0.1', port: a.localPort, rtcpPort: a.localRtcpPort, rtcpMux: mux, send: true, receive: true });
}

/** A raw UDP peer that records the RTP packets it receives. */
async function rawPeer(): Promise<{ socket: Socket; port: number; packets: ReturnType<RtpPacketView['dump']>[]; payloads: Buffer[] }> {
  const socket = await bindSocket();
  const peer = { socket, port: socket.address().port, packets: [] as ReturnType<RtpPacketView['dump']>[], payloads: [] as Buffer[] };
  const view = new RtpPacketView();
  socket.on('message', (msg: Buffer) => {
    if (msg[1]! >= 192 && msg[1]! <= 223) return; // RTCP
    if (view.parse(msg) === null) {
      peer.packets.push(view.dump());
      peer.payloads.push(Buffer.from(msg.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength)));
    }
  });
  cleanups.push(() => closeSocket(socket));
  return peer;
}

function sendRaw(socket: Socket, port: number, writer: RtpWriter, pt: number, ts: number, payload: Uint8Array): Promise<void> {
  const buf = Buffer.alloc(12 + payload.length);
  writer.write(buf, 0, pt, false, ts, payload);
  return new Promise((resolve) => socket.send(buf, port, '127.0.0.1', () => resolve()));
}

describe('MediaSession over loopback', () => {
  it('frames queued on one side come out of the other, in order, one onFrame per tick', async () => {
    const e = await env();
    const a = await open(e);
    const b = await open(e);
    connect(a, b);
    const received: number[] = [];
    let calls = 0;
    b.onFrame((pcm, info) => {
      calls++;
      if (!info.silent && !info.concealed) received.push(pcm[0]!);
    });
    for (let k = 1; k <= 40; k++) expect(a.sendFrame(frame(k * 256))).toBe(true);
    expect(a.queuedFrames).toBe(40);
    await e.run(60);
    expect(calls).toBe(60);
    // In order, nothing invented; the jitter buffer may shed one frame while it settles from its
    // start-up delay to the target (its own stats say so).
    const sent = Array.from({ length: 40 }, (_, i) => (i + 1) * 256);
    const jb = b.stats.jitterBuffer;
    expect(received.length).toBe(40 - jb.skewCorrections);
    expect(received.length).toBeGreaterThanOrEqual(38);
    expect(received.every((v, i) => sent.includes(v) && (i === 0 || v > received[i - 1]!))).toBe(true);
    expect(received.slice(0, 10)).toEqual(sent.slice(0, 10));
    expect(a.queuedFrames).toBe(0);
    const sa = a.stats;
    const sb = b.stats;
    expect(sa.packetsSent).toBe(40);
    expect(sb.packetsReceived).toBe(40);
    expect(sb.bytesReceived).toBe(40 * 160);
    expect(sb.packetsLost).toBe(0);
    expect(sb.malformed + sb.wrongSource).toBe(0);
    expect(sb.jitterBuffer.framesPlayed).toBe(received.length);
  });

  it('sends one packet per tick with a continuous timestamp, the marker on each talkspurt, DTMF on the audio clock', async () => {
    const e = await env();
    const s = await open(e, { dtmfPayloadType: 101 });
    const peer = await rawPeer();
    s.setRemote({ address: '127.0.0.1', port: peer.port, send: true, receive: true });
    for (let k = 0; k < 3; k++) s.sendFrame(frame(256));
    await e.run(5); // ticks at t = 0…100: 3 audio ticks, 3 idle
    for (let k = 0; k < 2; k++) s.sendFrame(frame(512));
    s.sendDtmf('4', 60); // 3 ticks of events + 2 more end copies; audio held meanwhile
    await e.run(12);
    const p = peer.packets;
    const audio = p.filter((x) => x.payloadType === 0);
    const dtmf = p.filter((x) => x.payloadType === 101);
    expect(audio.map((x) => x.marker)).toEqual([true, false, false, true, false]);
    const t0 = audio[0]!.timestamp;
    // ticks 0,1,2 then idle 3,4,5; DTMF at ticks 6..10; audio resumes at ticks 11, 12
    expect(audio.map((x) => (x.timestamp - t0) >>> 0)).toEqual([0, 160, 320, 1760, 1920]);
    expect(dtmf.map((x) => [(x.timestamp - t0) >>> 0, x.marker])).toEqual([
      [960, true],
      [960, false],
      [960, false],
      [960, false],
      [960, false],
    ]);
    // Sequence numbers: one per packet, no gaps.
    const seqs = p.map((x) => x.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);
    expect(s.stats.dtmfSent).toBe(1);
  });

  it('sendSilence keeps the stream continuous: silence frames between talkspurts, marker on real audio only', async () => {
    const e = await env();
    const s = await open(e, { sendSilence: true });
    const peer = await rawPeer();
    s.setRemote({ address: '127.0.0.1', port: peer.port, send: true, receive: true });
    for (let k = 0; k < 2; k++) s.sendFrame(frame(256));
    await e.run(5);
    s.sendFrame(frame(512));
    await e.run(3);
    const p = peer.packets;
    // One packet on every tick, audio or not; timestamps 160 apart throughout.
    expect(p.length).toBeGreaterThanOrEqual(8);
    const t0 = p[0]!.timestamp;
    expect(p.map((x) => (x.timestamp - t0) >>> 0)).toEqual(p.map((_, i) => i * 160));
    const kinds = peer.payloads.map((b) => (b.every((v) => v === 128) ? 'silence' : 'audio')); // linearCodec: 0 → 128
    expect(kinds.slice(0, 6)).toEqual(['audio', 'audio', 'silence', 'silence', 'silence', 'silence']);
    expect(kinds).toContain('audio');
    const markers = p.map((x, i) => (x.marker ? kinds[i] : null)).filter((k) => k !== null);
    expect(markers).toEqual(['audio', 'audio']); // first packet, and the talkspurt after the silence
    // Without the option, idle ticks send nothing (the default for MediaSession itself).
    const quiet = await open(e);
    const peer2 = await rawPeer();
    quiet.setRemote({ address: '127.0.0.1', port: peer2.port, send: true, receive: true });
    await e.run(4);
    expect(peer2.packets).toHaveLength(0);
  });

  it('DTMF both ways: each press reported once', async () => {
    const e = await env();
    const a = await open(e);
    const b = await open(e);
    connect(a, b);
    const atA: DtmfEvent[] = [];
    const atB: DtmfEvent[] = [];
    a.onDtmf((ev) => atA.push(ev));
    b.onDtmf((ev) => atB.push(ev));
    a.sendDtmf('1', 100);
    a.sendDtmf('#', 100);
    b.sendDtmf('9', 200);
    await e.run(40);
    expect(atB.map((x) => [x.digit, x.durationMs])).toEqual([
      ['1', 100],
      ['#', 100],
    ]);
    expect(atA.map((x) => [x.digit, x.durationMs])).toEqual([['9', 200]]);
    expect(b.stats.dtmfReceived).toBe(2);
  });

  it('latches to a NAT source after 3 packets and drops a foreign one', async () => {
    const e = await env();
    const s = await open(e);
    const nat = await rawPeer();
    const stranger = await rawPeer();
    // SDP says 127.0.0.1:9 (never sends); the caller really sends from `nat`.
    s.setRemote({ address: '127.0.0.1', port: 9, send: true, receive: true });
    const w = new RtpWriter(0x5eed, 100);
    const payload = new Uint8Array(160).fill(130);
    for (let i = 0; i < 2; i++) await sendRaw(nat.socket, s.localPort, w, 0, i * 160, payload);
    await realDelay(5);
    expect(s.stats.latched).toBe(false);
    expect(s.stats.wrongSource).toBe(2);
    await sendRaw(nat.socket, s.localPort, w, 0, 320, payload);
    await realDelay(5);
    expect(s.stats.latched).toBe(true);
    expect(s.remoteAddress).toEqual({ address: '127.0.0.1', port: nat.port });
    // Our media now goes to the latched source.
    s.sendFrame(frame(256));
    await e.run(2);
    expect(nat.packets.length).toBe(1);
    // A stranger with another SSRC is dropped and counted.
    await sendRaw(stranger.socket, s.localPort, new RtpWriter(0xbad), 0, 0, payload);
    await realDelay(5);
    expect(s.stats.wrongSource).toBe(3);
    expect(s.stats.packetsReceived).toBe(1);
  });

  it('counts malformed packets and unknown payload types', async () => {
    const e = await env();
    const a = await open(e);
    const peer = await rawPeer();
    a.setRemote({ address: '127.0.0.1', port: peer.port, send: true, receive: true });
    await new Promise<void>((r) => peer.socket.send(Buffer.from([0x80, 0, 0]), a.localPort, '127.0.0.1', () => r()));
    await new Promise<void>((r) => peer.socket.send(Buffer.alloc(20, 0x40), a.localPort, '127.0.0.1', () => r()));
    await sendRaw(peer.socket, a.localPort, new RtpWriter(1), 13, 0, new Uint8Array(1)); // CN, not negotiated
    await realDelay(5);
    expect(a.stats.malformed).toBe(2);
    expect(a.stats.malformedByReason['too-short']).toBe(1);
    expect(a.stats.malformedByReason['bad-version']).toBe(1);
    expect(a.stats.unknownPayloadType).toBe(1);
    expect(a.stats.wrongSource).toBe(0);
  });

  it('raises inactivity once after the timeout, paused while on hold', async () => {
    const e = await env();
    const s = await open(e, { inactivityTimeoutMs: 1000 });
    let fired = 0;
    s.onInactive(() => fired++);
    // On hold (we only receive... or nothing): no timeout however long.
    s.setRemote({ address: '127.0.0.1', port: 9, send: false, receive: true });
    e.clock.advance(5000);
    expect(fired).toBe(0);
    // Resumed: the timeout counts from the resume.
    s.setRemote({ address: '127.0.0.1', port: 9, send: true, receive: true });
    e.clock.advance(980);
    expect(fired).toBe(0);
    e.clock.advance(40);
    expect(fired).toBe(1);
    e.clock.advance(5000);
    expect(fired).toBe(1);
    expect(s.stats.inactive).toBe(true);
  });

  it('mark() reports when queued audio has been sent; clearPlayout() flushes for barge-in', async () => {
    const e = await env();
    const s = await open(e);
    const peer = await rawPeer();
    s.setRemote({ address: '127.0.0.1', port: peer.port, send: true, receive: true });
    for (let k = 0; k < 3; k++) s.sendFrame(frame(256));
    const marks: number[] = [];
    s.mark((ts) => marks.push(ts));
    for (let k = 0; k < 10; k++) s.sendFrame(frame(512));
    let flushedMark = false;
    s.mark(() => (flushedMark = true));
    await e.run(3); // ticks at t = 0…60: 4 frames sent
    expect(marks).toHaveLength(1);
    expect(marks[0]).toBe(peer.packets[2]?.timestamp ?? marks[0]);
    await realDelay(5);
    expect(peer.packets[2]!.timestamp).toBe(marks[0]);
    e.clock.advance(40); // 2 more → 7 queued
    expect(flushedMark).toBe(false);
    expect(s.clearPlayout()).toBe(7);
    expect(s.queuedFrames).toBe(0);
    e.clock.advance(20);
    expect(flushedMark).toBe(true);
    expect(s.stats.framesFlushed).toBe(7);
  });

  it('bounds the send queue', async () => {
    const e = await env();
    const s = await open(e, { sendQueueFrames: 4 });
    for (let k = 0; k < 4; k++) expect(s.sendFrame(frame(0))).toBe(true);
    expect(s.sendFrame(frame(0))).toBe(false);
    expect(s.stats.sendQueueFull).toBe(1);
    expect(() => s.sendFrame(new Int16Array(80))).toThrow(RangeError);
  });

  it('exchanges RTCP (SR/RR + SDES) and measures RTT; BYE on close', async () => {
    const e = await env();
    const a = await open(e, { rtcpIntervalMs: 100 });
    const b = await open(e, { rtcpIntervalMs: 100 });
    connect(a, b);
    for (let k = 0; k < 20; k++) a.sendFrame(frame(256));
    await e.run(30);
    expect(a.stats.rtcpSent).toBeGreaterThan(1);
    expect(b.stats.rtcpReceived).toBeGreaterThan(1);
    expect(a.stats.rttMs).toBeGreaterThanOrEqual(0);
    expect(a.stats.rttMs).toBeLessThan(50);
    expect(a.stats.remotePacketsLost).toBe(0);
    await a.close();
    await realDelay(5);
    expect(b.stats.remoteBye).toBe(true);
  });

  it('works with rtcp-mux (RFC 5761): one port for RTP and RTCP', async () => {
    const e = await env();
    const a = await open(e, { rtcpMux: true, rtcpIntervalMs: 100 });
    const b = await open(e, { rtcpMux: true, rtcpIntervalMs: 100 });
    expect(a.localRtcpPort).toBe(a.localPort);
    connect(a, b, true);
    for (let k = 0; k < 10; k++) a.sendFrame(frame(256));
    const got: number[] = [];
    b.onFrame((pcm, info) => {
      if (!info.silent && !info.concealed) got.push(pcm[0]!);
    });
    await e.run(30);
    expect(got).toHaveLength(10);
    expect(b.stats.rtcpReceived).toBeGreaterThan(0);
    expect(b.stats.malformed).toBe(0);
    expect(a.stats.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('close is idempotent, returns the ports to quarantine, and the pool reports exhaustion as CAPACITY_NO_PORTS', async () => {
    const e = await env(2);
    const a = await open(e);
    const b = await open(e);
    expect(e.pool.inUse).toBe(2);
    await expect(MediaSession.open(e.options())).rejects.toMatchObject({ code: 'CAPACITY_NO_PORTS', sipStatus: 503 });
    const p1 = a.close();
    const p2 = a.close();
    expect(p1).toBe(p2);
    await p1;
    expect(e.pool.inUse).toBe(1);
    expect(a.sendFrame(frame(0))).toBe(false);
    // Quarantined: not reusable at once.
    await expect(MediaSession.open(e.options())).rejects.toMatchObject({ code: 'CAPACITY_NO_PORTS' });
    e.clock.advance(1000);
    const c = await open(e);
    expect(c.localPort).toBe(a.localPort);
    await b.close();
    await c.close();
    expect(e.pool.inUse).toBe(0);
    expect(e.pacer.size).toBe(0);
    expect(e.clock.pendingCount()).toBe(0);
  });
});
