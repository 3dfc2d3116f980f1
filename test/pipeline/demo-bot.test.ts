import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../src/shared/index.js';
import { DEMO_PROMPTS, FliteTts, PromptCache, createBot, type Bot, type BotEvent } from '../../src/pipeline/index.js';
import { concat, energyBounds, espeak, noise } from './audio-helpers.js';

// one engine for the file; the demo's prompt cache is per engine, so prepare() synthesizes once
const tts = new FliteTts();
const prompts = new PromptCache(tts);
let greeting: Int16Array;
let speech: Int16Array;

beforeAll(async () => {
  greeting = (await prompts.get(DEMO_PROMPTS.greeting)).audio;
  speech = espeak('Testing the echo, one two three.');
});
afterAll(async () => {
  await tts.close();
});

interface Harness {
  bot: Bot;
  clock: FakeClock;
  events: BotEvent[];
  hangups: { reason: string; atTick: number }[];
  transfers: string[];
  out: Int16Array;
  ticks: number;
  /** One 20 ms tick: the caller's frame in, the bot's frame out; returns whether the bot played. */
  tick(input?: Int16Array): boolean;
  /** Ticks until the bot has nothing to play (or `max`); returns frames played. */
  drain(max?: number): number;
}

async function start(options: Parameters<typeof createBot>[2] = {}, metadata: Record<string, string> = {}): Promise<Harness> {
  const clock = new FakeClock();
  const events: BotEvent[] = [];
  const silence = new Int16Array(160);
  const h: Harness = {
    clock,
    events,
    hangups: [],
    transfers: [],
    out: new Int16Array(160),
    ticks: 0,
    bot: undefined as unknown as Bot,
    tick(input = silence) {
      h.bot.onAudio(input);
      const played = h.bot.playout.pull(h.out);
      h.ticks++;
      clock.advance(20);
      return played;
    },
    drain(max = 2000) {
      let n = 0;
      while (n < max && h.tick()) n++;
      return n;
    },
  };
  h.bot = createBot(
    'demo',
    {
      callId: 'call-1',
      metadata,
      logger: silentLogger(),
      clock,
      hangup: (reason) => h.hangups.push({ reason, atTick: h.ticks }),
      transfer: (target) => h.transfers.push(target),
    },
    { tts, silenceTimeoutMs: 60_000, ...options },
  );
  h.bot.onEvent((e) => events.push(e));
  await h.bot.prepare();
  h.bot.start();
  return h;
}

