/**
 * RTP media benchmarks.
 *  (a) One packet's whole media path in memory — parse the RTP header in place, jitter buffer
 *      push + pop, G.711 decode, concealer, encode, serialize — with the heap growth over 1M
 *      packets (the zero-allocation proof).
 *  (b) Capacity: N real MediaSessions on loopback, each talking to an echo peer running in a
 *      child process (so its CPU is not ours), for BENCH_SECONDS (default 10) per N. Reports this
 *      process's CPU %, the pacer's send lateness against the 20 ms grid (p50/p99), and loss.
 *      Goal: 1,500 calls on one core with p99 lateness ≤ 5 ms and no loss.
 *      BENCH_RTP_SESSIONS="500,1000,1500" picks the sizes.
 */
import { spawn } from 'node:child_process';
import { G711Concealer, g711Codec } from '../src/codec/index.js';
import { JitterBuffer, MediaSession, Pacer, PortPool, RtpPacketView, RtpWriter } from '../src/rtp/index.js';
import { silentLogger, systemClock } from '../src/shared/index.js';
import { measure, retainedHeapPerOp, row, type BenchRow, type BenchSection } from './harness.js';

function packetPath(): BenchRow[] {
  const codec = g711Codec('PCMU');
  const concealer = new G711Concealer();
  const jb = new JitterBuffer({ clockRate: 8000, frameMs: 20 });
  const view = new RtpPacketView();
  const writer = new RtpWriter(0x1234abcd, 0);
  const sender = new RtpWriter(0x55667788, 0);
  const pcmIn = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcmIn[i] = Math.round(8000 * Math.sin(i / 5));
  const payload = new Uint8Array(160);
  codec.encode(pcmIn, payload);
  const rx = Buffer.alloc(172);
  const tx = Buffer.alloc(172);
  const popped = new Uint8Array(160);
  const pcm = new Int16Array(160);
  const txPayload = tx.subarray(12);
  let now = 0;
  const op = (i: number): void => {
    // The "received" datagram: a fresh header each time, as the wire would bring it.
    sender.write(rx, 0, 0, i === 0, (i * 160) >>> 0, payload);
    now += 20;
    if (view.parse(rx, 0, 172) !== null) throw new Error('parse failed');
    // As MediaSession does: the jitter buffer copies the payload straight out of the datagram.
    jb.pushFrom(view.sequenceNumber, view.timestamp, view.ssrc, view.marker, rx, view.payloadOffset, view.payloadLength, now);
    if (jb.pop(now + 2, popped) === 'packet') {
      codec.decode(popped, pcm);
      concealer.good(pcm);
    } else {
      concealer.conceal(pcm);
    }
    codec.encode(pcm, txPayload);
    writer.writeHeaderInPlace(tx, 0, 0, false, (i * 160) >>> 0);
  };
  const m = measure(op, 200_000);
  const parseOnly = measure(() => {
    view.parse(rx, 0, 172);
  }, 1_000_000);
  const retained = retainedHeapPerOp(op, 1_000_000);
  return [
    row('packet path: parse → jitter push/pop → decode → PLC → encode → serialize (1 packet)', m, {
      extra: { retainedHeapBytesPer1MPackets: Math.round(retained * 1_000_000), retainedBytesPerPacket: Math.round(retained * 1000) / 1000 },
    }),
    row('RTP header parse in place (RtpPacketView)', parseOnly),
  ];
}

