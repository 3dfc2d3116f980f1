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
import { alignEcho, arrivalGaps, captureRtp, decodeG711, mean, payloadStream, percentile, rmsDbfs, stopAllCaptures, type CapturedRtp } from './rtp-capture.js';

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
    stopAllCaptures();
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
    expect(sent.length).toBe(Math.ceil(speechSamples.length / 160));
    expect(new Set(audioBack.map((p) => p.payload.length))).toEqual(new Set([160]));
    expect(new Set(audioBack.map((p) => p.ssrc)).size).toBe(1);

    // Count: every sent 20 ms packet comes back bit-exact (G.711 in → PCM → G.711 out), bar the
    // few frames the adaptive jitter buffer drops or conceals as it settles its delay.
    const sentBytes = payloadStream(sent);
    const backBytes = payloadStream(audioBack);
    const echo = alignEcho(sentBytes, backBytes);
    expect(echo.offset, 'the sent speech was not found in what came back').toBeGreaterThanOrEqual(0);
    expect(echo.matched, `matched ${echo.matched} of ${echo.chunks} packets`).toBeGreaterThanOrEqual(echo.chunks - 4);
    expect(echo.chunks).toBeGreaterThan(150);
    expect(echo.shifts).toBeLessThanOrEqual(4);
    // Added delay on the way back, in the audio itself: jitter buffer plus one tick, ≤ 200 ms.
    const firstAudioAt = sent[0]!.timeMs;
    const echoOfFirst = audioBack[Math.floor(Math.max(0, echo.offset) / 160)]!;
    expect(echoOfFirst.timeMs - firstAudioAt).toBeLessThan(200);

    // Spacing: 20 ms on the wire.
    const gaps = arrivalGaps(audioBack);
    expect(mean(gaps)).toBeGreaterThan(19.5);
    expect(mean(gaps)).toBeLessThan(20.5);
    expect(percentile(gaps, 0.5)).toBeGreaterThan(19);
    expect(percentile(gaps, 0.5)).toBeLessThan(21);
    expect(percentile(gaps, 0.99)).toBeLessThan(30);

    // Level: RMS of the returned speech (the aligned window) within 3 dB of what was sent.
    const sentPcm = decodeG711(sent);
    const backPcm = decodeG711(audioBack).subarray(Math.max(0, echo.offset), Math.max(0, echo.offset) + sentPcm.length);
    const diff = rmsDbfs(backPcm) - rmsDbfs(sentPcm);
    expect(Math.abs(diff), `sent ${rmsDbfs(sentPcm).toFixed(1)} dBFS, back ${rmsDbfs(backPcm).toFixed(1)} dBFS`).toBeLessThan(3);
    expect(rmsDbfs(sentPcm)).toBeGreaterThan(-30);
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
    // We answer PCMA (the only audio codec offered) and send 20 ms packets (RFC 3551 §4.5 default
    // without a=ptime): 236 × 30 ms = 354 frames of 20 ms, bit-exact.
    expect(returned.every((p) => p.payloadType === 8)).toBe(true);
    expect(new Set(audioBack.map((p) => p.payload.length))).toEqual(new Set([160]));
    const echo = alignEcho(payloadStream(audioSent), payloadStream(audioBack));
    expect(echo.chunks).toBeGreaterThan(120); // the recording has long pauses; only non-silent chunks are placeable
    expect(echo.shifts).toBeLessThanOrEqual(4);
    expect(echo.offset).toBeGreaterThanOrEqual(0);
    expect(echo.matched, `matched ${echo.matched} of ${echo.chunks}`).toBeGreaterThanOrEqual(echo.chunks - 4);
    const gaps = arrivalGaps(audioBack);
    expect(percentile(gaps, 0.5)).toBeGreaterThan(19);
    expect(percentile(gaps, 0.5)).toBeLessThan(21);
    expect(mean(gaps)).toBeGreaterThan(19.5);
    expect(mean(gaps)).toBeLessThan(20.5);

    const sentPcm = decodeG711(audioSent);
    const backPcm = decodeG711(audioBack).subarray(echo.offset, echo.offset + sentPcm.length);
    expect(Math.abs(rmsDbfs(backPcm) - rmsDbfs(sentPcm))).toBeLessThan(3);

    expect(sent.some((p) => p.payloadType === 101)).toBe(true);
    expect(await waitFor(() => digits.length > 0, 2000)).toBe(true);
    expect(digits).toEqual(['1:rfc4733']);
  });
});
