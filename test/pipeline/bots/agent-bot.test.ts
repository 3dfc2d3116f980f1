import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import { AgentBot, FliteTts, ServiceError, type AgentBotOptions, type BotEvent, type ChatMessage } from '../../../src/pipeline/index.js';
import { concat, espeak } from '../audio-helpers.js';
import { ScriptedLlm, ScriptedStt, ToneTts, gate } from '../../fakes/in-process-services.js';

const flite = new FliteTts();
let speech: Int16Array;
const silence = new Int16Array(160);

beforeAll(() => {
  speech = espeak('I would like to talk to sales please.');
});
afterAll(async () => {
  await flite.close();
});

interface Harness {
  bot: AgentBot;
  clock: FakeClock;
  llm: ScriptedLlm;
  stt: ScriptedStt;
  tts: ToneTts;
  events: BotEvent[];
  hangups: string[];
  transfers: string[];
  dtmf: string[];
  /** Frames the bot played, in order (true = audio, false = nothing). */
  played: boolean[];
  tick(input?: Int16Array): Promise<boolean>;
  /** Feeds audio 20 ms at a time, then `quietMs` of silence. */
  say(audio: Int16Array, quietMs?: number): Promise<void>;
  /** Ticks with silence until `cond` or `maxMs`. */
  until(cond: () => boolean, maxMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function setup(options: Partial<AgentBotOptions> = {}, withDtmf = false): Promise<Harness> {
  const clock = new FakeClock();
  const llm = new ScriptedLlm();
  const stt = new ScriptedStt();
  const tts = new ToneTts(20, 100);
  const out = new Int16Array(160);
  const h: Harness = {
    bot: undefined as unknown as AgentBot,
    clock,
    llm,
    stt,
    tts,
    events: [],
    hangups: [],
    transfers: [],
    dtmf: [],
    played: [],
    async tick(input = silence) {
      h.bot.onAudio(input);
      const p = h.bot.playout.pull(out);
      h.played.push(p);
      clock.advance(20);
      await new Promise((r) => setImmediate(r));
      return p;
    },
    async say(audio, quietMs = 800) {
      for (let off = 0; off + 160 <= audio.length; off += 160) await h.tick(audio.subarray(off, off + 160));
      for (let t = 0; t < quietMs; t += 20) await h.tick();
    },
    async until(cond, maxMs = 20_000) {
      for (let t = 0; t < maxMs && !cond(); t += 20) await h.tick();
      if (!cond()) throw new Error('condition not reached');
    },
    close: () => h.bot.close(),
  };
  h.bot = new AgentBot(
    {
      callId: 'call-7',
      metadata: {},
      logger: silentLogger(),
      clock,
      hangup: (r) => h.hangups.push(r),
      transfer: (t) => h.transfers.push(t),
      ...(withDtmf ? { sendDtmf: (d: string) => h.dtmf.push(d) } : {}),
    },
    {
      stt,
      llm,
      tts,
      systemPrompt: 'You are the Trunkline test agent.',
      transferTargets: { sales: 'sip:sales@pbx.example.com' },
      apologyEngine: flite,
      stallMs: 3000,
      ...options,
    },
  );
  h.bot.onEvent((e) => h.events.push(e));
  await h.bot.prepare();
  h.bot.start();
  return h;
}

function userTurns(messages: readonly ChatMessage[]): string[] {
  return messages.filter((m) => m.role === 'user').map((m) => m.content);
}

describe('AgentBot: VAD → STT → LLM → streaming TTS → playout', () => {
  it('answers a caller turn; the first clause is queued for playout while the LLM is still generating', async () => {
    const h = await setup();
    const hold = gate();
    h.stt.transcripts.push('I would like to talk to sales please');
    h.llm.scripts.push([{ text: 'Sure thing, let me ' }, { text: 'check that, ' }, { text: 'I can help with that. ' }, { gate: hold.promise }, { text: 'What is your name?' }]);
    await h.say(speech);
    await h.until(() => h.tts.texts.length >= 1);
    // the LLM is held mid-reply, yet the bot is already speaking its first clause
    await h.until(() => h.played.at(-1) === true);
    expect(h.tts.texts).toEqual(['Sure thing, let me check that,', 'I can help with that.']);
    expect(h.llm.requests).toHaveLength(1);
    expect(userTurns(h.llm.requests[0]!.messages)).toEqual(['I would like to talk to sales please']);
    hold.open();
    await h.until(() => h.tts.texts.length === 3);
    expect(h.tts.texts[2]).toBe('What is your name?');
    await h.until(() => !h.bot.playout.pull(new Int16Array(160)) && h.bot.playout.queuedFrames === 0);
    const metrics = h.events.find((e) => e.type === 'turn-metrics');
    expect(metrics?.type).toBe('turn-metrics');
    if (metrics?.type === 'turn-metrics') {
      const stages = metrics.metrics.stages.map((s) => s.stage);
      for (const s of ['vad-stop', 'end-of-turn', 'stt-final', 'llm-first-token', 'speak', 'tts-first-audio', 'first-audio-out']) expect(stages).toContain(s);
      expect(stages.indexOf('stt-final')).toBeLessThan(stages.indexOf('llm-first-token'));
      expect(stages.indexOf('llm-first-token')).toBeLessThan(stages.indexOf('tts-first-audio'));
    }
    expect(h.events.some((e) => e.type === 'transcript' && e.role === 'user' && e.final)).toBe(true);
    await h.close();
  });

  it('barge-in: playout is cut and the assistant turn in the context keeps only what the caller heard', async () => {
    const h = await setup();
    h.stt.transcripts.push('tell me about pricing', 'stop');
    const first = 'Our basic plan costs ten dollars.';
    const second = 'The premium plan costs twenty dollars and includes support around the clock.';
    h.llm.scripts.push([{ text: `${first} ` }, { text: second }, { text: ' Anything else?' }]);
    h.llm.scripts.push([{ text: 'Okay.' }]);
    await h.say(speech, 700);
    // the first sentence (33 chars × 20 ms = 660 ms) plays out, then 400 ms of the second
    await h.until(() => h.events.some((e) => e.type === 'utterance-played'));
    for (let i = 0; i < 20; i++) await h.tick();
    const before = h.played.length;
    await h.say(speech, 700); // the caller talks over the bot
    const cut = h.events.find((e) => e.type === 'interruption');
    expect(cut).toMatchObject({ type: 'interruption', reason: 'barge-in' });
    // nothing more of the old reply after the cut (the next answer is "Okay.")
    const assistant = h.bot.agent.messages.filter((m) => m.role === 'assistant');
    expect(assistant).toHaveLength(2);
    const heard = assistant[0]!.content!;
    expect(heard.startsWith(`${first} The premium plan`)).toBe(true);
    expect(heard.length).toBeLessThan(`${first} ${second}`.length);
    expect(heard).not.toContain('Anything else');
    expect(second.startsWith(heard.slice(first.length + 1))).toBe(true);
    // the second request carries the trimmed turn, then the new caller turn
    await h.until(() => h.llm.sent.length === 2);
    const sent = h.llm.sent[1] as { role: string; content: string }[];
    expect(sent.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(sent[2]!.content).toBe(heard);
    expect(h.played.length).toBeGreaterThan(before);
    await h.close();
  });

  it('transfer_call: the reply is played to its end, then context.transfer with the configured target', async () => {
    const h = await setup();
    h.stt.transcripts.push('sales please');
    h.llm.scripts.push([{ text: 'Connecting you to sales now.' }, { tool: 'transfer_call', args: { destination: 'sales' } }]);
    await h.say(speech);
    await h.until(() => h.transfers.length === 1);
    expect(h.transfers).toEqual(['sip:sales@pbx.example.com']);
    expect(h.tts.texts).toEqual(['Connecting you to sales now.']);
    // every frame of the sentence was played before the transfer (28 chars × 20 ms = 28 frames)
    expect(h.played.filter(Boolean).length).toBeGreaterThanOrEqual(28);
    expect(h.events.some((e) => e.type === 'transfer-requested')).toBe(true);
    const tool = h.bot.agent.messages.find((m) => m.role === 'tool');
    expect(tool).toMatchObject({ role: 'tool', content: 'transferring to sales' });
    await h.close();
  });

  it('end_call with no text says the goodbye phrase, then hangs up', async () => {
    const h = await setup({ phrases: { goodbye: 'Bye now.' } });
    h.stt.transcripts.push('that is all');
    h.llm.scripts.push([{ tool: 'end_call', args: { reason: 'done' } }]);
    await h.say(speech);
    await h.until(() => h.hangups.length === 1);
    expect(h.tts.texts).toEqual(['Bye now.']);
    expect(h.hangups).toEqual(['bot-hangup']);
    await h.close();
  });

  it('send_dtmf goes to the call layer and the result back to the model', async () => {
    const h = await setup({}, true);
    h.stt.transcripts.push('press one for me');
    h.llm.scripts.push([{ tool: 'send_dtmf', args: { digits: '1#' }, id: 'c1' }], [{ text: 'Done, I pressed one.' }]);
    await h.say(speech);
    await h.until(() => h.tts.texts.length === 1);
    expect(h.dtmf).toEqual(['1#']);
    const second = h.llm.sent[1] as { role: string; content: string | null; tool_call_id?: string }[];
    expect(second.at(-1)).toEqual({ role: 'tool', tool_call_id: 'c1', content: 'sent 1#' });
    expect(h.llm.requests[0]!.tools.map((t) => t.name)).toEqual(['transfer_call', 'end_call', 'send_dtmf']);
    await h.close();
  });

  it('a user-defined HTTP tool is called with the arguments and its answer goes back to the model', async () => {
    const bodies: unknown[] = [];
    const server: Server = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(b));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"shipped"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    const h = await setup({
      httpTools: [{ name: 'order_status', description: 'Look up an order', url, method: 'POST', parameters: { type: 'object', properties: { order: { type: 'string' } } }, timeoutMs: 2000 }],
    });
    h.stt.transcripts.push('where is order 42');
    h.llm.scripts.push([{ tool: 'order_status', args: { order: '42' }, id: 't1' }], [{ text: 'It has shipped.' }]);
    await h.say(speech);
    for (let i = 0; i < 200 && h.tts.texts.length === 0; i++) {
      await h.tick();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(bodies).toEqual([{ callId: 'call-7', arguments: { order: '42' } }]);
    expect((h.llm.sent[1] as { content: string }[]).at(-1)!.content).toBe('{"status":"shipped"}');
    expect(h.tts.texts).toEqual(['It has shipped.']);
    await h.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('AgentBot failure behaviour: retry when retryable, else apology then transfer or hang up', () => {
  it('a retryable LLM error is retried and the caller hears the answer', async () => {
    const h = await setup();
    h.stt.transcripts.push('hello');
    h.llm.scripts.push([{ fail: new ServiceError('llm', 'x', 'HTTP 503', true, 503) }], [{ text: 'Hi there.' }]);
    await h.say(speech);
    await h.until(() => h.tts.texts.length === 1);
    expect(h.llm.requests).toHaveLength(2);
    expect(h.tts.texts).toEqual(['Hi there.']);
    expect(h.hangups).toEqual([]);
    await h.close();
  });

  it('a final LLM error: the cached apology plays, then the call is transferred per policy', async () => {
    const h = await setup({ failure: { action: 'transfer', target: 'sip:operator@pbx', apology: 'Sorry, one moment please.' } });
    h.stt.transcripts.push('hello');
    h.llm.scripts.push([{ fail: new ServiceError('llm', 'x', 'HTTP 401', false, 401) }]);
    await h.say(speech);
    await h.until(() => h.transfers.length === 1);
    expect(h.transfers).toEqual(['sip:operator@pbx']);
    const apology = (await flite.synthesize('Sorry, one moment please.')).audio;
    // the apology was played in full before the transfer
    expect(h.played.filter(Boolean).length).toBeGreaterThanOrEqual(Math.floor(apology.length / 160));
    expect(h.events.some((e) => e.type === 'error')).toBe(true);
    expect(h.tts.texts).toEqual([]); // not through the failing provider path
    await h.close();
  });

  it('a TTS that stalls is retried, then the apology plays and the call hangs up (default policy)', async () => {
    const h = await setup({ retries: 1 });
    h.stt.transcripts.push('hello');
    h.tts.behaviours.push('stall', 'stall');
    h.llm.scripts.push([{ text: 'Hello, how can I help?' }]);
    await h.say(speech);
    await h.until(() => h.hangups.length === 1, 30_000);
    expect(h.hangups).toEqual(['bot-service-failure']);
    expect(h.tts.texts).toEqual(['Hello, how can I help?', 'Hello, how can I help?']);
    expect(h.played.some(Boolean)).toBe(true); // never silent
    await h.close();
  });

  it('an STT failure that is not retryable also ends in the apology, never silence', async () => {
    const h = await setup();
    h.stt.transcripts.push(new ServiceError('stt', 'x', 'bad audio format', false, 400));
    await h.say(speech);
    await h.until(() => h.hangups.length === 1);
    expect(h.played.some(Boolean)).toBe(true);
    await h.close();
  });

  it('close() is idempotent and releases the services', async () => {
    const h = await setup();
    await h.close();
    await h.close();
    expect(h.clock.pendingCount()).toBe(0);
  });
});

// keep `concat` referenced for future multi-part speech tests
void concat;
