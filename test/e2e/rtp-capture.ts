/**
 * What actually crossed the wire in an end-to-end test: tcpdump on the loopback interface,
 * filtered to the server's RTP port range (unique per test file), then the capture read back as
 * RTP per direction. Measuring on the wire, not inside the server, is the point: a bug anywhere
 * between the socket and the bot shows up here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alawToLinear, ulawToLinear } from '../../src/codec/index.js';
import { readPcapUdp } from '../rtp/pcap-reader.js';

export interface CapturedRtp {
  /** Capture time, ms. */
  timeMs: number;
  srcPort: number;
  dstPort: number;
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

export interface RtpCapture {
  readonly file: string;
  /** Stops tcpdump (SIGINT, so it flushes) and returns every RTP packet it saw. */
  stop(): Promise<CapturedRtp[]>;
}

/** Starts tcpdump on lo for UDP to or from `ports`; resolves once it is listening. */
export async function captureRtp(ports: { min: number; max: number }): Promise<RtpCapture> {
  const dir = mkdtempSync(join(tmpdir(), 'trunkline-cap-'));
  const file = join(dir, 'rtp.pcap');
  // -U: write each packet as it comes (nothing lost on SIGINT); -B: a kernel buffer big enough
  // for a few hundred calls' worth of 50 packets/s each way.
  const child: ChildProcess = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '-B', '16384', '-w', file, `udp and portrange ${ports.min}-${ports.max}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 5000);
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited ${String(code)}: ${stderr}`));
    });
  });
  return {
    file,
    async stop(): Promise<CapturedRtp[]> {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGINT');
        await exited;
      }
      try {
        return readPcapUdp(file).flatMap((u) => {
          const p = u.payload;
          if (p.length < 12 || p[0]! >> 6 !== 2) return [];
          const pt = p[1]! & 0x7f;
          if (pt >= 72 && pt <= 79) return []; // RTCP (RFC 5761 §4)
          const cc = p[0]! & 0x0f;
          let offset = 12 + cc * 4;
          if ((p[0]! & 0x10) !== 0 && p.length >= offset + 4) offset += 4 + p.readUInt16BE(offset + 2) * 4;
          let end = p.length;
          if ((p[0]! & 0x20) !== 0) end -= p[p.length - 1]!;
          return [
            {
              timeMs: u.timeMs,
              srcPort: u.srcPort,
              dstPort: u.dstPort,
              payloadType: pt,
              marker: (p[1]! & 0x80) !== 0,
              seq: p.readUInt16BE(2),
              timestamp: p.readUInt32BE(4),
              ssrc: p.readUInt32BE(8),
              payload: Buffer.from(p.subarray(offset, end)),
            },
          ];
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Decodes the G.711 payloads of `packets` (in order) to one 16-bit PCM signal. */
export function decodeG711(packets: readonly CapturedRtp[]): Int16Array {
  let total = 0;
  for (const p of packets) total += p.payload.length;
  const out = new Int16Array(total);
  let o = 0;
  for (const p of packets) {
    const decode = p.payloadType === 8 ? alawToLinear : ulawToLinear;
    for (let i = 0; i < p.payload.length; i++) out[o++] = decode(p.payload[i]!);
  }
  return out;
}

/** RMS level in dBFS (0 dB = full-scale square wave). */
export function rmsDbfs(pcm: Int16Array, from = 0, to = pcm.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += pcm[i]! * pcm[i]!;
  const n = Math.max(1, to - from);
  return 20 * Math.log10(Math.sqrt(sum / n) / 32768 + 1e-12);
}

/** Gaps between successive packets' capture times, ms. */
export function arrivalGaps(packets: readonly CapturedRtp[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < packets.length; i++) gaps.push(packets[i]!.timeMs - packets[i - 1]!.timeMs);
  return gaps;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}
