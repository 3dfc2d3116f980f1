/**
 * Issue 4 "All cores": echo calls held on 1 media worker vs 2, at p99 send lateness ≤ 5 ms
 * (goal ≥ 2,500 echo calls on this 2-core machine).
 *
 * The server side is the real thing minus SIP: a WorkerPool (the threads `npm start` runs), one
 * media session + echo bot per call opened through the same MediaHost calls use, RTCP on its own
 * port as carriers offer it. The caller side must not eat the cores it measures, so it is a small
 * C program (compiled here with the system's cc; a Node caller costs about as much CPU per packet
 * as the server and would halve what we can show): one UDP socket sending every call a 20 ms
 * μ-law packet per tick — spread over the 20 ms in 10 phases, as real callers are not in lock
 * step — with sendmmsg/recvmmsg, and counting what comes back.
 *
 * Per step: open N calls, 2 s to settle, then BENCH_SECONDS (default 5) of measurement. Lateness
 * comes from the workers' own load reports (each covers 1 s of its pacer's ticks); the step's
 * figure is, per second, the worst worker's p99, and of those the median second (worst second
 * shown as well). CPU % is this process (all its threads); the caller's CPU is shown apart.
 * Env: BENCH_SECONDS, BENCH_WORKERS_STEPS ("500,1000,1500,2000,2500,3000"), BENCH_WORKERS ("1,2").
 *
 * Run: npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/run.js workers
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMediaHostFactory, WorkerPool, type MediaHost, type WorkerLoad } from '../src/call/index.js';
import { Pacer, PortPool } from '../src/rtp/index.js';
import { buildConfig, silentLogger, systemClock } from '../src/shared/index.js';
import type { BenchRow, BenchSection } from './harness.js';

const P99_BUDGET_MS = 5;
const MAX_LOSS_PCT = 1;

const CALLER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#define PHASES 10
#define BATCH 64
static int n = 0, *ports;
static unsigned long long sent = 0, recvd = 0;

static void drain(int fd) {
  static char bufs[BATCH][256];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) { iov[i].iov_base = bufs[i]; iov[i].iov_len = 256; memset(&msgs[i], 0, sizeof msgs[i]); msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1; }
    int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r <= 0) return;
    for (int i = 0; i < r; i++) if (msgs[i].msg_len >= 12 && (bufs[i][1] & 0x7f) == 0) recvd++;
  }
}

int main(void) {
  // stdin: "N p1 p2 ... pN\n", then commands: "stats\n" (prints "sent recvd"), EOF = exit.
  if (scanf("%d", &n) != 1) return 1;
  ports = malloc(sizeof(int) * n);
  for (int i = 0; i < n; i++) if (scanf("%d", &ports[i]) != 1) return 1;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 16 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  bind(fd, (struct sockaddr *)&me, sizeof me);
  socklen_t len = sizeof me;
  getsockname(fd, (struct sockaddr *)&me, &len);
  printf("%d\n", ntohs(me.sin_port));
  fflush(stdout);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

  unsigned char (*pkts)[172] = malloc(172 * (size_t)n);
  struct sockaddr_in *to = malloc(sizeof(struct sockaddr_in) * n);
  for (int i = 0; i < n; i++) {
    memset(pkts[i], 0, 172);
    pkts[i][0] = 0x80; pkts[i][1] = 0;
    unsigned ssrc = 0x10000 + i;
    pkts[i][8] = ssrc >> 24; pkts[i][9] = ssrc >> 16; pkts[i][10] = ssrc >> 8; pkts[i][11] = ssrc;
    for (int k = 12; k < 172; k++) pkts[i][k] = (unsigned char)(0x80 | ((k * 7 + i) & 0x3f)); // speech-level μ-law
    to[i].sin_family = AF_INET; to[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK); to[i].sin_port = htons(ports[i]);
  }
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  unsigned tick = 0;
  char line[64]; int linelen = 0;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (;;) {
    for (int phase = 0; phase < PHASES; phase++) {
      int from = (int)((long)n * phase / PHASES), until = (int)((long)n * (phase + 1) / PHASES);
      for (int i = from; i < until; i += BATCH) {
        int m = until - i < BATCH ? until - i : BATCH;
        for (int j = 0; j < m; j++) {
          unsigned char *p = pkts[i + j];
          unsigned short seq = (unsigned short)tick; unsigned ts = tick * 160;
          p[2] = seq >> 8; p[3] = seq; p[4] = ts >> 24; p[5] = ts >> 16; p[6] = ts >> 8; p[7] = ts;
          iov[j].iov_base = p; iov[j].iov_len = 172;
          memset(&msgs[j], 0, sizeof msgs[j]);
          msgs[j].msg_hdr.msg_name = &to[i + j]; msgs[j].msg_hdr.msg_namelen = sizeof to[i + j];
          msgs[j].msg_hdr.msg_iov = &iov[j]; msgs[j].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(fd, msgs, m, 0);
        if (r > 0) sent += r;
      }
      drain(fd);
      next.tv_nsec += 2000000;
      if (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    tick++;
    int c;
    while ((c = getchar()) != EOF) {
      if (c == '\n') { line[linelen] = 0; if (strcmp(line, "stats") == 0) { printf("%llu %llu\n", sent, recvd); fflush(stdout); } linelen = 0; }
      else if (linelen < 63) line[linelen++] = (char)c;
    }
    if (feof(stdin)) return 0;
    clearerr(stdin);
  }
}
`;

interface Caller {
  readonly port: number;
  readonly pid: number;
  stats(): Promise<{ sent: number; received: number }>;
  cpuMs(): number;
  stop(): void;
}

function compileCaller(dir: string): string | undefined {
  const src = join(dir, 'rtp-caller.c');
  const bin = join(dir, 'rtp-caller');
  writeFileSync(src, CALLER_C);
  try {
    execFileSync('cc', ['-O2', '-o', bin, src], { stdio: 'pipe' });
    return bin;
  } catch {
    return undefined;
  }
}

async function startCaller(bin: string, ports: readonly number[]): Promise<Caller> {
  const child: ChildProcessWithoutNullStreams = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  const lines: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.shift()?.(line);
    }
  });
  const nextLine = (): Promise<string> => new Promise((resolve) => lines.push(resolve));
  const portLine = nextLine();
  child.stdin.write(`${ports.length} ${ports.join(' ')}\n`);
  const port = Number(await portLine);
  const pid = child.pid ?? 0;
  return {
    port,
    pid,
    async stats() {
      const l = nextLine();
      child.stdin.write('stats\n');
      const [sent, received] = (await l).split(' ').map(Number);
      return { sent: sent ?? 0, received: received ?? 0 };
    },
    cpuMs() {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, at USER_HZ = 100
      } catch {
        return 0;
      }
    },
    stop() {
      child.stdin.end();
      child.kill();
    },
  };
}

const r1 = (v: number): number => Math.round(v * 10) / 10;
const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens `n` echo calls on the pool; resolves with their hosts and RTP ports. */
async function openCalls(pool: WorkerPool, n: number): Promise<{ hosts: MediaHost[]; ports: number[] }> {
  const logger = silentLogger();
  const hosts: MediaHost[] = [];
  const ports: number[] = [];
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
        const callId = `bench-${i + j}`;
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
        const port = await host.open();
        await host.prepareBot();
        return { host, port };
      }),
    );
    for (const o of opened) {
      hosts.push(o.host);
      ports.push(o.port);
    }
  }
  return { hosts, ports };
}

