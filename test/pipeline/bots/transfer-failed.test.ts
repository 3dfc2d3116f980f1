/**
 * Bot.onTransferFailed: the call layer tells the bot why a transfer it asked for did not happen
 * (REFER refused, NOTIFY failure, consult call not answered) and the caller is still there. The
 * demo bot says so with a cached prompt and returns to its menu; the agent bot puts the reason in
 * its LLM context and lets the model answer the caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import { AgentBot, DEMO_PROMPTS, DemoBot, FliteTts, PromptCache, type BotEvent } from '../../../src/pipeline/index.js';
import { espeak } from '../audio-helpers.js';
import { ScriptedLlm, ScriptedStt, ToneTts } from '../../fakes/in-process-services.js';

const tts = new FliteTts();
const prompts = new PromptCache(tts);
const silence = new Int16Array(160);

afterAll(async () => {
  await tts.close();
});

describe('demo bot: a failed transfer to the operator', () => {
  let sorry: Int16Array;
  let menu: Int16Array;
  beforeAll(async () => {
    sorry = (await prompts.get(DEMO_PROMPTS.transferFailed)).audio;
    menu = (await prompts.get(DEMO_PROMPTS.menu)).audio;
  });

  it('says "Sorry, the transfer did not go through." (cached, bit-exact), then the menu, and takes digits again', async () => {
    const clock = new FakeClock();
    const transfers: string[] = [];
    const events: BotEvent[] = [];
    const bot = new DemoBot(
      { callId: 'c', metadata: { operator: 'sip:op@pbx' }, logger: silentLogger(), clock, hangup: () => undefined, transfer: (t) => transfers.push(t) },
      { tts, silenceTimeoutMs: 60_000 },
    );
    bot.onEvent((e) => events.push(e));
    await bot.prepare();
    bot.start();
    const out = new Int16Array(160);
    const pull = (): boolean => {
      bot.onAudio(silence);
      const played = bot.playout.pull(out);
      clock.advance(20);
      return played;
    };
    bot.onDtmf('0');
    while (pull());
    pull();
    expect(transfers).toEqual(['sip:op@pbx']);
    // Before a failure is reported, digits are ignored (the bot is leaving).
    bot.onDtmf('2');
    expect(pull()).toBe(false);

    bot.onTransferFailed('transfer failed with SIP 603', 603);
    const played: number[] = [];
    const first = new Int16Array(160);
    expect(pull()).toBe(true);
    first.set(out);
    played.push(1);
    while (pull()) played.push(1);
    expect(Array.from(first)).toEqual(Array.from(sorry.subarray(0, 160)));
    expect(played.length).toBe(Math.ceil(sorry.length / 160) + Math.ceil(menu.length / 160));
    const spoken = events.flatMap((e) => (e.type === 'utterance-played' ? [e.played.text] : []));
    expect(spoken.slice(-2)).toEqual([DEMO_PROMPTS.transferFailed, DEMO_PROMPTS.menu]);
    expect(bot.menu.menuState).toBe('menu');
    // Back in the menu: 0 transfers again.
    bot.onDtmf('0');
    while (pull());
    pull();
    expect(transfers).toEqual(['sip:op@pbx', 'sip:op@pbx']);
    await bot.close();
  });

  it('a failure report while the bot is not transferring changes nothing', async () => {
    const clock = new FakeClock();
    const bot = new DemoBot({ callId: 'c', metadata: {}, logger: silentLogger(), clock, hangup: () => undefined, transfer: () => undefined }, { tts, silenceTimeoutMs: 60_000 });
    await bot.prepare();
    bot.start();
    const queued = bot.playout.queuedFrames;
    bot.onTransferFailed('transfer timed out');
    expect(bot.playout.queuedFrames).toBe(queued);
    expect(bot.menu.menuState).toBe('menu');
    await bot.close();
  });
});

describe('agent bot: a failed transfer goes back to the model', () => {
  it('the reason is added to the LLM context as a system message and the model’s reply is spoken', async () => {
    const clock = new FakeClock();
    const llm = new ScriptedLlm();
    const stt = new ScriptedStt();
    const tone = new ToneTts(20, 100);
    const transfers: string[] = [];
    const bot = new AgentBot(
      { callId: 'a', metadata: {}, logger: silentLogger(), clock, hangup: () => undefined, transfer: (t) => transfers.push(t) },
      { stt, llm, tts: tone, systemPrompt: 'You are the test agent.', transferTargets: { sales: 'sip:sales@pbx' }, apologyEngine: tts, stallMs: 3000 },
    );
    await bot.prepare();
    bot.start();
    const out = new Int16Array(160);
    const tick = async (input: Int16Array = silence): Promise<void> => {
      bot.onAudio(input);
      bot.playout.pull(out);
      clock.advance(20);
      await new Promise((r) => setImmediate(r));
    };
    const until = async (cond: () => boolean, maxMs = 20_000): Promise<void> => {
      for (let t = 0; t < maxMs && !cond(); t += 20) await tick();
      if (!cond()) throw new Error('condition not reached');
    };
    stt.transcripts.push('sales please');
    llm.scripts.push([{ text: 'Connecting you now.' }, { tool: 'transfer_call', args: { destination: 'sales' } }]);
    const speech = espeak('I would like to talk to sales please.');
    for (let off = 0; off + 160 <= speech.length; off += 160) await tick(speech.subarray(off, off + 160));
    await until(() => transfers.length === 1);

    llm.scripts.push([{ text: 'Sorry, sales is not answering. Can I help you myself?' }]);
    bot.onTransferFailed('the transfer target did not answer (busy, SIP 486)', 486);
    await until(() => tone.texts.length === 3);
    expect(tone.texts.slice(1)).toEqual(['Sorry, sales is not answering.', 'Can I help you myself?']);
    const sent = llm.sent[1] as { role: string; content: string | null }[];
    expect(sent.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'system']);
    expect(sent[4]!.content).toContain('the transfer target did not answer (busy, SIP 486) (SIP 486)');
    // The conversation goes on: a new caller turn gets an answer (the transfer no longer ends it).
    stt.transcripts.push('yes please');
    llm.scripts.push([{ text: 'Of course.' }]);
    for (let off = 0; off + 160 <= speech.length; off += 160) await tick(speech.subarray(off, off + 160));
    await until(() => tone.texts.includes('Of course.'));
    expect(llm.requests).toHaveLength(3);
    await bot.close();
  });
});
