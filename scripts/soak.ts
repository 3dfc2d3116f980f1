/**
 * The soak (`npm run soak`): echo calls with rtp_stream audio at a steady rate for a long time
 * (default 30 minutes at half the measured capacity, see README "Load"), in rounds of one
 * minute; after each round it samples the server's RSS, heap, open file descriptors
 * (/proc/self/fd), RTP ports in use, live calls, dialogs and transactions. At the end every
 * call must have succeeded, every port be back in the pool and the fd count back where it was.
 *
 *   npm run soak                                  # 30 min, 40 calls/s, 5 s calls (~200 up at once)
 *   npm run soak -- --minutes 2 --rate 40 --hold 5 --workers auto
 *
 * --workers auto|N: media worker threads as `npm start` runs them (default auto); 0 = media in
 * the main thread.
 *
 * Exit status 1 on a failed call, a leaked port, or fd growth.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTrunkline } from '../src/main.js';
import { buildConfig, silentLogger } from '../src/shared/index.js';
import { freePort, startSipp } from '../test/helpers/sipp.js';
import { PROJECT_ROOT, flag as cliFlag } from './cli.js';
import { portsInUse, rtpRangeStart } from './load.js';
import { toneUlaw } from './tone.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const flag = (name: string, fallback: string): string => cliFlag('SOAK', name, fallback);

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}


interface Sample {
  minute: number;
  ok: number;
  failed: number;
  retrans: number;
  rssMb: number;
  heapMb: number;
  fds: number;
  portsInUse: number;
  /** Worst p99 send lateness (ms) of any second of the round (any worker's). */
  lateP99Ms: number;
  calls: number;
  dialogs: number;
  transactions: number;
}

async function main(): Promise<void> {
  const minutes = Number(flag('minutes', '30'));
  const rate = Number(flag('rate', '40'));
  const holdSec = Number(flag('hold', '5'));
  const workersFlag = flag('workers', 'auto');
  const workers = workersFlag === 'auto' ? 'auto' : Number(workersFlag);
  const concurrency = Math.ceil(rate * (holdSec + 2) * 1.5);
  const pairs = concurrency + 32;
  const portMin = rtpRangeStart(pairs);
  const config = buildConfig(
    {
      logLevel: 'warn',
      bot: 'echo',
      sip: { listen: '127.0.0.1:0', rateLimit: { perSecond: 0 } },
      rtp: { ports: `${portMin}-${portMin + pairs * 2 - 1}`, quarantineMs: 500 },
      calls: { maxConcurrent: concurrency * 2 },
    },
    {},
  );
  const server = await startTrunkline(config, { logger: silentLogger(), http: false, workers });
  let worstP99 = 0;
  server.mediaWorkers?.onLoad((_index, load) => {
    if (load.lateness.count > 0) worstP99 = Math.max(worstP99, load.lateness.p99Ms);
  });
  const work = mkdtempSync(join(tmpdir(), 'trunkline-soak-'));
  writeFileSync(join(work, 'tone.ulaw'), toneUlaw());
  const scenario = join(PROJECT_ROOT, 'test/sipp/load-uac-rtp-stream-expect-bye-200.xml');
  console.log(`soak: ${minutes} min of echo calls at ${rate}/s, ${holdSec} s each (about ${Math.round(rate * holdSec)} up at once), RTP ${config.rtp.portMin}-${config.rtp.portMax}, ${server.mediaWorkers === undefined ? 'media in the main thread' : `${server.mediaWorkers.status().length} media workers`}`);
  gc();
  const fds0 = openFds();
  const rss0 = process.memoryUsage().rss;
  const samples: Sample[] = [];
  let totalOk = 0;
  let totalFailed = 0;
  const roundSec = Math.min(60, minutes * 60);
  const rounds = Math.max(1, Math.round((minutes * 60) / roundSec));
  console.log('| minute | ok | failed | retrans | late p99 ms | RSS MB | heap MB | fds | ports in use | calls | dialogs | transactions |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let round = 1; round <= rounds; round++) {
    worstP99 = 0;
    server.pacer.resetLateness();
    const sipp = startSipp({
      scenario,
      target: `127.0.0.1:${server.sipPort}`,
      calls: Math.round(rate * (roundSec - holdSec)),
      rate,
      limit: concurrency,
      service: 'echo',
      port: await freePort(),
      mediaPort: await freePort(),
      cwd: work,
      extraArgs: ['-d', String(holdSec * 1000)],
      timeoutSec: roundSec + 60,
      deadlineMs: (roundSec + 90) * 1000,
    });
    const r = await sipp.done;
    const until = Date.now() + 5000;
    while ((server.calls.active > 0 || portsInUse(server) > 0) && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    gc();
    const mem = process.memoryUsage();
    const s: Sample = {
      minute: Math.round((round * roundSec) / 6) / 10,
      ok: r.stats?.successful ?? 0,
      failed: r.stats?.failed ?? Math.round(rate * (roundSec - holdSec)),
      retrans: r.stats?.retransmissions ?? 0,
      rssMb: Math.round(mem.rss / 104857.6) / 10,
      heapMb: Math.round(mem.heapUsed / 104857.6) / 10,
      fds: openFds(),
      portsInUse: portsInUse(server),
      lateP99Ms: Math.round((server.mediaWorkers === undefined ? server.pacer.lateness().p99Ms : worstP99) * 10) / 10,
      calls: server.calls.active,
      dialogs: server.ua.stats.dialogs,
      transactions: server.ua.stats.transactions,
    };
    samples.push(s);
    totalOk += s.ok;
    totalFailed += s.failed;
    console.log(`| ${s.minute} | ${s.ok} | ${s.failed} | ${s.retrans} | ${s.lateP99Ms} | ${s.rssMb} | ${s.heapMb} | ${s.fds} | ${s.portsInUse} | ${s.calls} | ${s.dialogs} | ${s.transactions} |`);
  }
  // Transactions linger for Timer J/K (64·T1, T4) after the last call: wait them out.
  const until = Date.now() + 40_000;
  while ((server.ua.stats.transactions > 0 || server.ua.stats.dialogs > 0) && Date.now() < until) await new Promise((res) => setTimeout(res, 250));
  gc();
  const fdsEnd = openFds();
  const rssEnd = process.memoryUsage().rss;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const drift = first !== undefined && last !== undefined ? Math.round((last.rssMb - first.rssMb) * 10) / 10 : NaN;
  const leakedPorts = portsInUse(server);
  const dialogsLeft = server.ua.stats.dialogs;
  const transactionsLeft = server.ua.stats.transactions;
  await server.stop(0);
  rmSync(work, { recursive: true, force: true });
  console.log('');
  console.log(`calls: ${totalOk} ok, ${totalFailed} failed`);
  console.log(`RSS: ${Math.round(rss0 / 104857.6) / 10} MB at start, ${first?.rssMb ?? NaN} MB after round 1, ${last?.rssMb ?? NaN} MB after the last (drift ${drift} MB), ${Math.round(rssEnd / 104857.6) / 10} MB after the calls ended`);
  console.log(`open fds: ${fds0} before, ${fdsEnd} after; RTP ports in use after: ${leakedPorts}; dialogs ${dialogsLeft}, transactions ${transactionsLeft} left`);
  const ok = totalFailed === 0 && leakedPorts === 0 && fdsEnd <= fds0 + 2 && dialogsLeft === 0;
  console.log(ok ? 'soak passed' : 'soak FAILED');
  process.exit(ok ? 0 : 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
}
