import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, buildConfig, silentLogger } from '../../../src/shared/index.js';
import { createBot, FliteTts, type Bot, type BotEvent } from '../../../src/pipeline/index.js';
import { espeak } from '../audio-helpers.js';
import { FakeOpenAiServer } from '../../fakes/fake-openai-server.js';

/**
 * The offline conversation end to end, in process: espeak-ng speech ("sales") goes into
 * the `agent` bot built from config exactly as TRUNKLINE_BOT=agent builds it — WebRTC VAD,
 * pocketsphinx with a keyword grammar, an OpenAI-compatible LLM (a fake server over HTTP/SSE that
 * calls transfer_call when it hears "sales"), and the offline flite TTS. The bot must say its
 * sentence and then ask the call layer to transfer to the configured target.
 */
let llm: FakeOpenAiServer;
let speech: Int16Array;

beforeAll(async () => {
  llm = await FakeOpenAiServer.start();
  llm.chatResponder = (body) => {
    const last = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
    if (/\bsales\b/.test(last)) return { steps: [{ text: 'Connecting you to sales.' }, { tool: { name: 'transfer_call', arguments: '{"destination":"sales"}' } }] };
    return { steps: [{ text: 'Sorry, which department?' }] };
  };
  speech = espeak('sales');
});
afterAll(async () => {
  await llm.close();
  await FliteTts.shared().close();
});

describe('agent bot offline: espeak → VAD → pocketsphinx → LLM fake (transfer_call) → flite', () => {
  it('transfers the caller who asks for sales to the configured target', async () => {
    const config = buildConfig(
      {
        agent: {
          systemPrompt: 'Route callers to sales or support.',
          stt: { provider: 'pocketsphinx', keywords: ['sales', 'support', 'billing'] },
          llm: { baseUrl: llm.baseUrl, model: 'fake-router' },
          tts: { provider: 'flite' },
          transferTargets: { sales: 'sip:sales@pbx.example.com', support: 'sip:support@pbx.example.com' },
        },
      },
      { TRUNKLINE_BOT: 'agent' },
    );
    const clock = new FakeClock();
    const transfers: string[] = [];
    const hangups: string[] = [];
    const events: BotEvent[] = [];
    const bot: Bot = createBot(
      'agent',
      { callId: 'offline-1', metadata: {}, logger: silentLogger(), clock, hangup: (r) => hangups.push(r), transfer: (t) => transfers.push(t) },
      { agent: config.agent, env: {} },
    );
    bot.onEvent((e) => events.push(e));
    await bot.prepare();
    bot.start();
    const out = new Int16Array(160);
    const silence = new Int16Array(160);
    let playedFrames = 0;
    let playedBeforeTransfer = 0;
    const tick = async (input: Int16Array): Promise<void> => {
      bot.onAudio(input);
      if (bot.playout.pull(out)) playedFrames++;
      clock.advance(20);
      await new Promise((r) => setImmediate(r));
    };
    for (let i = 0; i < 10; i++) await tick(silence);
    for (let off = 0; off + 160 <= speech.length; off += 160) await tick(speech.subarray(off, off + 160));
    // silence until the transfer (pocketsphinx, the HTTP LLM and flite run in real time)
    const deadline = Date.now() + 15_000;
    while (transfers.length === 0 && Date.now() < deadline) {
      await tick(silence);
      if (transfers.length === 0) playedBeforeTransfer = playedFrames;
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(transfers).toEqual(['sip:sales@pbx.example.com']);
    expect(hangups).toEqual([]);
    const heard = events.find((e) => e.type === 'transcript' && e.role === 'user');
    expect(heard?.type === 'transcript' && heard.text).toMatch(/\bsales\b/);
    // the bot's sentence was played (flite, ~1.5 s) before the transfer was asked for
    expect(playedBeforeTransfer).toBeGreaterThan(40);
    const metrics = events.find((e) => e.type === 'turn-metrics');
    expect(metrics?.type === 'turn-metrics' && metrics.metrics.stages.map((s) => s.stage)).toEqual(
      expect.arrayContaining(['vad-stop', 'end-of-turn', 'stt-final', 'llm-first-token', 'speak', 'tts-first-audio', 'first-audio-out']),
    );
    const chat = llm.chats().at(-1)!.json as { model: string; tools: { function: { name: string; parameters: { properties: { destination: { enum: string[] } } } } }[] };
    expect(chat.model).toBe('fake-router');
    expect(chat.tools.find((t) => t.function.name === 'transfer_call')?.function.parameters.properties.destination.enum).toEqual(['sales', 'support']);
    await bot.close();
  });
});
