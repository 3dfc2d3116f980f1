/**
 * The load suite (`npm run load`): SIPp as the caller, Trunkline in this process as the callee.
 *
 *   npm run load -- --bot echo --rate 50 --concurrency 200 --duration 30 --hold 5
 *   npm run load -- --mode setup --rate 1000 --duration 20 --hold 0
 *
 * --mode audio (default): each call streams a 1 kHz mu-law tone with SIPp's rtp_stream (20 ms
 *   PCMU) for --hold seconds, the bot answers with its own audio (echo: the caller's), then BYE.
 * --mode setup: signalling only (INVITE/200/ACK, hold, BYE); the server still allocates RTP
 *   ports and starts the bot for every call. Measures the setup rate.
 * --rate calls/s, --concurrency the most simultaneous calls (SIPp -l), --duration seconds of
 * new calls (calls = rate × duration), --bot echo|demo, --transport u1|t1, --workers auto|N
 * (media worker threads as `npm start` runs them, default auto; 0 = media in the main thread).
 *
 * Reports successful and failed calls, retransmissions, response times p50/p99 (INVITE→200 and
 * BYE→200, from SIPp's -trace_rtt), server CPU (process.cpuUsage, all threads) and peak RSS, SIPp's CPU, the
 * pacer's send lateness p50/p99/max, the largest number of simultaneous calls seen, and the UDP
 * receive-buffer errors (RcvbufErrors in /proc/net/snmp) during the run. `--json` prints the
 * report as JSON too. Exit status 1 when any call failed.
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTrunkline, type Trunkline } from '../src/main.js';
import { buildConfig, silentLogger, createLogger } from '../src/shared/index.js';
import { freePort, startSipp, type SippStats } from '../test/helpers/sipp.js';
import { PROJECT_ROOT, flag as cliFlag } from './cli.js';
import { toneUlaw } from './tone.js';

export interface LoadOptions {
  mode: 'audio' | 'setup';
  bot: 'echo' | 'demo';
  rate: number;
  concurrency: number;
  durationSec: number;
  holdSec: number;
  transport: 'u1' | 't1';
  /** Media worker threads (calls.workers): 'auto' as `npm start` runs, 0 = media in the main thread. */
  workers: number | 'auto';
  /** Log level of the server under test. */
  logLevel?: 'silent' | 'warn' | 'info';
  /** Print progress lines while running. */
  verbose?: boolean;
}

export interface LoadReport {
  command: string;
  options: LoadOptions;
  calls: number;
  successful: number;
  failed: number;
  retransmissions: number;
  unexpected: number;
  setupMs: { p50: number; p99: number; max: number; samples: number };
  byeMs: { p50: number; p99: number; max: number; samples: number };
  achievedCps: number;
  wallSec: number;
  maxActiveCalls: number;
  serverCpuPercent: number;
  serverRssMbStart: number;
  serverRssMbPeak: number;
  sippCpuPercent: number;
  /**
   * Send lateness of every 20 ms tick. Main thread: the whole run's histogram. Media workers: each
   * reports once a second, p50/p99 are the median second's and worstSecondP99Ms the worst one's.
   */
  pacer: { p50Ms: number; p99Ms: number; maxMs: number; count: number; worstSecondP99Ms?: number };
  /** Media worker threads that carried the calls (0: the main thread). */
  workers: number;
  udpRcvbufErrors: number;
  udpInErrors: number;
  /** Receive drops on the server's own UDP sockets (SIP + RTP range) during the run. */
  serverSocketDrops: number;
  portsInUseAfter: number;
  sippExit: number | null;
  sippErrors: string;
}


/** Udp: counters of /proc/net/snmp (Linux). */
export function udpCounters(): Record<string, number> {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/).slice(1) ?? [];
    const values = lines[1]?.split(/\s+/).slice(1) ?? [];
    return Object.fromEntries(names.map((n, i) => [n, Number(values[i] ?? 0)]));
  } catch {
    return {};
  }
}

/** Inodes of the sockets this process holds (/proc/self/fd): the server's, whichever thread opened them. */
function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
        if (m?.[1] !== undefined) inodes.add(m[1]);
      } catch {
        // closed between the listing and the readlink
      }
    }
  } catch {
    // not Linux: no per-socket figures
  }
  return inodes;
}

