import { afterEach, describe, expect, it } from 'vitest';
import { ulawDecode, ulawEncode } from '../../../src/codec/index.js';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import { TwilioStreamBot, type BotEvent } from '../../../src/pipeline/index.js';
import { FakeTwilioBot, decodePayload, waitFor } from '../../fakes/twilio-media-streams-bot.js';

function tone(samples: number, amp = 8000, freq = 440): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / 8000));
  return out;
}

/** What the caller hears from `pcm` after one μ-law round trip (the bot sends μ-law). */
function viaUlaw(pcm: Int16Array): Int16Array {
  const bytes = new Uint8Array(pcm.length);
  ulawEncode(pcm, bytes);
  const out = new Int16Array(pcm.length);
  ulawDecode(bytes, out);
  return out;
}

interface Harness {
  fake: FakeTwilioBot;
  bot: TwilioStreamBot;
  clock: FakeClock;
  hangups: string[];
  events: BotEvent[];
}

const open: Harness[] = [];

async function setup(options: { bargeInRms?: number; metadata?: Record<string, string>; maxReconnects?: number } = {}): Promise<Harness> {
  const fake = await FakeTwilioBot.start(options.bargeInRms !== undefined ? { bargeInRms: options.bargeInRms } : {});
  const clock = new FakeClock();
  const hangups: string[] = [];
  const events: BotEvent[] = [];
  const bot = new TwilioStreamBot(
    {
      callId: 'call-42',
      metadata: options.metadata ?? { from: 'sip:+15551230000@carrier', to: 'sip:+15559870000@trunkline' },
      logger: silentLogger(),
      clock,
      hangup: (reason) => hangups.push(reason),
      transfer: () => undefined,
    },
    { url: fake.url, maxReconnects: options.maxReconnects ?? 2, reconnectDelayMs: 100 },
  );
  bot.onEvent((e) => events.push(e));
  const h = { fake, bot, clock, hangups, events };
  open.push(h);
  await bot.prepare();
  bot.start();
  await waitFor(() => fake.connections.length === 1 && fake.received('start').length === 1, 2000, 'start');
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.bot.close();
    await h.fake.close();
  }
});

