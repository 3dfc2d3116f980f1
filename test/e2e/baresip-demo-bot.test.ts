/**
 * Issue 4 "How it is shown": baresip, a real SIP phone, calls the demo bot.
 * 1. Its recording of what it received holds the greeting (as long as flite makes it, at a
 *    speech level); pressing # (RFC 4733 from baresip's `sndcode`) ends the call with a BYE from
 *    Trunkline after the goodbye.
 * 2. Speaking over the greeting (baresip's microphone is an espeak WAV) cuts it: the bot is
 *    interrupted in the same 20 ms frame as the VAD's speech onset, and the greeting stops in
 *    the phone's recording.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndCause } from '../../src/call/index.js';
import { DEMO_PROMPTS, FliteTts } from '../../src/pipeline/index.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { startBaresip, type Baresip } from './baresip.js';
import { mediaWorkdir, readWavPcm16, wavSampleRate, type MediaWorkdir } from './media-assets.js';
import { rmsDbfs } from './rtp-capture.js';
import { speechSpans } from './speech-activity.js';

describe.sequential('baresip calls the demo bot', () => {
  let t: TestServer;
  let work: MediaWorkdir;
  let greetingMs: number;
  let goodbyeMs: number;
  const phones: Baresip[] = [];

  beforeAll(async () => {
    work = mediaWorkdir();
    // What flite makes of the greeting: the length the phone must hear.
    const tts = new FliteTts();
    try {
      const g = await tts.synthesize(DEMO_PROMPTS.greeting);
      greetingMs = (g.audio.length / g.sampleRate) * 1000;
      const b = await tts.synthesize(DEMO_PROMPTS.goodbye);
      goodbyeMs = (b.audio.length / b.sampleRate) * 1000;
    } finally {
      await tts.close();
    }
    t = await startTestServer({ bot: 'demo', captureLogs: 'debug' });
  });

  afterAll(async () => {
    for (const p of phones) p.close();
    await t?.stop();
    work?.close();
  });

  function endedCauses(): Map<string, EndCause> {
    const causes = new Map<string, EndCause>();
    t.server.calls.onCall((call) => call.events.on('ended', (e) => causes.set(e.callId, e.cause)));
    return causes;
  }

  it('the phone hears the greeting; # ends the call with a BYE from Trunkline', async () => {
    const silence = join(work.dir, 'silence.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', silence, 'trim', '0', '30']);
    const causes = endedCauses();
    const phone = await startBaresip({ source: silence, maxSeconds: 30 });
    phones.push(phone);
    phone.command('dial', `sip:demo@${t.target}`);
    await phone.waitEvent('CALL_ESTABLISHED', 5000);
    // Let the greeting play out, then press #.
    await new Promise((r) => setTimeout(r, greetingMs + 1500));
    phone.command('sndcode', '#');
    const closed = await phone.waitEvent('CALL_CLOSED', 10_000);
    // baresip reports a BYE from the other side as ECONNRESET.
    expect(closed['param']).toBe('Connection reset by peer');
    expect([...causes.values()]).toEqual(['bot-hangup']);
    const digits = t.logs.filter((l) => l['msg'] === 'dtmf' && l['source'] === 'rfc4733');
    expect(digits.length).toBe(1);
    expect((digits[0]!['pii'] as { digit: string }).digit).toBe('#');

    const { received } = await phone.stop();
    expect(received, 'baresip wrote no recording').toBeDefined();
    expect(wavSampleRate(received!)).toBe(8000);
    const pcm = readWavPcm16(received!);
    // Trunkline keeps the stream continuous (rtp.sendSilence: silence frames while the bot
    // listens), and baresip records what it receives: the file spans the whole call — the
    // greeting, the silence while we waited to press #, then the goodbye, each whole.
    const spans = speechSpans(pcm);
    const lengthMs = pcm.length / 8;
    expect(lengthMs, JSON.stringify({ spans, greetingMs, goodbyeMs })).toBeGreaterThan(greetingMs + 1500 + goodbyeMs - 300);
    expect(lengthMs).toBeLessThan(greetingMs + 1500 + goodbyeMs + 2000);
    const first = spans[0]!;
    const last = spans[spans.length - 1]!;
    expect(first.startMs).toBeLessThan(500);
    expect(last.endMs - first.startMs).toBeGreaterThan(greetingMs + goodbyeMs - 800);
    expect(rmsDbfs(pcm, first.startMs * 8, last.endMs * 8)).toBeGreaterThan(-30);
    phone.close();
  }, 40_000);

  it('speaking over the greeting cuts it within one frame of VAD onset', async () => {
    // 1.5 s of silence, then speech, then silence (at its end aufile would hang up).
    const caller = work.speech('barge', 'Hello, I would like to talk to sales please', { padSilenceSec: 1.5 });
    const source = join(work.dir, 'barge-long.wav');
    execFileSync('sox', [caller.wav, source, 'pad', '0', '10']);
    const causes = endedCauses();
    const phone = await startBaresip({ source, maxSeconds: 30 });
    phones.push(phone);
    const logsBefore = t.logs.length;
    phone.command('dial', `sip:demo@${t.target}`);
    await phone.waitEvent('CALL_ESTABLISHED', 5000);
    expect(await waitFor(() => t.logs.slice(logsBefore).some((l) => l['msg'] === 'bot interrupted'), 8000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    phone.command('hangup');
    await phone.waitEvent('CALL_CLOSED', 5000);
    expect([...causes.values()]).toEqual(['caller-bye']);

    const logs = t.logs.slice(logsBefore);
    const onset = logs.find((l) => l['msg'] === 'caller started speaking');
    const cut = logs.find((l) => l['msg'] === 'bot interrupted');
    expect(onset).toBeDefined();
    expect(cut?.['reason']).toBe('barge-in');
    // Same pipeline clock: the interruption happens in the frame the VAD says speech started.
    expect((cut!['atMs'] as number) - (onset!['atMs'] as number)).toBeLessThanOrEqual(20);
    const playedMs = cut!['playedMs'] as number;
    expect(cut!['totalMs'] as number).toBeCloseTo(greetingMs, -2);
    // The caller started 1.5 s in; VAD start hangover and the jitter buffer add a little.
    expect(playedMs).toBeGreaterThan(1300);
    expect(playedMs).toBeLessThan(2600);

    const { received, sent } = await phone.stop();
    expect(received).toBeDefined();
    expect(sent).toBeDefined();
    const heard = speechSpans(readWavPcm16(received!));
    const said = speechSpans(readWavPcm16(sent!));
    expect(said.length).toBeGreaterThanOrEqual(1);
    expect(heard.length, JSON.stringify(heard)).toBeGreaterThanOrEqual(1);
    // What the phone heard of the bot: the greeting's start, cut where the bot says it was cut
    // (both count from the greeting's first frame; the last word's quiet tail and the jitter
    // buffers on both sides account for the slack), and nothing after it.
    const greetingHeard = heard[0]!;
    expect(greetingHeard.endMs - greetingHeard.startMs).toBeLessThan(greetingMs - 2000);
    expect(greetingHeard.endMs).toBeGreaterThan(playedMs - 400);
    expect(greetingHeard.endMs).toBeLessThan(playedMs + 300);
    expect(heard.length, 'the bot spoke again after the barge-in').toBe(1);
    // In the phone's own time: the greeting stops soon after the caller starts speaking.
    expect(greetingHeard.endMs - said[0]!.startMs).toBeLessThan(600);
    phone.close();
  }, 40_000);
});
