/**
 * Issue 4 "How it is shown": 200 concurrent echo calls all succeed. SIPp holds 200 calls at once
 * (-l 200 -r 50 -m 200), each streaming espeak speech for 5 s; every call must be answered, carry
 * audio both ways (checked per call on the wire) and end by the caller's BYE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndCause } from '../../src/call/index.js';
import { describeSipp, freePort, startSipp } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { mediaWorkdir, type MediaWorkdir } from './media-assets.js';
import { alignEcho, captureRtp, decodeG711, payloadStream, rmsDbfs, stopAllCaptures, type CapturedRtp } from './rtp-capture.js';

const CALLS = 200;

describe.sequential('200 concurrent echo calls (SIPp rtp_stream)', () => {
  let t: TestServer;
  let work: MediaWorkdir;

  beforeAll(async () => {
    work = mediaWorkdir();
    work.speech('speech', 'Hello, I would like to talk to sales about a new phone line');
    t = await startTestServer({ bot: 'echo', rtpPairs: 400 });
  });

  afterAll(async () => {
    stopAllCaptures();
    await t?.stop();
    work?.close();
  });

  it('all 200 succeed, are up at the same time, and each gets its own audio back', async () => {
    const serverSide = new Map<number, { received: number; lost: number; concealed: number }>();
    let active = 0;
    let peak = 0;
    const causes = new Map<EndCause, number>();
    t.server.calls.onCall((call) => {
      call.events.on('answered', () => {
        active++;
        peak = Math.max(peak, active);
      });
      call.events.on('ended', (e) => {
        const st = call.mediaStats;
        if (st !== undefined) serverSide.set(call.info.media.localPort ?? 0, { received: st.packetsReceived, lost: st.packetsLost, concealed: st.jitterBuffer.concealedFrames });
        if (e.durationMs > 0) active--;
        causes.set(e.cause, (causes.get(e.cause) ?? 0) + 1);
      });
    });
    const cap = await captureRtp(t.rtpRange);
    const run = startSipp({
      scenario: 'e2e-uac-rtp-stream-hold-5s.xml',
      target: t.target,
      port: await freePort(),
      mediaPort: await freePort(),
      cwd: work.dir,
      calls: CALLS,
      rate: 50,
      limit: CALLS,
      timeoutSec: 40,
      deadlineMs: 50_000,
    });
    const r = await run.done;
    const packets = await cap.stop();

    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful).toBe(CALLS);
    expect(r.stats?.failed).toBe(0);
    expect(peak, 'calls up at the same time').toBeGreaterThanOrEqual(CALLS - 10);
    expect(await waitFor(() => t.server.calls.active === 0, 5000)).toBe(true);
    expect(Object.fromEntries(causes)).toEqual({ 'caller-bye': CALLS });

    // Per call (one server RTP port each): what SIPp sent in, what came back out.
    const inRange = (p: number): boolean => p >= t.rtpRange.min && p <= t.rtpRange.max;
    const byCall = new Map<number, { sent: CapturedRtp[]; back: CapturedRtp[] }>();
    for (const p of packets) {
      if (p.payloadType !== 0) continue;
      const serverPort = inRange(p.srcPort) ? p.srcPort : p.dstPort;
      let entry = byCall.get(serverPort);
      if (entry === undefined) byCall.set(serverPort, (entry = { sent: [], back: [] }));
      (inRange(p.srcPort) ? entry.back : entry.sent).push(p);
    }
    // Ports are reused after quarantine only, and 200 calls fit in the range without reuse.
    expect(byCall.size).toBe(CALLS);
    let checkedExact = 0;
    for (const [port, { sent, back }] of byCall) {
      // 5 s of call: ≈250 packets each way.
      expect(sent.length, `port ${port}`).toBeGreaterThan(200);
      expect(back.length, `port ${port}`).toBeGreaterThan(200);
      // The server's own view agrees with the wire: everything SIPp sent was received.
      const seen = serverSide.get(port);
      expect(seen?.received, `port ${port}`).toBeGreaterThanOrEqual(sent.length - 10); // SIPp streams on until our 200 for its BYE
      expect(seen?.lost, `port ${port}`).toBe(0);
      const level = rmsDbfs(decodeG711(back)) - rmsDbfs(decodeG711(sent));
      expect(Math.abs(level), `port ${port}: level difference ${level.toFixed(1)} dB`).toBeLessThan(3);
      if (checkedExact < 10) {
        // A sample of calls: the audio returned is this call's own, bit-exact. A crossed call
        // would match nothing; each delay adaptation of the jitter buffer under this load (SIPp,
        // tcpdump and the server on 2 shared cores) costs a chunk or two, hence 75 %.
        const echo = alignEcho(payloadStream(sent), payloadStream(back));
        expect(echo.matched, `port ${port}: ${echo.matched} of ${echo.chunks} chunks, ${echo.shifts} shifts`).toBeGreaterThanOrEqual(Math.floor(echo.chunks * 0.75));
        expect(echo.shifts).toBeLessThanOrEqual(30);
        checkedExact++;
      }
    }
  }, 60_000);
});
