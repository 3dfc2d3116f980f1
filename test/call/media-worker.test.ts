/**
 * The media worker's logic and the main-thread proxy, without threads: runMediaWorker() runs in
 * this thread over a MessageChannel (the same structured-clone boundary a worker has), and
 * WorkerMediaHost is driven through a fake link. The real threads are in media-workers-e2e.
 */
import { createSocket, type Socket } from 'node:dgram';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { FromWorker, ToWorker } from '../../src/call/media-worker-protocol.js';
import { runMediaWorker, type MediaWorkerHandle } from '../../src/call/media-worker.js';
import { WorkerMediaHost, type WorkerLink } from '../../src/call/worker-media-host.js';
import { portSlices, splitPortRange, workerCount } from '../../src/call/worker-pool.js';
import type { MediaHostInit } from '../../src/call/media-host.js';
import { g711Codec } from '../../src/codec/index.js';
import type { Bot, BotContext, BotEvent } from '../../src/pipeline/index.js';
import { FakeClock, TrunklineError, buildConfig, silentLogger } from '../../src/shared/index.js';
import { randomRtpRange } from '../helpers/server.js';

describe('workerCount and portSlices', () => {
  it("'auto' is one worker per core (at least one, at most 16); a number is taken as is", () => {
    expect(workerCount('auto', 2)).toBe(2);
    expect(workerCount('auto', 1)).toBe(1);
    expect(workerCount('auto', 64)).toBe(16);
    expect(workerCount(0, 8)).toBe(0);
    expect(workerCount(3, 8)).toBe(3);
  });

  it('gives each worker a contiguous, even-aligned, disjoint slice of the RTP range (RFC 3550 §11 pairs)', () => {
    const slices = portSlices(10001, 20000, 3);
    expect(slices).toEqual([
      { min: 10002, max: 13333 },
      { min: 13334, max: 16665 },
      { min: 16666, max: 19997 },
    ]);
    for (const s of slices) {
      expect(s.min % 2).toBe(0);
      expect((s.max - s.min + 1) % 2).toBe(0);
    }
    expect(() => portSlices(40000, 40003, 3)).toThrow(RangeError);
  });

  it('keeps a small top slice of the RTP range for the main thread’s own calls, disjoint from the workers’', () => {
    // 5,000 pairs: 5 % = 250 for the main thread.
    expect(splitPortRange(10000, 20000, 2)).toEqual({ main: { min: 19500, max: 19999 }, workers: { min: 10000, max: 19499 } });
    // 300 pairs: 15.
    expect(splitPortRange(40000, 40599, 2).main).toEqual({ min: 40570, max: 40599 });
    // At most 256 pairs, at least 1.
    expect(splitPortRange(2000, 61999, 2).main).toEqual({ min: 61488, max: 61999 });
    expect(splitPortRange(40000, 40007, 2).main).toEqual({ min: 40006, max: 40007 });
    // No workers: the main thread has it all.
    expect(splitPortRange(10000, 20000, 0).main).toEqual({ min: 10000, max: 20000 });
    expect(() => splitPortRange(40000, 40003, 2)).toThrow(RangeError);
  });
});

// ---- runMediaWorker over a MessageChannel ------------------------------------------------------

interface Harness {
  readonly main: MessagePort;
  readonly handle: MediaWorkerHandle;
  readonly got: FromWorker[];
  readonly range: { min: number; max: number };
  send(msg: ToWorker): void;
  next<T extends FromWorker['t']>(t: T, sid?: number, timeoutMs?: number): Promise<Extract<FromWorker, { t: T }>>;
}

const open: Harness[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const h of open.splice(0)) {
    await h.handle.close();
    h.main.close();
  }
});

