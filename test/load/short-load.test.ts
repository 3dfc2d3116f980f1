import { describe, expect, it } from 'vitest';
import { formatReport, runLoad } from '../../scripts/load.js';

/**
 * The short run of the load suite (`npm run load` is the long one): SIPp places 90 echo calls
 * at 15/s, each streaming a tone for 4 s, against the whole server in this process. Every call
 * must succeed and every RTP port come back. Speed figures are printed, never asserted here
 * (goals live in the README's load table and in bench/).
 */
describe('load (short run)', () => {
  it('90 echo calls with rtp_stream audio at 15 calls/s: 0 failed, ports all returned', async () => {
    const report = await runLoad({ mode: 'audio', bot: 'echo', rate: 15, concurrency: 100, durationSec: 6, holdSec: 4, transport: 'u1', workers: 'auto', logLevel: 'silent' });
    console.log(formatReport(report));
    expect(report.failed, report.sippErrors).toBe(0);
    expect(report.successful).toBe(90);
    expect(report.maxActiveCalls).toBeGreaterThan(30);
    expect(report.pacer.count, 'the echo bot sent audio through the pacer').toBeGreaterThan(90 * 100);
    expect(report.setupMs.samples).toBe(90);
    expect(report.portsInUseAfter).toBe(0);
  }, 40_000);
});