describe('demo bot, end to end on a fake clock', () => {
  it('plays the greeting bit-exact from the first tick, then goes quiet', async () => {
    const h = await start();
    const first = new Int16Array(160);
    expect(h.bot.playout.queuedFrames).toBe(Math.ceil(greeting.length / 160));
    expect(h.tick()).toBe(true);
    first.set(h.out);
    expect(Array.from(first)).toEqual(Array.from(greeting.subarray(0, 160)));
    const played = 1 + h.drain();
    expect(played).toBe(Math.ceil(greeting.length / 160));
    expect(h.tick()).toBe(false);
    const done = h.events.find((e) => e.type === 'utterance-played');
    expect(done).toMatchObject({ played: { text: DEMO_PROMPTS.greeting, playedText: DEMO_PROMPTS.greeting } });
    await h.bot.close();
    await h.bot.close();
    expect(h.clock.pendingCount()).toBe(0);
  });

  it('# cuts the greeting, says goodbye, and hangs up only after the goodbye\'s last frame was pulled', async () => {
    const h = await start();
    for (let i = 0; i < 50; i++) h.tick();
    h.bot.onDtmf('#');
    const cut = h.events.find((e) => e.type === 'interruption');
    expect(cut).toMatchObject({ reason: 'dtmf', played: { playedMs: 1000 } });
    if (cut?.type === 'interruption') expect(DEMO_PROMPTS.greeting.startsWith(cut.played!.playedText)).toBe(true);
    const goodbye = (await prompts.get(DEMO_PROMPTS.goodbye)).audio;
    let frames = 0;
    const silence = new Int16Array(160);
    for (;;) {
      h.bot.onAudio(silence);
      if (!h.bot.playout.pull(h.out)) break;
      frames++;
      // not before the last frame is out: the BYE must not overtake the final packet
      expect(h.hangups).toEqual([]);
      h.clock.advance(20);
    }
    expect(frames).toBe(Math.ceil(goodbye.length / 160));
    expect(h.hangups.map((x) => x.reason)).toEqual(['bot-hangup']);
    // speech over the goodbye does not cut it (not interruptible) and digits are ignored
    await h.bot.close();
  });

  it('1 starts the echo test: the caller\'s next turn is played back bit-exact', async () => {
    const h = await start();
    h.tick();
    h.bot.onDtmf('1');
    h.drain(); // echo instructions
    const bounds = energyBounds(speech, 300);
    const input = concat(new Int16Array(1600), speech, noise(8 * 900, 20, 5));
    let startedAt = -1;
    let endedAt = -1;
    const played: Int16Array[] = [];
    for (let off = 0; off + 160 <= input.length; off += 160) {
      const before = h.events.length;
      if (h.tick(input.slice(off, off + 160))) played.push(h.out.slice());
      for (const e of h.events.slice(before)) {
        if (e.type === 'user-started-speaking') startedAt = off;
        if (e.type === 'user-stopped-speaking') endedAt = off;
      }
    }
    expect(startedAt).toBeGreaterThan(1600);
    expect(endedAt).toBeGreaterThan(1600 + bounds.last - 160);
    // playback began right at end of turn; drain the rest of it
    while (h.tick()) played.push(h.out.slice());
    // the caller's first voiced frames are in the playback, bit-exact and in order
    const key = input.subarray(1600 + bounds.first - (bounds.first % 160), 1600 + bounds.first - (bounds.first % 160) + 160);
    const at = played.findIndex((f) => f.every((v, i) => v === key[i]));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(Array.from(played[at + 10]!)).toEqual(Array.from(input.subarray(1600 + bounds.first - (bounds.first % 160) + 1600, 1600 + bounds.first - (bounds.first % 160) + 1760)));
    const metrics = h.events.find((e) => e.type === 'turn-metrics');
    expect(metrics?.type === 'turn-metrics' && metrics.metrics.stages.map((s) => s.stage)).toEqual(['vad-stop', 'end-of-turn', 'audio-queued', 'speak', 'first-audio-out']);
    await h.bot.close();
  });

  it('speech over the greeting cuts it within the frame of the VAD onset and reports what was heard', async () => {
    const h = await start();
    for (let i = 0; i < 100; i++) h.tick();
    const bounds = energyBounds(speech, 300);
    let onsetTick = -1;
    let cutTick = -1;
    for (let off = bounds.first - (bounds.first % 160); off + 160 <= speech.length && cutTick < 0; off += 160) {
      const before = h.events.length;
      const played = h.tick(speech.slice(off, off + 160));
      const fresh = h.events.slice(before);
      if (fresh.some((e) => e.type === 'user-started-speaking')) onsetTick = h.ticks;
      if (fresh.some((e) => e.type === 'interruption')) cutTick = h.ticks;
      if (onsetTick > 0) expect(played).toBe(false);
    }
    expect(onsetTick).toBeGreaterThan(100);
    expect(cutTick).toBe(onsetTick);
    expect(h.bot.playout.queuedFrames).toBe(0);
    const cut = h.events.find((e) => e.type === 'interruption');
    expect(cut?.type === 'interruption' && cut.reason).toBe('barge-in');
    if (cut?.type === 'interruption') {
      expect(cut.played?.playedMs).toBe((onsetTick - 1) * 20);
      expect(cut.played!.totalMs).toBe((greeting.length / 8000) * 1000);
      expect(cut.played!.playedText.length).toBeGreaterThan(0);
      expect(DEMO_PROMPTS.greeting.startsWith(cut.played!.playedText)).toBe(true);
      expect(cut.played!.playedText.length).toBeLessThan(DEMO_PROMPTS.greeting.length / 2);
    }
    await h.bot.close();
  });

  it('0 transfers to the configured operator after saying so; without one it says it is not configured', async () => {
    const h = await start({}, { operator: 'sip:operator@example.com' });
    h.bot.onDtmf('0');
    h.drain();
    h.tick();
    expect(h.transfers).toEqual(['sip:operator@example.com']);
    await h.bot.close();

    const h2 = await start();
    h2.bot.onDtmf('0');
    const n = h2.drain();
    expect(n).toBe(Math.ceil((await prompts.get(DEMO_PROMPTS.noOperator)).audio.length / 160));
    h2.tick();
    expect(h2.transfers).toEqual([]);
    expect(h2.hangups).toEqual([]);
    await h2.bot.close();
  });

  it('2 speaks the current time (synthesized on demand)', async () => {
    const h = await start({ now: () => new Date(Date.UTC(2024, 0, 1, 15, 42)), timeZone: 'UTC' });
    h.bot.onDtmf('2');
    for (let i = 0; i < 200 && h.bot.playout.queuedFrames === 0; i++) await new Promise((r) => setTimeout(r, 5));
    h.drain();
    const spoken = h.events.filter((e) => e.type === 'utterance-played').map((e) => e.type === 'utterance-played' && e.played.text);
    expect(spoken).toContain('The time is 3:42 PM.');
    await h.bot.close();
  });

  it('caller silence: one re-prompt, then goodbye and hangup', async () => {
    const h = await start({ silenceTimeoutMs: 2000 });
    h.drain(); // greeting
    let reprompt = 0;
    for (let i = 0; i < 100; i++) if (h.tick()) reprompt++; // 2 s of silence
    expect(reprompt).toBeGreaterThan(0);
    reprompt += h.drain();
    expect(reprompt).toBe(Math.ceil((await prompts.get(DEMO_PROMPTS.reprompt)).audio.length / 160));
    for (let i = 0; i < 100; i++) h.tick();
    h.drain();
    h.tick();
    expect(h.hangups.map((x) => x.reason)).toEqual(['silence-timeout']);
    expect(h.events.filter((e) => e.type === 'silence-timeout').map((e) => e.type === 'silence-timeout' && e.count)).toEqual([1, 2]);
    await h.bot.close();
  });
});