function startWorker(pairs: number, createBot?: (name: string, context: BotContext) => Bot): Harness {
  const range = randomRtpRange(Math.max(pairs, 2));
  const config = buildConfig({ logLevel: 'silent', rtp: { ports: `${range.min}-${range.max}` } }, {});
  // The worker's own slice: the first `pairs` pairs of the configured range.
  range.max = range.min + pairs * 2 - 1;
  const { port1, port2 } = new MessageChannel();
  const handle = runMediaWorker(port2, { index: 0, config, portMin: range.min, portMax: range.max, reportMs: 100 }, {
    logger: silentLogger(),
    ...(createBot !== undefined ? { createBot } : {}),
  });
  const got: FromWorker[] = [];
  port1.on('message', (m: FromWorker) => got.push(m));
  const h: Harness = {
    main: port1,
    handle,
    got,
    range,
    send: (msg) => port1.postMessage(msg),
    next: async (t, sid, timeoutMs = 5000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const i = got.findIndex((m) => m.t === t && (sid === undefined || !('sid' in m) || m.sid === sid));
        if (i >= 0) return got.splice(i, 1)[0] as Extract<FromWorker, { t: typeof t }>;
        if (Date.now() > until) throw new Error(`no '${t}' from the worker; got ${got.map((m) => m.t).join(',')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  open.push(h);
  return h;
}

/** A 12-byte RTP header (RFC 3550 §5.1) and 160 bytes of μ-law. */
function rtpPacket(seq: number, ts: number, ssrc: number, pt: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.set(payload, 12);
  return b;
}

async function udpPeer(): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received };
}

describe('runMediaWorker (the worker side, in this thread)', () => {
  it('opens a session on its own port slice, echoes RTP through the echo bot, sends RFC 4733 DTMF, reports stats and load, and closes', async () => {
    const w = startWorker(4);
    w.send({ t: 'open', sid: 1, callId: 'c1', botName: 'echo', metadata: {}, rtcpMux: false });
    const opened = await w.next('opened', 1);
    expect(opened.localPort).toBeGreaterThanOrEqual(w.range.min);
    expect(opened.localPort).toBeLessThanOrEqual(w.range.max);
    w.send({ t: 'prepare', sid: 1 });
    await w.next('prepared', 1);

    const peer = await udpPeer();
    w.send({ t: 'remote', sid: 1, remote: { address: '127.0.0.1', port: peer.port, codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, send: true, receive: true } });
    w.send({ t: 'start', sid: 1 });
    const payload = new Uint8Array(160);
    for (let i = 0; i < 160; i++) payload[i] = (i * 7) & 0x7f; // a loud, varying μ-law pattern
    for (let i = 0; i < 25; i++) {
      peer.socket.send(rtpPacket(1000 + i, 160 * i, 0x1234, 0, payload), opened.localPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    // Not the μ-law silence rtp.sendSilence sends while the bot has nothing (all 0xFF).
    const audio = peer.received.filter((p) => (p[1]! & 0x7f) === 0 && p.length === 172 && p.subarray(12).some((b) => b !== 0xff));
    expect(audio.length, 'the echo bot sent the caller’s audio back').toBeGreaterThan(10);

    w.send({ t: 'send-dtmf', sid: 1, digit: '5', durationMs: 100 });
    await new Promise((r) => setTimeout(r, 300));
    const events = peer.received.filter((p) => (p[1]! & 0x7f) === 101);
    expect(events.length, 'RFC 4733 telephone-event packets').toBeGreaterThan(0);
    expect(events[0]![12], 'event code 5 (RFC 4733 §3.2)').toBe(5);

    w.send({ t: 'stats', sid: 1 });
    const stats = await w.next('stats', 1);
    expect(stats.stats?.packetsReceived).toBe(25);
    expect(stats.stats?.dtmfSent).toBe(1);

    const load = await w.next('load');
    expect(load.load.sessions).toBe(1);
    expect(load.load.lateness.count).toBeGreaterThan(0);
    // Every session's statistics ride along with each load report.
    let batch = await w.next('stats-batch');
    while (batch.stats[0]?.packetsReceived !== 25) batch = await w.next('stats-batch'); // older batches first
    expect(batch.sids).toEqual([1]);
    expect(batch.stats[0]?.packetsReceived).toBe(25);

    w.send({ t: 'close', sid: 1 });
    const closed = await w.next('closed', 1);
    expect(closed.stats?.packetsReceived).toBe(25);
    expect(w.handle.sessions).toBe(0);
  });

  it('a bridged session hands its decoded frames to the main thread and sends the frames it is given (the bot is gone)', async () => {
    const w = startWorker(2);
    w.send({ t: 'open', sid: 1, callId: 'b1', botName: 'echo', metadata: {}, rtcpMux: false });
    const opened = await w.next('opened', 1);
    const peer = await udpPeer();
    w.send({ t: 'remote', sid: 1, remote: { address: '127.0.0.1', port: peer.port, codec: 'PCMU', payloadType: 0, send: true, receive: true } });
    w.send({ t: 'start', sid: 1 });
    w.send({ t: 'bridge', sid: 1 });
    const codec = g711Codec('PCMU');
    const payload = new Uint8Array(160).fill(0x20); // a loud μ-law sample
    for (let i = 0; i < 10; i++) {
      peer.socket.send(rtpPacket(i, 160 * i, 0x77, 0, payload), opened.localPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 20));
    }
    const expected = new Int16Array(160);
    codec.decode(payload, expected);
    let frame = await w.next('frame', 1);
    // The first frames may be concealment while the jitter buffer fills (not silent, so relayed).
    while (frame.pcm[0] !== expected[0]) frame = await w.next('frame', 1);
    expect(frame.pcm.length).toBe(160);
    expect(Array.from(frame.pcm)).toEqual(Array.from(expected));
    await new Promise((r) => setTimeout(r, 100));
    // rtp.sendSilence (default on) keeps μ-law silence (0xFF) going when there is nothing to say.
    const audible = (p: Buffer): boolean => (p[1]! & 0x7f) === 0 && p.subarray(12).some((b) => b !== 0xff);
    const echoed = peer.received.filter(audible);
    expect(echoed.length, 'the echo bot left the media path').toBe(0);
    const tone = new Int16Array(160).fill(1000);
    const toneUlaw = new Uint8Array(160);
    codec.encode(tone, toneUlaw);
    for (let i = 0; i < 5; i++) w.send({ t: 'frame', sid: 1, pcm: tone });
    await new Promise((r) => setTimeout(r, 250));
    const sent = peer.received.filter(audible);
    expect(sent.length, 'the bridge frames went out as RTP').toBe(5);
    expect(Array.from(sent[0]!.subarray(12)), 'the frame, μ-law encoded').toEqual(Array.from(toneUlaw));
  });

  it('refuses an open when its slice is exhausted with the error code that maps to 503', async () => {
    const w = startWorker(1);
    w.send({ t: 'open', sid: 1, callId: 'a', botName: 'echo', metadata: {}, rtcpMux: false });
    await w.next('opened', 1);
    w.send({ t: 'open', sid: 2, callId: 'b', botName: 'echo', metadata: {}, rtcpMux: false });
    const failed = await w.next('open-failed', 2);
    expect(failed.error.code).toBe('CAPACITY_NO_PORTS');
    expect(w.handle.sessions).toBe(1);
  });

  it("forwards the bot's hangup / transfer / DTMF requests and its events to the main thread", async () => {
    let ctx: BotContext | undefined;
    let emit: ((e: BotEvent) => void) | undefined;
    const bot: Bot = {
      prepare: () => Promise.resolve(),
      start: () => {
        emit?.({ type: 'transcript', role: 'user', text: 'hello', final: true });
        ctx?.transfer('+15550100');
        ctx?.sendDtmf?.('12');
        ctx?.hangup('done');
      },
      onAudio: () => undefined,
      onDtmf: () => undefined,
      playout: { pull: () => false } as unknown as Bot['playout'],
      onEvent: (h) => {
        emit = h;
      },
      close: () => Promise.resolve(),
    };
    const w = startWorker(2, (_name, context) => {
      ctx = context;
      return bot;
    });
    w.send({ t: 'open', sid: 7, callId: 'c7', botName: 'custom', metadata: { from: '100' }, rtcpMux: false });
    await w.next('opened', 7);
    expect(ctx?.metadata).toEqual({ from: '100' });
    w.send({ t: 'start', sid: 7 });
    const ev = await w.next('bot-event', 7);
    expect(ev.event).toEqual({ type: 'transcript', role: 'user', text: 'hello', final: true });
    expect((await w.next('bot-transfer', 7)).target).toBe('+15550100');
    expect((await w.next('bot-send-dtmf', 7)).digits).toBe('12');
    expect((await w.next('bot-hangup', 7)).reason).toBe('done');
  });
});

// ---- WorkerMediaHost (the main side) -------------------------------------------------------------

function fakeHost(): { host: WorkerMediaHost; posted: ToWorker[]; released: number[]; failed: string[]; hangups: string[]; digits: string[] } {
  const posted: ToWorker[] = [];
  const released: number[] = [];
  const failed: string[] = [];
  const hangups: string[] = [];
  const digits: string[] = [];
  const link: WorkerLink = { index: 0, post: (m) => posted.push(m), release: (sid) => released.push(sid) };
  const init: MediaHostInit = {
    callId: 'c',
    botName: 'echo',
    context: { callId: 'c', metadata: { to: '200' }, logger: silentLogger(), clock: new FakeClock(), hangup: (r) => hangups.push(r), transfer: () => undefined },
    rtcpMux: false,
    onDtmf: (d) => digits.push(d),
    onInactive: () => undefined,
    onBotEvent: () => undefined,
    onFailed: (reason) => failed.push(reason),
  };
  return { host: new WorkerMediaHost(link, 3, init, new FakeClock()), posted, released, failed, hangups, digits };
}

describe('WorkerMediaHost (the main-thread proxy)', () => {
  it('turns operations into messages and replies into results', async () => {
    const f = fakeHost();
    const opening = f.host.open();
    expect(f.posted[0]).toMatchObject({ t: 'open', sid: 3, callId: 'c', botName: 'echo', metadata: { to: '200' } });
    f.host.handle({ t: 'opened', sid: 3, localPort: 40_002, stats: undefined });
    expect(await opening).toBe(40_002);
    expect(f.host.localPort).toBe(40_002);
    f.host.handle({ t: 'dtmf', sid: 3, digit: '#', durationMs: 100 });
    f.host.handle({ t: 'bot-hangup', sid: 3, reason: 'bye' });
    expect(f.digits).toEqual(['#']);
    expect(f.hangups).toEqual(['bye']);
    const closing = f.host.close();
    expect(f.posted.at(-1)).toEqual({ t: 'close', sid: 3 });
    f.host.handle({ t: 'closed', sid: 3, stats: undefined });
    await closing;
    expect(f.released).toEqual([3]);
  });

  it('a worker dying during set-up rejects the pending step with a 503 error and does not also end the call', async () => {
    const f = fakeHost();
    const opening = f.host.open();
    f.host.fail('media worker failed');
    const err = await opening.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrunklineError);
    expect((err as TrunklineError).sipStatus).toBe(503);
    expect(f.failed).toEqual([]);
  });

  it('as a bridge leg: frames and digits from the worker go to the bridge; a 20 ms pump posts what the bridge has for the worker', async () => {
    const clock = new FakeClock();
    const posted: ToWorker[] = [];
    const link: WorkerLink = { index: 0, post: (m) => posted.push(m), release: () => undefined };
    const digits: string[] = [];
    const init: MediaHostInit = {
      callId: 'c',
      botName: 'echo',
      context: { callId: 'c', metadata: {}, logger: silentLogger(), clock, hangup: () => undefined, transfer: () => undefined },
      rtcpMux: false,
      onDtmf: (d) => digits.push(d),
      onInactive: () => undefined,
      onBotEvent: () => undefined,
      onFailed: () => undefined,
    };
    const host = new WorkerMediaHost(link, 9, init, clock);
    const opening = host.open();
    host.handle({ t: 'opened', sid: 9, localPort: 40_010, stats: undefined });
    await opening;
    const media = host.detachForBridge();
    expect(posted.at(-1)).toEqual({ t: 'bridge', sid: 9 });
    const frames: number[] = [];
    const bridgeDigits: string[] = [];
    media.onFrame((pcm) => frames.push(pcm[0]!));
    media.onDtmf((e) => bridgeDigits.push(`${e.digit}/${e.durationMs}`));
    host.handle({ t: 'frame', sid: 9, pcm: new Int16Array(160).fill(7) });
    host.handle({ t: 'dtmf', sid: 9, digit: '4', durationMs: 120 });
    expect(frames).toEqual([7]);
    expect(bridgeDigits).toEqual(['4/120']);
    expect(digits, 'a bridged leg’s digits are the bridge’s, not the call’s').toEqual([]);

    let queued = 2;
    media.setPlayoutSource({
      pull: (out) => {
        if (queued === 0) return false;
        out.fill(queued--);
        return true;
      },
    });
    const frameMessages = (): ToWorker[] => posted.filter((m) => m.t === 'frame');
    clock.advance(19);
    expect(frameMessages().length).toBe(0);
    clock.advance(1);
    expect(frameMessages().length, 'both frames the bridge held').toBe(2);
    media.setPlayoutSource(null);
    queued = 5;
    clock.advance(100);
    expect(frameMessages().length, 'no pump once the source is gone').toBe(2);
    expect(clock.pendingCount()).toBe(0);
  });

  it('a worker dying during the call reports onFailed once; close() then resolves at once and nothing more is posted', async () => {
    const f = fakeHost();
    const opening = f.host.open();
    f.host.handle({ t: 'opened', sid: 3, localPort: 40_002, stats: undefined });
    await opening;
    f.host.fail('media worker failed');
    f.host.fail('media worker failed');
    expect(f.failed).toEqual(['media worker failed']);
    const before = f.posted.length;
    f.host.sendDtmf('1');
    await f.host.close();
    expect(f.posted.length).toBe(before);
    expect(f.released).toEqual([3]);
  });
});
