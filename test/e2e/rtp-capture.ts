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

const running = new Set<ChildProcess>();

/** Stops every capture still running (an afterAll for tests that failed half-way). */
export function stopAllCaptures(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  running.clear();
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
  running.add(child);
  child.once('exit', () => running.delete(child));
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

/** The payload bytes of `packets`, in order, as one stream. */
export function payloadStream(packets: readonly CapturedRtp[]): Buffer {
  return Buffer.concat(packets.map((p) => p.payload));
}

export interface EchoAlignment {
  /** Byte offset of the sent stream's start inside the returned one (-1: not found). */
  offset: number;
  /** 20 ms chunks (160 bytes) of the sent stream found bit-exact, in order, in the returned one. */
  matched: number;
  chunks: number;
  /** How often the offset moved between matched chunks (a jitter buffer adapting its delay). */
  shifts: number;
}

/**
 * G.711 decode → encode is the identity, so an echo returns the very bytes that were sent,
 * re-framed (a time-based jitter buffer cuts frames anywhere in the sample stream). Walks the
 * sent stream in 160-byte chunks and finds each, in order, in the returned stream; counts the
 * chunks found and how often their offset moved (a frame dropped or concealed in between).
 */
export function alignEcho(sent: Buffer, back: Buffer): EchoAlignment {
  const chunks = Math.floor(sent.length / 160);
  // A jitter buffer adapting its delay moves the offset by a frame or so at a time; searching
  // only near the last offset keeps a looped file's second pass from matching its first.
  const window = 5 * 160;
  let offset = -1;
  let last = -1;
  let matched = 0;
  let shifts = 0;
  let placeable = 0;
  for (let c = 0; c < chunks; c++) {
    const chunk = sent.subarray(c * 160, c * 160 + 160);
    // Silence-like chunks are not unique enough to place.
    if (new Set(chunk).size <= 16) continue;
    placeable++;
    let at: number;
    if (last < 0) {
      // The echo starts within a second (jitter buffer plus a tick) of the sent stream.
      at = back.subarray(0, c * 160 + 8000).indexOf(chunk);
    } else {
      const from = Math.max(0, c * 160 + last - window);
      const found = back.subarray(from, c * 160 + last + 160 + window).indexOf(chunk);
      at = found < 0 ? -1 : from + found;
    }
    if (at < 0) continue;
    const o = at - c * 160;
    if (offset < 0) offset = o;
    else if (o !== last) shifts++;
    last = o;
    matched++;
  }
  return { offset, matched, chunks: placeable, shifts };
}