/**
 * Per-socket receive drops (the last column of /proc/net/udp and /proc/net/udp6) of this
 * process's own sockets, by inode. RcvbufErrors is host-wide (SIPp's rtp_stream socket, which
 * never reads the echo, overflows by design, and its ephemeral port may even fall inside the
 * server's RTP range), so ownership is decided by inode, not by port.
 */
export function socketDrops(into: Map<string, number>): void {
  const mine = ownSocketInodes();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const inode = f[9];
      const drops = Number(f[f.length - 1]);
      if (inode === undefined || !mine.has(inode) || !Number.isFinite(drops)) continue;
      into.set(`${file}:${inode}`, Math.max(drops, into.get(`${file}:${inode}`) ?? 0));
    }
  }
}

/** utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15). */
function procTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** One second of a 1 kHz tone at -12 dBFS in G.711 mu-law (8000 bytes). */


/**
 * Where the run's RTP range starts: a random even port between 20000 and the kernel's ephemeral
 * range (ip_local_port_range, 32768 by default), so SIPp's own sockets, which take ephemeral
 * ports, never sit inside it and two runs side by side rarely share ports.
 */
export function rtpRangeStart(pairs: number): number {
  let ephemeralMin = 32_768;
  try {
    ephemeralMin = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralMin;
  } catch {
    // not Linux: the default
  }
  const low = 20_000;
  const span = pairs * 2;
  const slots = Math.max(1, Math.floor((ephemeralMin - low - span) / 2));
  return low + 2 * Math.floor(Math.random() * slots);
}

/** RTP ports held: the main thread's pool (every call's without workers, else consult legs) and the media sessions pinned to worker threads. */
export function portsInUse(server: Trunkline): number {
  return server.pool.inUse + (server.mediaWorkers?.status() ?? []).reduce((n, s) => n + s.sessions, 0);
}

