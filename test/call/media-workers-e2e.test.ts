/**
 * Issue 4 "All cores", end to end with real worker threads: the whole server in process with two
 * media workers (the test runs from TypeScript sources, so the workers boot through the pool's
 * transpiling loader), SIPp as the caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { Bridge, type BridgeLeg, type Call, type EndCause, type WorkerLoad } from '../../src/call/index.js';
import { silentLogger, systemClock } from '../../src/shared/index.js';
import { describeSipp, freePort, startSipp, type SippResult } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { mediaWorkdir, type MediaWorkdir } from '../e2e/media-assets.js';

async function udpPeer(): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received };
}

function rtpPacket(seq: number, ts: number, ssrc: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(ssrc, 8);
  b.set(payload, 12);
  return b;
}

const DIES = 'uac-media-worker-dies-expect-bye-cause-41.xml';

describe.sequential('media worker threads (2 workers)', () => {
  let t: TestServer;
  let work: MediaWorkdir;
  let speechPackets = 0;
  const calls: Call[] = [];
  const causes = new Map<string, EndCause>();
  const loads: WorkerLoad[] = [];

  beforeAll(async () => {
    work = mediaWorkdir();
    speechPackets = Math.ceil(work.speech('speech', 'Hello, this call runs in a media worker thread').samples.length / 160);
    t = await startTestServer({ bot: 'echo', rtpPairs: 40, workers: 2, workerReportMs: 200 });
    t.server.mediaWorkers?.onLoad((_index, load) => loads.push(load));
    t.server.calls.onCall((call) => {
      calls.push(call);
      call.events.on('ended', (e) => causes.set(e.callId, e.cause));
    });
  }, 30_000);

  afterAll(async () => {
    await t?.stop();
    work?.close();
  });

  function sipp(scenario: string, n: number, extra: { cwd?: string; timeoutSec?: number } = {}): Promise<{ done: Promise<SippResult> }> {
    return Promise.all([freePort(), freePort()]).then(([port, mediaPort]) => ({
      done: startSipp({ scenario, target: t.target, port, mediaPort, calls: n, rate: 50, limit: n, timeoutSec: extra.timeoutSec ?? 15, deadlineMs: 20_000, ...(extra.cwd !== undefined ? { cwd: extra.cwd } : {}) }).done,
    }));
  }

  const answered = (): Call[] => calls.filter((c) => c.state === 'answered');

  it('an echo call runs in a worker: SIPp’s streamed speech comes back, stats and load come from the worker, the main thread binds no RTP port', async () => {
    const pool = t.server.mediaWorkers;
    expect(pool?.size).toBe(2);
    const run = await sipp('e2e-uac-rtp-stream-echo.xml', 1, { cwd: work.dir, timeoutSec: 20 });
    const r = await run.done;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    const call = calls[0];
    expect(call).toBeDefined();
    await call!.closed;
    const stats = call!.mediaStats;
    expect(stats?.packetsReceived, 'every packet SIPp streamed reached the worker’s session').toBe(speechPackets);
    expect(stats?.framesSent ?? 0, 'the echo bot’s frames went back from the worker').toBeGreaterThan(speechPackets - 10);
    expect(t.server.pool.inUse + t.server.pool.quarantined, 'the main thread’s own pool was never used').toBe(0);
    const port = call!.info.media.localPort ?? 0;
    expect(port).toBeGreaterThanOrEqual(t.rtpRange.min);
    expect(port).toBeLessThanOrEqual(t.rtpRange.max);
    expect(await waitFor(() => pool!.status().every((s) => s.load !== undefined), 2000)).toBe(true);
    const busy = loads.filter((l) => l.sessions === 1);
    expect(busy.length, 'load reports while the call was up').toBeGreaterThan(0);
    // A report covers one 200 ms period: about 10 ticks of the one call, never the whole history.
    expect(busy.some((l) => l.lateness.count >= 8), 'the ticks that paced the call').toBe(true);
    expect(Math.max(...busy.map((l) => l.lateness.count)), 'per period, not cumulative').toBeLessThanOrEqual(15);
  }, 30_000);

  it('a bridge between calls on the two workers relays audio both ways through the main thread', async () => {
    const pool = t.server.mediaWorkers!;
    const logger = silentLogger();
    const peers = await Promise.all([udpPeer(), udpPeer()]);
    const legs = peers.map((peer, i) => {
      const callId = `bridge-leg-${i}`;
      const host = pool.create({
        callId,
        botName: 'echo',
        context: { callId, metadata: {}, logger, clock: systemClock, hangup: () => undefined, transfer: () => undefined },
        rtcpMux: false,
        onDtmf: () => undefined,
        onInactive: () => undefined,
        onBotEvent: () => undefined,
        onFailed: () => undefined,
      });
      return { host, peer };
    });
    try {
      const ports = await Promise.all(legs.map((l) => l.host.open()));
      expect(pool.status().map((st) => st.sessions), 'one leg on each worker').toEqual([1, 1]);
      for (const l of legs) {
        await l.host.prepareBot();
        l.host.setRemote({ address: '127.0.0.1', port: l.peer.port, codec: 'PCMU', payloadType: 0, send: true, receive: true });
        l.host.start();
      }
      const [a, b] = legs.map((l, i): BridgeLeg => {
        let ended!: () => void;
        return {
          id: `leg-${i}`,
          media: l.host.detachForBridge(),
          ended: new Promise<void>((resolve) => (ended = resolve)),
          hangup: async () => {
            await l.host.close();
            ended();
          },
        };
      });
      const bridge = new Bridge(a!, b!, logger);
      const talk = async (from: number, byte: number): Promise<void> => {
        const payload = new Uint8Array(160).fill(byte);
        for (let i = 0; i < 25; i++) {
          peers[from]!.socket.send(rtpPacket(i, 160 * i, 0x500 + from, payload), ports[from], '127.0.0.1');
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await Promise.all([talk(0, 0x20), talk(1, 0x30)]);
      await new Promise((r) => setTimeout(r, 300));
      const heard = (peer: number, byte: number): number => peers[peer]!.received.filter((p) => (p[1]! & 0x7f) === 0 && p[12] === byte && p[100] === byte).length;
      expect(heard(1, 0x20), 'A’s audio reached B').toBeGreaterThan(15);
      expect(heard(0, 0x30), 'B’s audio reached A').toBeGreaterThan(15);
      expect(bridge.stats.framesAtoB).toBeGreaterThan(15);
      await bridge.close();
    } finally {
      for (const l of legs) {
        await l.host.close();
        l.peer.socket.close();
      }
    }
  }, 20_000);

  it('calls are spread over the workers; a worker that dies ends exactly its calls with BYE (Q.850 cause 41) and is replaced; the replacement takes the next call', async () => {
    const pool = t.server.mediaWorkers!;
    const before = calls.length;
    const first = await sipp(DIES, 4);
    expect(await waitFor(() => answered().length === 4, 8000), 'four calls answered').toBe(true);
    expect(pool.status().map((s) => s.sessions), 'pinned to the least loaded worker').toEqual([2, 2]);

    pool.crashForTest(0);
    expect(await waitFor(() => [...causes.values()].filter((c) => c === 'media-failed').length === 2, 5000), 'the two calls on worker 0 ended').toBe(true);
    expect(answered().length, 'the calls on worker 1 go on').toBe(2);
    expect(await waitFor(() => pool.status()[0]?.alive === true && pool.status()[0]?.restarts === 1, 8000), 'worker 0 replaced').toBe(true);

    const second = await sipp(DIES, 1);
    expect(await waitFor(() => answered().length === 3, 8000), 'a new call answered').toBe(true);
    expect(pool.status().map((s) => s.sessions), 'the new call went to the replacement (0 calls) rather than worker 1 (2 calls)').toEqual([1, 2]);

    // End the rest the same way: each call sees the BYE its scenario demands.
    pool.crashForTest(1);
    pool.crashForTest(0);
    const [r1, r2] = await Promise.all([first.done, second.done]);
    expect(r1.exitCode, describeSipp(r1)).toBe(0);
    expect(r1.stats?.successful).toBe(4);
    expect(r2.exitCode, describeSipp(r2)).toBe(0);
    expect(r2.stats?.successful).toBe(1);
    const ours = calls.slice(before);
    expect(ours.map((c) => causes.get(c.callId))).toEqual(['media-failed', 'media-failed', 'media-failed', 'media-failed', 'media-failed']);
    expect(t.server.calls.active).toBe(0);
    expect(await waitFor(() => pool.status().every((s) => s.alive), 8000), 'both workers back').toBe(true);
  }, 40_000);
});
