/**
 * Trunkline's own latency per agent turn: caller stopped → first bot audio frame handed to the
 * call layer, minus everything that is not Trunkline — the VAD's stop hangover (a policy, 600 ms)
 * and the providers' own delays (the fakes wait a fixed time before answering: Deepgram Finalize,
 * the LLM's first token, Aura's first audio). What is left is our path: end of turn, STT session,
 * WebSocket and HTTP/SSE client code, sentence chunking, the TTS stream and the playout. Real
 * clock, real loopback sockets, providers as local fakes speaking their wire protocols.
 *
 * Goal (issue 6): ≤ 30 ms p50.
 */
import { systemClock, silentLogger } from '../src/shared/index.js';
import { AgentBot, DeepgramStt, DeepgramTts, FliteTts, OpenAiLlm, type BotEvent, type TurnMetrics } from '../src/pipeline/index.js';
import { FakeDeepgram } from '../test/fakes/fake-deepgram-server.js';
import { FakeOpenAiServer } from '../test/fakes/fake-openai-server.js';
import type { BenchRow, BenchSection } from './harness.js';

const STT_DELAY_MS = 40;
const LLM_DELAY_MS = 80;
const TTS_DELAY_MS = 40;
const TURNS = 25;

function tone(ms: number): Int16Array {
  const n = ms * 8;
  const out = new Int16Array(n);
  // a voiced-sounding signal the VAD takes as speech: a 200 Hz buzz with harmonics
  for (let i = 0; i < n; i++) out[i] = Math.round(6000 * Math.sin((2 * Math.PI * 200 * i) / 8000) + 3000 * Math.sin((2 * Math.PI * 600 * i) / 8000) + 1500 * Math.sin((2 * Math.PI * 1400 * i) / 8000));
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function stage(m: TurnMetrics, name: string): number {
  return m.stages.find((s) => s.stage === name)?.sinceStopMs ?? NaN;
}

export async function run(): Promise<BenchSection> {
  const transcripts: string[] = [];
  const sttFake = await FakeDeepgram.start({ apiKey: 'bench', transcripts });
  sttFake.replyDelayMs = STT_DELAY_MS;
  const ttsFake = await FakeDeepgram.start({ apiKey: 'bench', ttsMsPerChar: 30 });
  ttsFake.replyDelayMs = TTS_DELAY_MS;
  const llmFake = await FakeOpenAiServer.start();
  llmFake.chatResponder = () => ({ steps: [{ delayMs: LLM_DELAY_MS }, { text: 'Hello there. ' }, { text: 'How can I help you today?' }] });

  const events: BotEvent[] = [];
  const bot = new AgentBot(
    { callId: 'bench', metadata: {}, logger: silentLogger(), clock: systemClock, hangup: () => undefined, transfer: () => undefined },
    {
      stt: new DeepgramStt({ apiKey: 'bench', baseUrl: sttFake.baseUrl }),
      llm: new OpenAiLlm({ baseUrl: llmFake.baseUrl, model: 'bench' }),
      tts: new DeepgramTts({ apiKey: 'bench', baseUrl: ttsFake.baseUrl }),
      systemPrompt: 'bench',
      apologyEngine: FliteTts.shared(),
    },
  );
  bot.onEvent((e) => events.push(e));
  await bot.prepare();
  bot.start();

  const speech = tone(800);
  const silence = new Int16Array(160);
  const out = new Int16Array(160);
  const overheads: number[] = [];
  const perStage: Record<string, number[]> = { 'stt (ours)': [], 'llm (ours)': [], 'tts (ours)': [], 'to first frame': [] };
  for (let turn = 0; turn < TURNS + 2; turn++) {
    transcripts.push('hello');
    events.length = 0;
    // caller audio faster than real time: the VAD works in media time, the timeline in clock time
    for (let off = 0; off < speech.length; off += 160) bot.onAudio(speech.subarray(off, off + 160));
    for (let t = 0; t < 700; t += 20) bot.onAudio(silence);
    // the call layer's pull, as often as the event loop allows (no 20 ms quantization)
    const deadline = performance.now() + 5000;
    let metrics: TurnMetrics | null = null;
    while (metrics === null && performance.now() < deadline) {
      bot.playout.pull(out);
      await new Promise((r) => setImmediate(r));
      const e = events.find((x) => x.type === 'turn-metrics');
      if (e?.type === 'turn-metrics') metrics = e.metrics;
    }
    if (metrics === null) throw new Error(`turn ${turn}: no turn metrics (events: ${events.map((e) => e.type).join(', ')})`);
    // drain the reply and let the TTS finish before the next turn
    await new Promise((r) => setTimeout(r, 150));
    while (bot.playout.pull(out)) {
      /* play it all out at once */
    }
    if (turn < 2) continue; // warm-up: first connections, JIT
    const vadStop = stage(metrics, 'vad-stop');
    const sttFinal = stage(metrics, 'stt-final');
    const llmFirst = stage(metrics, 'llm-first-token');
    const ttsFirst = stage(metrics, 'tts-first-audio');
    const firstOut = stage(metrics, 'first-audio-out');
    overheads.push(firstOut - vadStop - STT_DELAY_MS - LLM_DELAY_MS - TTS_DELAY_MS);
    perStage['stt (ours)']!.push(sttFinal - vadStop - STT_DELAY_MS);
    perStage['llm (ours)']!.push(llmFirst - sttFinal - LLM_DELAY_MS);
    perStage['tts (ours)']!.push(ttsFirst - llmFirst - TTS_DELAY_MS);
    perStage['to first frame']!.push(firstOut - ttsFirst);
  }
  await bot.close();
  await Promise.all([sttFake.close(), ttsFake.close(), llmFake.close(), FliteTts.shared().close()]);

  const rows: BenchRow[] = [];
  const sorted = [...overheads].sort((a, b) => a - b);
  rows.push({
    name: 'agent turn overhead, fakes\' delays subtracted (ms)',
    extra: { p50: round(percentile(sorted, 0.5)), p90: round(percentile(sorted, 0.9)), max: round(sorted.at(-1) ?? NaN), turns: sorted.length, goalP50: 30 },
  });
  for (const [name, values] of Object.entries(perStage)) {
    const s = [...values].sort((a, b) => a - b);
    rows.push({ name: `  of which ${name} (ms)`, extra: { p50: round(percentile(s, 0.5)), p90: round(percentile(s, 0.9)) } });
  }
  return {
    section: 'agent',
    rows,
    notes: [
      `fakes: Deepgram STT Finalize +${STT_DELAY_MS} ms, LLM first token +${LLM_DELAY_MS} ms (SSE), Aura TTS first audio +${TTS_DELAY_MS} ms; loopback sockets, real clock`,
      'overhead = first-audio-out − vad-stop − the three fake delays (timer slack of the fakes counts against us)',
    ],
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