/** The workers' once-a-second lateness reports folded into one figure (undefined: none came). */
function workerLateness(seconds: readonly { p50Ms: number; p99Ms: number; maxMs: number; count: number }[]): LoadReport['pacer'] | undefined {
  if (seconds.length === 0) return undefined;
  const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 0.5);
  return {
    p50Ms: median(seconds.map((l) => l.p50Ms)),
    p99Ms: median(seconds.map((l) => l.p99Ms)),
    maxMs: Math.max(...seconds.map((l) => l.maxMs)),
    count: seconds.reduce((n, l) => n + l.count, 0),
    worstSecondP99Ms: Math.max(...seconds.map((l) => l.p99Ms)),
  };
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Reads SIPp's -trace_rtt files: `Date_ms;response_time_ms;rtd_no` rows (rtd_no 1 setup, 2 BYE). */
function readRtt(dir: string): { setup: number[]; bye: number[] } {
  const setup: number[] = [];
  const bye: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const [, ms, rtd] = line.split(';');
      const v = Number(ms);
      if (!Number.isFinite(v) || rtd === undefined) continue;
      if (rtd.trim() === '1') setup.push(v);
      else if (rtd.trim() === '2') bye.push(v);
    }
  }
  setup.sort((a, b) => a - b);
  bye.sort((a, b) => a - b);
  return { setup, bye };
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const calls = Math.max(1, Math.round(options.rate * options.durationSec));
  const pairs = Math.max(16, Math.ceil(options.concurrency * 1.3) + 16);
  const portMin = rtpRangeStart(pairs);
  const config = buildConfig(
    {
      logLevel: options.logLevel ?? 'warn',
      bot: options.bot,
      sip: { listen: '127.0.0.1:0', rateLimit: { perSecond: 0 }, transports: ['udp', 'tcp'] },
      rtp: { ports: `${portMin}-${portMin + pairs * 2 - 1}`, quarantineMs: 500 },
      calls: { maxConcurrent: Math.max(options.concurrency * 2, 100) },
    },
    {},
  );
  const logger = options.logLevel === undefined || options.logLevel === 'silent' ? silentLogger() : createLogger({ level: options.logLevel });
  const server: Trunkline = await startTrunkline(config, { logger, http: false, warmTimeoutMs: 10_000, workers: options.workers });
  const seconds: { p50Ms: number; p99Ms: number; maxMs: number; count: number }[] = [];
  let collecting = false;
  server.mediaWorkers?.onLoad((_index, load) => {
    if (collecting && load.lateness.count > 0) seconds.push(load.lateness);
  });
  const work = mkdtempSync(join(tmpdir(), 'trunkline-load-'));
  try {
    writeFileSync(join(work, 'tone.ulaw'), toneUlaw());
    const scenario = join(PROJECT_ROOT, 'test/sipp', options.mode === 'audio' ? 'load-uac-rtp-stream-expect-bye-200.xml' : 'load-uac-setup-expect-bye-200.xml');
    const port = await freePort();
    const mediaPort = await freePort();
    const udp0 = udpCounters();
    const cpu0 = process.cpuUsage();
    const rss0 = process.memoryUsage().rss;
    server.pacer.resetLateness();
    collecting = true;
    const started = Date.now();
    const holdMs = Math.round(options.holdSec * 1000);
    const args = ['-d', String(holdMs), '-trace_rtt', '-rtt_freq', '1'];
    const sipp = startSipp({
      scenario,
      target: `127.0.0.1:${server.sipPort}`,
      calls,
      rate: options.rate,
      limit: options.concurrency,
      transport: options.transport,
      service: options.bot,
      port,
      mediaPort,
      cwd: work,
      extraArgs: args,
      timeoutSec: Math.ceil(options.durationSec + options.holdSec + 30),
      deadlineMs: (options.durationSec + options.holdSec + 60) * 1000,
    });
    const sippTicks0 = procTicks(sipp.pid);
    let rssPeak = rss0;
    let maxActive = 0;
    let sippTicks = sippTicks0;
    const drops0 = new Map<string, number>();
    socketDrops(drops0);
    const drops = new Map<string, number>();
    const sampler = setInterval(() => {
      socketDrops(drops);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      maxActive = Math.max(maxActive, server.calls.active);
      const t = procTicks(sipp.pid);
      if (t > 0) sippTicks = t;
      if (options.verbose === true) process.stderr.write(`  t=${Math.round((Date.now() - started) / 1000)}s active=${server.calls.active} rss=${round(process.memoryUsage().rss / 1048576, 0)}MB\r`);
    }, 250);
    const result = await sipp.done;
    collecting = false;
    clearInterval(sampler);
    socketDrops(drops);
    let serverSocketDrops = 0;
    for (const [k, v] of drops) serverSocketDrops += v - (drops0.get(k) ?? 0);
    const wallSec = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const udp1 = udpCounters();
    const lateness = workerLateness(seconds) ?? server.pacer.lateness();
    // Let calls wind down (SIPp has sent its last BYE), then check every port came back.
    const until = Date.now() + 10_000;
    while ((server.calls.active > 0 || portsInUse(server) > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const rtt = readRtt(work);
    const stats: SippStats | undefined = result.stats;
    const ticksPerSec = 100;
    const report: LoadReport = {
      command: `npm run load -- --mode ${options.mode} --bot ${options.bot} --rate ${options.rate} --concurrency ${options.concurrency} --duration ${options.durationSec} --hold ${options.holdSec} --transport ${options.transport} --workers ${options.workers}`,
      options,
      calls,
      successful: stats?.successful ?? 0,
      failed: stats === undefined ? calls : stats.failed + Math.max(0, calls - stats.successful - stats.failed),
      retransmissions: stats?.retransmissions ?? 0,
      unexpected: stats?.unexpected ?? 0,
      setupMs: { p50: round(percentile(rtt.setup, 0.5)), p99: round(percentile(rtt.setup, 0.99)), max: round(rtt.setup[rtt.setup.length - 1] ?? NaN), samples: rtt.setup.length },
      byeMs: { p50: round(percentile(rtt.bye, 0.5)), p99: round(percentile(rtt.bye, 0.99)), max: round(rtt.bye[rtt.bye.length - 1] ?? NaN), samples: rtt.bye.length },
      achievedCps: round((stats?.successful ?? 0) / Math.max(0.001, wallSec - options.holdSec), 1),
      wallSec: round(wallSec, 1),
      maxActiveCalls: maxActive,
      serverCpuPercent: round(((cpu.user + cpu.system) / 1e6 / wallSec) * 100, 1),
      serverRssMbStart: round(rss0 / 1048576, 1),
      serverRssMbPeak: round(rssPeak / 1048576, 1),
      sippCpuPercent: round(((sippTicks - sippTicks0) / ticksPerSec / wallSec) * 100, 1),
      pacer: {
        p50Ms: round(lateness.p50Ms),
        p99Ms: round(lateness.p99Ms),
        maxMs: round(lateness.maxMs),
        count: lateness.count,
        ...('worstSecondP99Ms' in lateness && lateness.worstSecondP99Ms !== undefined ? { worstSecondP99Ms: round(lateness.worstSecondP99Ms) } : {}),
      },
      workers: server.mediaWorkers?.status().length ?? 0,
      udpRcvbufErrors: (udp1['RcvbufErrors'] ?? 0) - (udp0['RcvbufErrors'] ?? 0),
      udpInErrors: (udp1['InErrors'] ?? 0) - (udp0['InErrors'] ?? 0),
      serverSocketDrops,
      portsInUseAfter: portsInUse(server),
      sippExit: result.exitCode,
      sippErrors: `${result.errors.slice(0, 2000)}\n${result.stderr.slice(0, 1000)}\n${result.stdout.slice(-1500)}`,
    };
    return report;
  } finally {
    // Bounded: a call that never releases must show up here, not hang the suite.
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([server.stop(0).then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), 45_000)))]);
    clearTimeout(timer);
    if (!stopped) {
      const states = new Map<string, number>();
      for (const c of server.calls.list()) states.set(c.state, (states.get(c.state) ?? 0) + 1);
      console.error(`server.stop() did not finish in 45 s: ${server.calls.active} calls left ${JSON.stringify(Object.fromEntries(states))}, ua ${JSON.stringify(server.ua.stats)}, ports in use ${server.pool.inUse}`);
    }
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatReport(r: LoadReport): string {
  return [
    `$ ${r.command}`,
    `calls            ${r.successful} ok / ${r.failed} failed of ${r.calls} (sipp exit ${String(r.sippExit)}), retransmissions ${r.retransmissions}, unexpected ${r.unexpected}`,
    `rate             ${r.achievedCps} calls/s achieved over ${r.wallSec} s; most simultaneous calls ${r.maxActiveCalls}`,
    `INVITE→200       p50 ${r.setupMs.p50} ms, p99 ${r.setupMs.p99} ms, max ${r.setupMs.max} ms (${r.setupMs.samples} samples)`,
    `BYE→200          p50 ${r.byeMs.p50} ms, p99 ${r.byeMs.p99} ms, max ${r.byeMs.max} ms (${r.byeMs.samples} samples)`,
    `server           CPU ${r.serverCpuPercent}% of one core, RSS ${r.serverRssMbStart} → peak ${r.serverRssMbPeak} MB; SIPp CPU ${r.sippCpuPercent}%`,
    r.workers === 0
      ? `pacer lateness   p50 ${r.pacer.p50Ms} ms, p99 ${r.pacer.p99Ms} ms, max ${r.pacer.maxMs} ms (${r.pacer.count} sends, main thread)`
      : `pacer lateness   p50 ${r.pacer.p50Ms} ms, p99 ${r.pacer.p99Ms} ms (median second), worst second p99 ${r.pacer.worstSecondP99Ms ?? NaN} ms, max ${r.pacer.maxMs} ms (${r.pacer.count} sends, ${r.workers} media workers)`,
    `UDP              host RcvbufErrors +${r.udpRcvbufErrors} (all sockets, SIPp's too); server sockets dropped ${r.serverSocketDrops}; RTP ports in use after: ${r.portsInUseAfter}`,
  ].join('\n');
}

const flag = (name: string, fallback: string): string => cliFlag('LOAD', name, fallback);

async function main(): Promise<void> {
  const mode = flag('mode', 'audio') === 'setup' ? 'setup' : 'audio';
  const options: LoadOptions = {
    mode,
    bot: flag('bot', 'echo') === 'demo' ? 'demo' : 'echo',
    rate: Number(flag('rate', mode === 'setup' ? '500' : '20')),
    concurrency: Number(flag('concurrency', '100')),
    durationSec: Number(flag('duration', '15')),
    holdSec: Number(flag('hold', mode === 'setup' ? '0' : '5')),
    transport: flag('transport', 'u1') === 't1' ? 't1' : 'u1',
    workers: flag('workers', 'auto') === 'auto' ? 'auto' : Number(flag('workers', 'auto')),
    logLevel: 'warn',
    verbose: process.stderr.isTTY,
  };
  const report = await runLoad(options);
  console.log(formatReport(report));
  if (process.argv.includes('--json')) console.log(JSON.stringify(report));
  if (report.failed > 0) console.log(`\nSIPp errors (head):\n${report.sippErrors}`);
  // Exit explicitly: a handle the server failed to release must not keep the suite running.
  process.exit(report.failed === 0 ? 0 : 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
}