describe('echo bot', () => {
  it('returns every frame in the same tick, bit-exact, allocation-free slots', async () => {
    const clock = new FakeClock();
    const bot = createBot('echo', { callId: 'e', metadata: {}, logger: silentLogger(), clock, hangup: () => undefined, transfer: () => undefined });
    await bot.prepare();
    bot.start();
    const input = noise(160 * 50, 20000, 11);
    const buf = new Int16Array(160);
    const out = new Int16Array(160);
    for (let t = 0; t < 50; t++) {
      buf.set(input.subarray(t * 160, t * 160 + 160)); // the call layer reuses its buffer
      bot.onAudio(buf);
      expect(bot.playout.pull(out)).toBe(true);
      expect(Array.from(out)).toEqual(Array.from(input.subarray(t * 160, t * 160 + 160)));
    }
    // A pull before any frame arrived has nothing to send; a tick whose pull was skipped is sent next.
    expect(bot.playout.pull(out)).toBe(false);
    bot.onAudio(buf.fill(7));
    bot.onAudio(buf.fill(9));
    expect(bot.playout.pull(out)).toBe(true);
    expect(out[0]).toBe(7);
    expect(bot.playout.queuedFrames).toBe(1);
    expect(bot.playout.clear()).toBe(1);
    await bot.close();
    await bot.close();
  });
});
