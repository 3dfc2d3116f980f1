/**
 * Issue 4 "How it is shown": after 2,000 calls every port is back in the pool, no call, dialog,
 * transaction or timer is left, and the heap is near its baseline. SIPp places short calls
 * (INVITE, 200, ACK, 300 ms of media, BYE) at a high rate against the echo bot.
 *
 * The SIP layer's per-source rate limit (500 requests/s by default) is raised: 200 calls/s from
 * one SIPp are 600 requests/s (INVITE, ACK, BYE), and dropping them is not what this test is about.
 * T1 is set to 50 ms so the transactions' absorb timers (64·T1, RFC 3261 §17.2.1/§17.2.2, RFC
 * 6026 Timer L) run out in 3.2 s instead of 32 s: the test waits for them to drain.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSipp, freePort, startSipp } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const CALLS = 2000;
const WARM_UP = 1100;

/** A real GC even without --expose-gc (vitest's workers do not pass it). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

function timerCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

async function runCalls(t: TestServer, calls: number, rate: number): Promise<void> {
  const r = await startSipp({
    scenario: 'e2e-uac-short-call.xml',
    target: t.target,
    port: await freePort(),
    mediaPort: await freePort(),
    calls,
    // -r N -rp 100: N calls every 100 ms, so the calls are spread over each second.
    rate: rate / 10,
    limit: 150,
    timeoutSec: 50,
    deadlineMs: 55_000,
    extraArgs: ['-rp', '100'],
  }).done;
  expect(r.exitCode, describeSipp(r)).toBe(0);
  expect(r.stats?.successful).toBe(calls);
  expect(r.stats?.failed).toBe(0);
}

async function drained(t: TestServer): Promise<boolean> {
  const { server } = t;
  return waitFor(
    () =>
      server.calls.active === 0 &&
      server.pool.inUse === 0 &&
      server.pool.quarantined === 0 &&
      server.ua.stats.dialogs === 0 &&
      server.ua.stats.transactions === 0,
    10_000,
  );
}

/** For a failure message: what is left, and the log of one call still there. */
function leftovers(t: TestServer): string {
  const { server } = t;
  const left = server.calls.list();
  const first = left[0];
  const trail = first === undefined ? [] : t.logs.filter((l) => l['callId'] === first.callId).map((l) => `${String(l['msg'])} ${JSON.stringify({ ...l, msg: undefined, pid: undefined, hostname: undefined, time: undefined, name: undefined })}`);
  return JSON.stringify({ active: server.calls.active, inUse: server.pool.inUse, quarantined: server.pool.quarantined, ...server.ua.stats, first: first?.info }, null, 1) + '\n' + trail.join('\n');
}

describe.sequential('2,000 short calls leave nothing behind', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ captureLogs: 'warn', bot: 'echo', rtpPairs: 400, file: { sip: { t1: 50, t4: 100, rateLimit: { perSecond: 5000, burst: 5000 } }, rtp: { quarantineMs: 500 } } });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('ports, calls, dialogs, transactions and timers drain to zero; heap stays near baseline', async () => {
    // Warm-up: JIT, pools and caches reach their steady size before the baseline is taken,
    // including the call manager's list of recently ended calls (the last 1,000, for the API).
    await runCalls(t, WARM_UP, 200);
    expect(await drained(t), leftovers(t)).toBe(true);
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const timersBefore = timerCount();
    const capacity = t.server.pool.available;
    const totalBefore = t.server.calls.total;

    const started = Date.now();
    await runCalls(t, CALLS, 200);
    const elapsedMs = Date.now() - started;

    expect(t.server.calls.total - totalBefore).toBe(CALLS);
    expect(await drained(t), leftovers(t)).toBe(true);
    expect(t.server.pool.available).toBe(capacity);
    // No per-call timer outlives its call (the pacer stops its own when it has no session).
    expect(timerCount()).toBeLessThanOrEqual(timersBefore);
    collectGarbage();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    if (process.env.E2E_REPORT !== undefined) console.info({ calls: CALLS, elapsedMs, heapGrowthMb, timersBefore, timersAfter: timerCount() });
    // With the recent-calls list already full, 2,000 more calls must leave the heap where it was:
    // 5 MB is 2.6 KB per call, far below what one leaked call (media buffers, dialog) holds.
    expect(heapGrowthMb, `heap grew ${heapGrowthMb.toFixed(1)} MB over ${CALLS} calls in ${elapsedMs} ms`).toBeLessThan(5);
  }, 90_000);
});