async function step(bin: string, workers: number, n: number, seconds: number): Promise<BenchRow> {
  const config = buildConfig({ logLevel: 'silent', rtp: { ports: '20000-39999', quarantineMs: 0 }, bot: 'echo' }, {});
  const logger = silentLogger();
  const local = new LocalMediaHostFactory({
    config,
    clock: systemClock,
    logger,
    pool: new PortPool({ min: 40000, max: 40003, quarantineMs: 0, clock: systemClock }),
    pacer: new Pacer({ clock: systemClock }),
    createBot: () => {
      throw new Error('not used');
    },
  });
  const pool = new WorkerPool({ config, logger, clock: systemClock, count: workers, local, reportMs: 1000 });
  await pool.start();
  const reports: { index: number; load: WorkerLoad }[] = [];
  let collecting = false;
  pool.onLoad((index, load) => {
    if (collecting) reports.push({ index, load });
  });
  let caller: Caller | undefined;
  const { hosts, ports } = await openCalls(pool, n);
  try {
    caller = await startCaller(bin, ports);
    for (const h of hosts) h.setRemote({ address: '127.0.0.1', port: caller.port, codec: 'PCMU', payloadType: 0, send: true, receive: true });
    for (const h of hosts) h.start();
    await sleep(2000);
    const c0 = await caller.stats();
    const callerCpu0 = caller.cpuMs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    collecting = true;
    await sleep(seconds * 1000);
    collecting = false;
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    await sleep(100); // echoes in flight
    const c1 = await caller.stats();
    const callerCpuMs = caller.cpuMs() - callerCpu0;
    const sent = c1.sent - c0.sent;
    const received = c1.received - c0.received;
    // Per report period: the worst worker's p99; the step's figure: the median period.
    const periods = new Map<number, number[]>();
    const seen = new Map<number, number>();
    for (const { index, load } of reports) {
      const k = seen.get(index) ?? 0;
      seen.set(index, k + 1);
      const list = periods.get(k) ?? [];
      list.push(load.lateness.p99Ms);
      periods.set(k, list);
    }
    const worstPerPeriod = [...periods.values()].map((l) => Math.max(...l));
    const p99 = median(worstPerPeriod);
    const worstSecond = Math.max(0, ...worstPerPeriod);
    const p50 = median(reports.map((r) => r.load.lateness.p50Ms));
    const maxMs = Math.max(0, ...reports.map((r) => r.load.lateness.maxMs));
    const skipped = reports.reduce((a, r) => a + r.load.skippedTicks, 0);
    const utilization = reports.length === 0 ? 0 : reports.reduce((a, r) => a + r.load.utilization, 0) / reports.length;
    const lossPct = sent === 0 ? 100 : Math.max(0, (1 - received / sent) * 100);
    const ok = p99 <= P99_BUDGET_MS && lossPct <= MAX_LOSS_PCT;
    const sessions = pool.status().map((s) => s.sessions);
    return {
      name: `${workers} worker${workers > 1 ? 's' : ''}: ${n} echo calls, ${seconds} s`,
      opsPerSec: Math.round((received / wallMs) * 1000),
      extra: {
        perWorker: sessions.join('/'),
        lateP50Ms: r1(p50),
        lateP99Ms: r1(p99),
        worstSecondP99Ms: r1(worstSecond),
        lateMaxMs: r1(maxMs),
        skippedTicks: skipped,
        workerLoopUse: `${Math.round(utilization * 100)}%`,
        serverCpuPercent: r1(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
        /** Server CPU per call per 20 ms tick (one packet in, one out, a frame each way): 20,000 / this = calls per core at 100 %. */
        serverCpuUsPerCallTick: r1((cpu.user + cpu.system) / ((n * wallMs) / 20)),
        callerCpuPercent: r1((callerCpuMs / wallMs) * 100),
        lossPct: r1(lossPct),
        withinBudget: ok,
      },
    };
  } finally {
    caller?.stop();
    await Promise.all(hosts.map((h) => h.close()));
    await pool.close();
  }
}

export async function run(): Promise<BenchSection> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const steps = (process.env.BENCH_WORKERS_STEPS ?? '500,1000,1500,2000,2500,3000').split(',').map(Number);
  const modes = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
  const notes: string[] = [`machine load average at start (1 min): ${loadavg()[0]?.toFixed(2) ?? '?'}; lateness is sensitive to other processes on the same cores`];
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'trunkline-bench-workers-'));
  try {
    const bin = compileCaller(dir);
    if (bin === undefined) {
      return { section: 'workers', rows, notes: [...notes, 'skipped: no C compiler (cc) for the RTP caller'] };
    }
    const held: string[] = [];
    for (const workers of modes) {
      let best = 0;
      for (const n of steps) {
        const r = await step(bin, workers, n, seconds);
        rows.push(r);
        if (r.extra?.withinBudget !== true) break;
        best = n;
      }
      held.push(`${workers} worker${workers > 1 ? 's' : ''}: ${best}`);
    }
    notes.push(`echo calls held with p99 send lateness ≤ ${P99_BUDGET_MS} ms and loss ≤ ${MAX_LOSS_PCT} % — ${held.join('; ')} (goal ≥ 2,500 on this 2-core machine)`);
    notes.push('serverCpuUsPerCallTick: the per-call cost that bounds capacity — two cores at 100 % hold 40,000 / serverCpuUsPerCallTick calls, before the caller and anything else running on them');
    notes.push('opsPerSec = RTP packets echoed back to the caller per second (50 per call when nothing is lost)');
    notes.push('the caller is a C program on the same 2 cores (its CPU is shown); SIP is not in this bench (bench/call.bench.ts has calls set up over SIP)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { section: 'workers', rows, notes };
}