describe('TwilioStreamBot: the Twilio Media Streams protocol', () => {
  it('sends connected, then start with callSid, streamSid, tracks, mediaFormat and the call metadata', async () => {
    const { fake, bot } = await setup({ metadata: { from: 'sip:alice@example.com', to: 'sip:bot@trunkline', operator: 'sip:op@x' } });
    const [connected, start] = fake.last.messages;
    expect(connected).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(start).toEqual({
      event: 'start',
      sequenceNumber: '1',
      start: {
        accountSid: 'AC00000000000000000000000000000000',
        streamSid: bot.streamSid,
        callSid: bot.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: { from: 'sip:alice@example.com', to: 'sip:bot@trunkline' },
      },
      streamSid: bot.streamSid,
    });
    expect(bot.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(bot.callSid).toMatch(/^CA[0-9a-f]{32}$/);
  });

  it('streams caller audio as 20 ms μ-law media with sequence numbers, chunks and timestamps', async () => {
    const { fake, bot } = await setup();
    const caller = tone(160 * 5, 6000, 300);
    for (let i = 0; i < 5; i++) bot.onAudio(caller.subarray(i * 160, (i + 1) * 160));
    await waitFor(() => fake.received('media').length === 5, 2000, 'media');
    const media = fake.received('media');
    expect(media.map((m) => m.sequenceNumber)).toEqual(['2', '3', '4', '5', '6']);
    media.forEach((m, i) => {
      const body = m.media as { track: string; chunk: string; timestamp: string; payload: string };
      expect(body.track).toBe('inbound');
      expect(body.chunk).toBe(String(i + 1));
      expect(body.timestamp).toBe(String(i * 20));
      expect(m.streamSid).toBe(bot.streamSid);
      const pcm = decodePayload(body.payload);
      expect(pcm.length).toBe(160);
      expect(Array.from(pcm)).toEqual(Array.from(viaUlaw(caller.subarray(i * 160, (i + 1) * 160))));
    });
  });

  it('plays the bot audio bit-exact and echoes a mark only after the audio before it was pulled', async () => {
    const { fake, bot } = await setup();
    const speech = tone(480, 9000, 500);
    fake.sendAudio(speech);
    fake.sendMark('greeting-done');
    await waitFor(() => bot.playout.queuedFrames === 3, 2000, 'queued audio');
    // give the mark time to arrive too; it must not come back while audio is queued
    await new Promise((r) => setTimeout(r, 20));
    const out = new Int16Array(160);
    const heard: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect(fake.received('mark')).toHaveLength(0);
      expect(bot.playout.pull(out)).toBe(true);
      heard.push(...out);
    }
    expect(heard).toEqual(Array.from(viaUlaw(speech)));
    await waitFor(() => fake.received('mark').length === 1, 2000, 'mark echo');
    const mark = fake.received('mark')[0]!;
    expect(mark.mark).toEqual({ name: 'greeting-done' });
    expect(mark.streamSid).toBe(bot.streamSid);
    expect(Number(mark.sequenceNumber)).toBeGreaterThan(1);
    expect(bot.playout.pull(out)).toBe(false);
  });

  it('a mark sent with nothing queued comes back at once; audio of any chunk size plays in 20 ms frames', async () => {
    const { fake, bot } = await setup();
    fake.sendMark('idle-mark');
    await waitFor(() => fake.received('mark').length === 1, 2000, 'mark echo');
    fake.sendAudio(tone(250), 250 / 8); // one 250-sample payload
    await waitFor(() => bot.playout.queuedFrames === 2, 2000, 'queued audio');
    const out = new Int16Array(160);
    expect(bot.playout.pull(out)).toBe(true);
    expect(bot.playout.pull(out)).toBe(true);
    expect(out.subarray(90).every((s) => s === 0)).toBe(true); // padded with silence
    expect(bot.playout.pull(out)).toBe(false);
  });

  it('clear on barge-in: the bot sees loud caller audio, sends clear, and the next pulled frame is silent', async () => {
    const { fake, bot, events } = await setup({ bargeInRms: 2000 });
    fake.sendAudio(tone(8000, 9000, 500)); // one second of bot speech
    fake.sendMark('answer-end');
    await waitFor(() => bot.playout.queuedFrames === 50, 2000, 'queued audio');
    await new Promise((r) => setTimeout(r, 20));
    const out = new Int16Array(160);
    for (let i = 0; i < 10; i++) {
      bot.onAudio(new Int16Array(160)); // the caller is quiet
      expect(bot.playout.pull(out)).toBe(true);
    }
    expect(fake.received('mark')).toHaveLength(0);
    bot.onAudio(tone(160, 12000, 200)); // the caller starts talking
    await waitFor(() => fake.last.clearsSent === 1 && bot.playout.queuedFrames === 0, 2000, 'clear');
    expect(bot.playout.pull(out)).toBe(false); // cut within one frame of the clear arriving
    const cut = events.find((e) => e.type === 'interruption');
    expect(cut).toMatchObject({ type: 'interruption', reason: 'bot-clear', droppedFrames: 40 });
    // Twilio returns the pending marks when a clear empties the buffer
    await waitFor(() => fake.received('mark').length === 1, 2000, 'mark after clear');
    expect(fake.received('mark')[0]!.mark).toEqual({ name: 'answer-end' });
  });

  it('delivers DTMF as a dtmf message on the inbound track', async () => {
    const { fake, bot, events } = await setup();
    bot.onDtmf('5');
    bot.onDtmf('#');
    await waitFor(() => fake.received('dtmf').length === 2, 2000, 'dtmf');
    const [a, b] = fake.received('dtmf');
    expect(a).toEqual({ event: 'dtmf', streamSid: bot.streamSid, sequenceNumber: '2', dtmf: { track: 'inbound_track', digit: '5' } });
    expect(b!.dtmf).toEqual({ track: 'inbound_track', digit: '#' });
    expect(events.filter((e) => e.type === 'dtmf')).toHaveLength(2);
  });

  it('sends stop when the call ends and closes the socket normally', async () => {
    const { fake, bot } = await setup();
    await bot.close();
    await waitFor(() => fake.received('stop').length === 1, 2000, 'stop');
    expect(fake.received('stop')[0]).toEqual({
      event: 'stop',
      sequenceNumber: '2',
      streamSid: bot.streamSid,
      stop: { accountSid: 'AC00000000000000000000000000000000', callSid: bot.callSid },
    });
    await bot.close(); // idempotent
  });

  it('the bot closing the socket normally ends the call with cause bot-closed-stream', async () => {
    const { fake, hangups, events } = await setup();
    fake.last.socket.close(1000, 'done');
    await waitFor(() => hangups.length === 1, 2000, 'hangup');
    expect(hangups).toEqual(['bot-closed-stream']);
    expect(events.some((e) => e.type === 'hangup-requested')).toBe(true);
  });

  it('an abnormal close reconnects (bounded) with a fresh connected/start, then hangs up with bot-stream-lost', async () => {
    const { fake, bot, clock, hangups } = await setup({ maxReconnects: 1 });
    fake.last.socket.terminate();
    await waitFor(() => bot.connectionState === 'reconnecting', 2000, 'reconnecting');
    clock.advance(100);
    await waitFor(() => fake.connections.length === 2 && fake.received('start').length === 1, 2000, 'second start');
    expect(fake.last.messages[0]).toMatchObject({ event: 'connected' });
    expect((fake.last.messages[1]!.start as { streamSid: string }).streamSid).toBe(bot.streamSid);
    expect(hangups).toEqual([]);
    fake.last.socket.terminate();
    await waitFor(() => hangups.length === 1, 2000, 'hangup');
    expect(hangups).toEqual(['bot-stream-lost']);
  });

  it('prepare() rejects when the bot is unreachable after the bounded retries', async () => {
    const fake = await FakeTwilioBot.start();
    const url = fake.url;
    await fake.close();
    const clock = new FakeClock();
    const bot = new TwilioStreamBot(
      { callId: 'c', metadata: {}, logger: silentLogger(), clock, hangup: () => undefined, transfer: () => undefined },
      { url, maxReconnects: 1, reconnectDelayMs: 10 },
    );
    const p = bot.prepare();
    const advancer = setInterval(() => clock.advance(10), 5);
    await expect(p).rejects.toThrow(/unreachable/);
    clearInterval(advancer);
    await bot.close();
  });
});
