/**
 * Runs SIPp 3.6 against a SIP endpoint under test and reads back what it saw.
 *
 * Every run gets its own signalling and media ports (asked of the OS), its own temporary
 * directory for the statistics CSV and the error log, and a hard deadline after which the sipp
 * process itself (never a wrapper) is signalled. See /work/shared/TESTING.md.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const SIPP_DIR = resolve(import.meta.dirname, '..', 'sipp');

export interface SippOptions {
  /** Scenario file name inside test/sipp, or an absolute path. */
  scenario: string;
  /** host:port of the system under test. Omit for a SIPp UAS waiting for calls. */
  target?: string;
  /** Number of calls (-m). Default 1. */
  calls?: number;
  /** Calls per second (-r). Default SIPp's 10. */
  rate?: number;
  /** Simultaneous calls limit (-l). */
  limit?: number;
  /** -t: u1 (UDP, default), t1 (one TCP connection), tn (one TCP connection per call). */
  transport?: 'u1' | 'un' | 't1' | 'tn';
  /** Request-URI user (-s). */
  service?: string;
  /** Local address SIPp binds (-i, -mi). Default 127.0.0.1. */
  localIp?: string;
  /** Fixed SIPp port (-p); default a free one. */
  port?: number;
  /** -au / -ap for [authentication]. */
  auth?: { username: string; password: string };
  /** -key name value. */
  keys?: Record<string, string>;
  /** Extra raw arguments. */
  extraArgs?: readonly string[];
  /** Hard deadline for the whole run; SIPp is sent SIGKILL after it. Default 25 s. */
  deadlineMs?: number;
  /** SIPp's own -timeout (seconds). Default 15. */
  timeoutSec?: number;
  /** Debugging: also -trace_msg, and keep SIPp's files in this directory. Default: env SIPP_TRACE_DIR. */
  traceDir?: string;
  /** Working directory for SIPp (relative rtp_stream / pcap names resolve here). Default: its temporary directory. */
  cwd?: string;
}

export interface SippStats {
  successful: number;
  failed: number;
  retransmissions: number;
  unexpected: number;
  outOfCall: number;
  deadCall: number;
  /** Every (C) column of the last row, by name. */
  columns: Record<string, string>;
}

export interface SippResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stats: SippStats | undefined;
  /** Contents of the -trace_err log (empty when SIPp saw nothing wrong). */
  errors: string;
  stdout: string;
  stderr: string;
  /** The port SIPp listened on. */
  port: number;
  args: string[];
}

/** A port free for both UDP and TCP on `host`, as the OS hands it out. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((res, rej) => {
      const srv = createServer();
      srv.once('error', rej);
      srv.listen(0, host, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => {
          res(p);
        });
      });
    });
    const udpFree = await new Promise<boolean>((res) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        res(false);
      });
      s.bind(port, host, () => {
        s.close(() => {
          res(true);
        });
      });
    });
    if (udpFree) return port;
  }
  throw new Error('no free port found');
}

/** Parses the last row of a -trace_stat CSV (semicolon separated, header on the first line). */
export function parseSippStats(csv: string): SippStats | undefined {
  const lines = csv.split('\n').filter((l) => l.trim().length > 0);
  const header = lines[0];
  const last = lines[lines.length - 1];
  if (header === undefined || last === undefined || lines.length < 2) return undefined;
  const names = header.split(';');
  const values = last.split(';');
  const columns: Record<string, string> = {};
  names.forEach((n, i) => {
    if (n.endsWith('(C)')) columns[n] = values[i] ?? '';
  });
  const num = (name: string): number => Number(columns[name] ?? 'NaN');
  return {
    successful: num('SuccessfulCall(C)'),
    failed: num('FailedCall(C)'),
    retransmissions: num('Retransmissions(C)'),
    unexpected: num('FailedUnexpectedMessage(C)'),
    outOfCall: num('OutOfCallMsgs(C)'),
    deadCall: num('DeadCallMsgs(C)'),
    columns,
  };
}

/** Starts SIPp; resolves when it exits (or after the deadline, once it has been killed). */
export function startSipp(options: SippOptions & { port: number; mediaPort: number }): {
  pid: number | undefined;
  done: Promise<SippResult>;
  kill(): void;
} {
  const traceDir = options.traceDir ?? process.env.SIPP_TRACE_DIR;
  const dir = traceDir !== undefined ? mkdtempSync(join(traceDir, 'sipp-')) : mkdtempSync(join(tmpdir(), 'trunkline-sipp-'));
  const stf = join(dir, 'stats.csv');
  const errFile = join(dir, 'errors.log');
  const scenario = options.scenario.startsWith('/') ? options.scenario : join(SIPP_DIR, options.scenario);
  const ip = options.localIp ?? '127.0.0.1';
  const args: string[] = [];
  if (options.target !== undefined) args.push(options.target);
  args.push('-sf', scenario, '-i', ip, '-mi', ip, '-p', String(options.port), '-mp', String(options.mediaPort));
  args.push('-m', String(options.calls ?? 1), '-nostdin', '-timeout', `${options.timeoutSec ?? 15}s`);
  args.push('-trace_stat', '-stf', stf, '-trace_err', '-error_file', errFile);
  args.push('-t', options.transport ?? 'u1');
  if (options.rate !== undefined) args.push('-r', String(options.rate));
  if (options.limit !== undefined) args.push('-l', String(options.limit));
  if (options.service !== undefined) args.push('-s', options.service);
  if (options.auth !== undefined) args.push('-au', options.auth.username, '-ap', options.auth.password);
  for (const [k, v] of Object.entries(options.keys ?? {})) args.push('-key', k, v);
  args.push(...(options.extraArgs ?? []));
  if (traceDir !== undefined) args.push('-trace_msg');

  const child = spawn('sipp', args, { cwd: options.cwd ?? dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    if (stdout.length < 200_000) stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 200_000) stderr += b.toString();
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const deadline = setTimeout(kill, options.deadlineMs ?? 25_000);
  const done = new Promise<SippResult>((res) => {
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      const csv = existsSync(stf) ? readFileSync(stf, 'utf8') : '';
      const errors = existsSync(errFile) ? readFileSync(errFile, 'utf8') : '';
      if (traceDir === undefined) rmSync(dir, { recursive: true, force: true });
      res({ exitCode: code, signal, stats: parseSippStats(csv), errors, stdout, stderr, port: options.port, args });
    });
    child.once('error', (err) => {
      clearTimeout(deadline);
      rmSync(dir, { recursive: true, force: true });
      res({ exitCode: null, signal: null, stats: undefined, errors: String(err), stdout, stderr, port: options.port, args });
    });
  });
  return { pid: child.pid, done, kill };
}

/** Runs SIPp to completion on free ports. */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const port = options.port ?? (await freePort(options.localIp ?? '127.0.0.1'));
  const mediaPort = await freePort(options.localIp ?? '127.0.0.1');
  return startSipp({ ...options, port, mediaPort }).done;
}

/** One line for an assertion message: exit code, the counters and the head of the error log. */
export function describeSipp(r: SippResult): string {
  const s = r.stats;
  const counters = s === undefined ? 'no stats' : `ok=${s.successful} failed=${s.failed} retrans=${s.retransmissions} unexpected=${s.unexpected}`;
  return `sipp exit=${String(r.exitCode)} ${counters}\n${r.errors.slice(0, 3000)}\n${r.stderr.slice(0, 1000)}`;
}
