/**
 * Issue 3/4 "How it is shown": SIPp sends real audio to the echo bot and what comes back is
 * measured on SIPp's side of the wire (tcpdump on lo): packet count, 20 ms spacing, and level.
 * The same uac_pcap run carries SIPp's RFC 4733 pcap for digit 1, which must reach the call as a
 * 'dtmf' event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSipp, freePort, startSipp } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { mediaWorkdir, type MediaWorkdir } from './media-assets.js';
import { arrivalGaps, captureRtp, decodeG711, mean, percentile, rmsDbfs, type CapturedRtp } from './rtp-capture.js';

function energyDb(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return 10 * Math.log10(sum + 1);
}

function split(packets: readonly CapturedRtp[], range: { min: number; max: number }): { sent: CapturedRtp[]; returned: CapturedRtp[] } {
  const inRange = (p: number): boolean => p >= range.min && p <= range.max;
  return {
    sent: packets.filter((p) => inRange(p.dstPort) && !inRange(p.srcPort)),
    returned: packets.filter((p) => inRange(p.srcPort) && !inRange(p.dstPort)),
  };
}

describe.sequential('SIPp audio through the echo bot comes back (measured on the wire)', () => {
  let t: TestServer;
  let work: MediaWorkdir;
  let speechSamples: Int16Array;

  beforeAll(async () => {
    work = mediaWorkdir();
    speechSamples = work.speech('speech', 'Hello, I would like to talk to sales about a new phone line').samples;
    t = await startTestServer({ bot: 'echo', rtpPairs: 50 });
  });

  afterAll(async () => {
    await t?.stop();
    work?.close();
  });

  it('an rtp_stream of espeak speech (PCMU, 20 ms) returns with the same packet count, 20 ms spacing and level', async () => {
    const cap = await captureRtp(t.rtpRange);
    const port = await freePort();
    const mediaPort = await freePort();
    const run = startSipp({ scenario: 'e2e-uac-rtp-stream-echo.xml', target: t.target, port, mediaPort, cwd: work.dir, timeoutSec: 20, deadlineMs: 25_000 });
    const r = await run.done;
    const packets = await cap.stop();
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful).toBe(1);

    const { sent, returned } = split(packets, t.rtpRange);
    const audioBack = returned.filter((p) => p.payloadType === 0);
    // The file is 34.1 k samples: 214 packets of 160.
    expect(sent.length).toBeGreaterThanOrEqual(Math.floor(speechSamples.length / 160) - 2);
    expect(audioBack.length, `sent ${sent.length}, returned ${audioBack.length}`).toBeGreaterThanOrEqual(sent.length - 5);
    expect(audioBack.length).toBeLessThanOrEqual(sent.length + 40);
    expect(new Set(audioBack.map((p) => p.payload.length))).toEqual(new Set([160]));

    const gaps = arrivalGaps(audioBack);
    expect(mean(gaps)).toBeGreaterThan(19.5);
    expect(mean(gaps)).toBeLessThan(20.5);
    expect(percentile(gaps, 0.5)).toBeGreaterThan(18);
    expect(percentile(gaps, 0.5)).toBeLessThan(22);

    const sentPcm = decodeG711(sent);
    const backPcm = decodeG711(audioBack);
    const lossDb = energyDb(sentPcm) - energyDb(backPcm);
    expect(Math.abs(lossDb), `sent ${rmsDbfs(sentPcm).toFixed(1)} dBFS, back ${rmsDbfs(backPcm).toFixed(1)} dBFS`).toBeLessThan(3);
    expect(rmsDbfs(backPcm)).toBeGreaterThan(-40);
  });

  it('uac_pcap (PCMA, 30 ms packets, no ptime) comes back as 20 ms PCMA at the same level, and RFC 4733 digit 1 reaches the call', async () => {
    const digits: string[] = [];
    t.server.calls.onCall((call) => call.events.on('dtmf', (e) => digits.push(`${e.digit}:${e.source}`)));
    const scenario = work.builtinScenario('uac_pcap');
    const cap = await captureRtp(t.rtpRange);
    const port = await freePort();
    const mediaPort = await freePort();
    const run = startSipp({ scenario, target: t.target, port, mediaPort, cwd: work.dir, service: 'echo', timeoutSec: 20, deadlineMs: 25_000 });
    const r = await run.done;
    const packets = await cap.stop();
    expect(r.exitCode, describeSipp(r)).toBe(0);

    const { sent, returned } = split(packets, t.rtpRange);
    const audioSent = sent.filter((p) => p.payloadType === 8);
    const audioBack = returned.filter((p) => p.payloadType === 8);
    expect(audioSent.length).toBe(236); // g711a.pcap: 236 packets of 240 samples (7.08 s)
    expect(new Set(audioSent.map((p) => p.payload.length))).toEqual(new Set([240]));
    // 236 × 30 ms = 354 frames of 20 ms.
    expect(new Set(audioBack.map((p) => p.payload.length))).toEqual(new Set([160]));
    expect(audioBack.length).toBeGreaterThanOrEqual(354 - 6);
    expect(audioBack.length).toBeLessThanOrEqual(354 + 60);
    const gaps = arrivalGaps(audioBack);
    expect(percentile(gaps, 0.5)).toBeGreaterThan(18);
    expect(percentile(gaps, 0.5)).toBeLessThan(22);

    const lossDb = energyDb(decodeG711(audioSent)) - energyDb(decodeG711(audioBack));
    expect(Math.abs(lossDb)).toBeLessThan(3);

    expect(sent.some((p) => p.payloadType === 101)).toBe(true);
    expect(await waitFor(() => digits.length > 0, 2000)).toBe(true);
    expect(digits).toEqual(['1:rfc4733']);
  });
});