/** The echo peer: a child process with a few UDP sockets that send every datagram back. */
const ECHO_SCRIPT = `
const dgram = require('node:dgram');
const n = Number(process.argv[1]);
const ports = [];
let ready = 0;
for (let i = 0; i < n; i++) {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, r) => s.send(msg, r.port, r.address));
  s.on('error', () => {});
  s.bind(0, '127.0.0.1', () => {
    try { s.setRecvBufferSize(4 << 20); s.setSendBufferSize(4 << 20); } catch {}
    ports.push(s.address().port);
    if (++ready === n) process.stdout.write(JSON.stringify(ports) + '\\n');
  });
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

async function startEcho(sockets: number): Promise<{ ports: number[]; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', ECHO_SCRIPT, String(sockets)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as number[]);
    });
    child.once('error', reject);
  });
  return {
    ports,
    stop: () => {
      child.stdin.end();
      child.kill();
    },
  };
}

/** One capacity row (exported so a profiling script can run a single size without the rest). */
export async function capacity(sessions: number, seconds: number): Promise<BenchRow> {
  const echo = await startEcho(Math.max(1, Math.ceil(sessions / 250)));
  const pacer = new Pacer({ clock: systemClock, wakeEarlyMs: 1 });
  const pool = new PortPool({ min: 30000, max: 30000 + sessions * 2 + 400, quarantineMs: 0, clock: systemClock, address: '127.0.0.1' });
  const logger = silentLogger();
  const codec = g711Codec('PCMU');
  const all: MediaSession[] = [];
  const tone = new Int16Array(160);
  for (let i = 0; i < 160; i++) tone[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  try {
    for (let i = 0; i < sessions; i++) {
      const s = await MediaSession.open({
        pool,
        pacer,
        clock: systemClock,
        logger,
        codec,
        concealer: new G711Concealer(),
        inactivityTimeoutMs: 30_000,
        rtcpMux: true,
        localAddress: '127.0.0.1',
      });
      const port = echo.ports[i % echo.ports.length]!;
      s.setRemote({ address: '127.0.0.1', port, rtcpMux: true, send: true, receive: true });
      // Keep one frame queued per tick: the bot "speaks" continuously.
      s.sendFrame(tone);
      s.sendFrame(tone);
      s.onFrame(() => {
        s.sendFrame(tone);
      });
      all.push(s);
    }
    // Warm up 2 s, then measure.
    await new Promise((r) => setTimeout(r, 2000));
    const sent0 = all.reduce((a, s) => a + s.stats.packetsSent, 0);
    const recv0 = all.reduce((a, s) => a + s.stats.packetsReceived, 0);
    pacer.resetLateness();
    const skipped0 = pacer.skippedTicks;
    const wakeups0 = pacer.wakeups;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    const lateness = pacer.lateness();
    // Let in-flight echoes land before counting.
    const sent1 = all.reduce((a, s) => a + s.stats.packetsSent, 0);
    await new Promise((r) => setTimeout(r, 100));
    const recv1 = all.reduce((a, s) => a + s.stats.packetsReceived, 0) - (all.reduce((a, s) => a + s.stats.packetsSent, 0) - sent1);
    const sent = sent1 - sent0;
    const recv = recv1 - recv0;
    const expected = (sessions * wallMs) / 20;
    const jbConcealed = all.reduce((a, s) => a + s.stats.jitterBuffer.concealedFrames, 0);
    const jbPlayed = all.reduce((a, s) => a + s.stats.jitterBuffer.framesPlayed, 0);
    return {
      name: `capacity: ${sessions} sessions on loopback, ${seconds} s`,
      opsPerSec: Math.round((sent / wallMs) * 1000),
      extra: {
        cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
        cpuUserPercent: Math.round((cpu.user / 1000 / wallMs) * 1000) / 10,
        /** CPU time of this process per session tick (one packet sent, one received, one frame in, one out). */
        cpuUsPerSessionTick: sent === 0 ? 0 : Math.round(((cpu.user + cpu.system) / sent) * 100) / 100,
        lateP50Ms: lateness.p50Ms,
        lateP99Ms: Math.round(lateness.p99Ms * 10) / 10,
        lateMaxMs: Math.round(lateness.maxMs * 10) / 10,
        packetsSent: sent,
        sendRatePct: Math.round((sent / expected) * 1000) / 10,
        lossPct: sent === 0 ? 0 : Math.round((1 - recv / sent) * 10000) / 100,
        concealedPct: jbPlayed === 0 ? 0 : Math.round((jbConcealed / (jbPlayed + jbConcealed)) * 10000) / 100,
        skippedTicks: pacer.skippedTicks - skipped0,
        wakeupsPerSec: Math.round(((pacer.wakeups - wakeups0) / wallMs) * 1000),
      },
    };
  } finally {
    await Promise.all(all.map((s) => s.close()));
    await pool.close();
    echo.stop();
  }
}

export async function run(): Promise<BenchSection> {
  const rows = packetPath();
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const sizes = (process.env.BENCH_RTP_SESSIONS ?? '500,1000,1500').split(',').map(Number);
  for (const n of sizes) rows.push(await capacity(n, seconds));
  return {
    section: 'rtp',
    rows,
    notes: [
      'opsPerSec of the capacity rows = RTP packets sent per second (50 per session).',
      'cpuPercent is this process only (the echo peer runs in a child process); Node dgram allocates a Buffer per received datagram and a send request per sent one — that is Node’s, not ours.',
      'lateness = actual − deadline of each session tick on the pacer grid; lossPct from packets sent vs echoed back.',
      'cpuUsPerSessionTick = this process’s CPU time per packet sent (each comes with one received, one frame decoded and one encoded): the load-independent cost; one core holds about 20,000 / cpuUsPerSessionTick sessions at 100 %.',
    ],
  };
}
