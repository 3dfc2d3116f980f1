/**
 * Issue 4 "How it is shown": the built server (`npm start` runs `node dist/src/main.js` after the
 * build) answers a SIPp call with the demo bot, configured only by environment and a config file;
 * on SIGTERM with a call up, a new call gets 503, the call in progress gets a BYE with a Reason
 * after the drain timeout, and the process exits 0.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSipp, freePort, runSipp, startSipp } from '../helpers/sipp.js';
import { randomRtpRange, waitFor } from '../helpers/server.js';
import { captureRtp, decodeG711, rmsDbfs, stopAllCaptures } from './rtp-capture.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const DRAIN_SEC = 3;

interface Server {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exit: Promise<number | null>;
  target: string;
  rtp: { min: number; max: number };
}

async function startBuiltServer(configFile: string): Promise<Server> {
  const sipPort = await freePort();
  const rtp = randomRtpRange(50);
  const child = spawn(process.execPath, ['--enable-source-maps', MAIN], {
    cwd: ROOT,
    env: {
      // The defaults the test does not set come from the config file and the schema, not from
      // whatever TRUNKLINE_* the test runner happens to have.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRUNKLINE_'))),
      TRUNKLINE_SIP_LISTEN: `127.0.0.1:${sipPort}`,
      TRUNKLINE_RTP_PORTS: `${rtp.min}-${rtp.max}`,
      TRUNKLINE_HTTP_LISTEN: '127.0.0.1:0',
      TRUNKLINE_CONFIG: configFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.on('data', (b: Buffer) => {
    partial += b.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  // 'close', not 'exit': it comes after the child's stdout has been read to the end, so the
  // last log lines ("stopped") are in `logs` by the time the test looks.
  const exit = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  const listening = await waitFor(() => logs.some((l) => String(l['msg']).startsWith('listening on')) || child.exitCode !== null, 30_000);
  if (!listening || child.exitCode !== null) {
    child.kill('SIGKILL');
    throw new Error(`server did not start (exit ${String(child.exitCode)}):\n${stderr}\n${JSON.stringify(logs.slice(-5))}`);
  }
  return { child, logs, exit, target: `127.0.0.1:${sipPort}`, rtp };
}

describe.sequential('npm start: the built server', () => {
  let dir: string;
  let configFile: string;
  const servers: Server[] = [];

  beforeAll(async () => {
    // What `npm start` does first (prestart: npm run build).
    const build = await new Promise<{ code: number; out: string }>((res) => {
      execFile('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
        res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: `${stdout}${stderr}` });
      });
    });
    expect(build.code, build.out).toBe(0);
    expect(existsSync(MAIN)).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'trunkline-start-'));
    configFile = join(dir, 'trunkline.json');
    writeFileSync(configFile, JSON.stringify({ logLevel: 'info', calls: { drainTimeoutSec: DRAIN_SEC } }));
  }, 150_000);

  afterAll(() => {
    stopAllCaptures();
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a SIPp call with the demo bot: the greeting reaches SIPp', async () => {
    const server = await startBuiltServer(configFile);
    servers.push(server);
    const cap = await captureRtp(server.rtp);
    const r = await runSipp({ scenario: 'e2e-uac-answer-listen-2s.xml', target: server.target, service: 'demo', timeoutSec: 10 });
    const packets = await cap.stop();
    expect(r.exitCode, describeSipp(r)).toBe(0);
    const inRange = (p: number): boolean => p >= server.rtp.min && p <= server.rtp.max;
    const bot = packets.filter((p) => inRange(p.srcPort) && p.payloadType === 0);
    // 2 s of greeting: ~100 packets of 20 ms, speech-level.
    expect(bot.length).toBeGreaterThan(80);
    expect(bot[0]!.marker).toBe(true);
    expect(rmsDbfs(decodeG711(bot))).toBeGreaterThan(-35);
    const answered = server.logs.find((l) => l['msg'] === 'call answered');
    expect(answered?.['bot']).toBe('demo');

    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 40_000);

  it('SIGTERM with a call up: new calls get 503, the call gets BYE with a Reason after the drain timeout, exit 0', async () => {
    const server = await startBuiltServer(configFile);
    servers.push(server);
    const held = startSipp({
      scenario: 'e2e-uac-shutdown-expect-bye-with-reason.xml',
      target: server.target,
      service: 'demo',
      port: await freePort(),
      mediaPort: await freePort(),
      timeoutSec: 20,
    });
    const up = await waitFor(() => server.logs.some((l) => l['msg'] === 'call answered'), 10_000);
    if (!up) held.kill();
    expect(up, up ? '' : describeSipp(await held.done)).toBe(true);

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await waitFor(() => server.logs.some((l) => String(l['msg']).startsWith('shutting down')), 3000)).toBe(true);
    const refused = await runSipp({ scenario: 'e2e-uac-draining-expect-503.xml', target: server.target, service: 'demo', timeoutSec: 5 });
    expect(refused.exitCode, describeSipp(refused)).toBe(0);
    expect(refused.stats?.successful).toBe(1);

    const r = await held.done;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful).toBe(1);
    const code = await server.exit;
    const tookMs = Date.now() - signalledAt;
    expect(code).toBe(0);
    // The call was allowed to go on for the drain timeout, and no longer than that by much.
    expect(tookMs).toBeGreaterThan(DRAIN_SEC * 1000 - 200);
    expect(tookMs).toBeLessThan(DRAIN_SEC * 1000 + 3000);
    const ended = server.logs.find((l) => l['msg'] === 'call ended');
    expect(ended?.['cause']).toBe('shutdown');
    expect(server.logs.some((l) => l['msg'] === 'stopped'), JSON.stringify(server.logs.slice(-6).map((l) => l['msg']))).toBe(true);
  }, 40_000);
});
