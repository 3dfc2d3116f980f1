import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/shared/index.js';
import {
  DeepgramStt,
  DeepgramTts,
  OpenAiLlm,
  OpenAiStt,
  OpenAiTts,
  Pcm16Assembler,
  ServiceError,
  type LlmChunk,
} from '../../../src/pipeline/index.js';
import { FakeDeepgram } from '../../fakes/fake-deepgram-server.js';
import { FakeOpenAiServer, speechPcm } from '../../fakes/fake-openai-server.js';

let openai: FakeOpenAiServer;
beforeAll(async () => {
  openai = await FakeOpenAiServer.start();
});
afterAll(async () => {
  await openai.close();
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ServiceError);
    return err as ServiceError;
  }
  throw new Error('expected a failure');
}

describe('OpenAiLlm against the fake chat-completions SSE server', () => {
  const llm = (): OpenAiLlm => new OpenAiLlm({ baseUrl: openai.baseUrl, apiKey: 'sk-test', model: 'fake-model' });

  it('streams text deltas and assembles a tool call split over several chunks', async () => {
    openai.chatScripts.push({ steps: [{ text: 'Sure, ' }, { text: 'one moment.' }, { tool: { name: 'transfer_call', arguments: '{"destination":"sales"}', id: 'call_9' } }] });
    const chunks = await collect(
      llm().chat({
        messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'sales please' }],
        tools: [{ name: 'transfer_call', description: 'transfer', parameters: { type: 'object', properties: {} } }],
      }),
    );
    expect(chunks).toEqual<LlmChunk[]>([
      { type: 'text', text: 'Sure, ' },
      { type: 'text', text: 'one moment.' },
      { type: 'tool-call', call: { id: 'call_9', name: 'transfer_call', arguments: '{"destination":"sales"}' } },
    ]);
    const req = openai.chats().at(-1)!;
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(req.json).toMatchObject({
      model: 'fake-model',
      stream: true,
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'sales please' }],
      tools: [{ type: 'function', function: { name: 'transfer_call', description: 'transfer' } }],
    });
  });

  it('sends assistant tool calls and tool results back in the wire shape', async () => {
    openai.chatScripts.push({ steps: [{ text: 'Done.' }] });
    await collect(
      llm().chat({
        messages: [
          { role: 'user', content: 'press one' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', name: 'send_dtmf', arguments: '{"digits":"1"}' }] },
          { role: 'tool', tool_call_id: 'c1', content: 'sent 1' },
        ],
        tools: [],
      }),
    );
    expect((openai.chats().at(-1)!.json as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'press one' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send_dtmf', arguments: '{"digits":"1"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sent 1' },
    ]);
  });

  it('maps HTTP errors to ServiceError: 401 is final, 429 and 503 are retryable', async () => {
    for (const [status, retryable] of [
      [401, false],
      [400, false],
      [429, true],
      [503, true],
    ] as const) {
      openai.chatScripts.push({ status });
      const err = await failure(collect(llm().chat({ messages: [{ role: 'user', content: 'hi' }], tools: [] })));
      expect([err.kind, err.provider, err.status, err.retryable]).toEqual(['llm', 'openai', status, retryable]);
    }
  });

  it('a connection dropped mid-stream is a retryable failure after the text already delivered', async () => {
    openai.chatScripts.push({ steps: [{ text: 'Hello' }, { disconnect: true }] });
    const got: LlmChunk[] = [];
    const err = await failure(
      (async () => {
        for await (const c of llm().chat({ messages: [{ role: 'user', content: 'hi' }], tools: [] })) got.push(c);
      })(),
    );
    expect(got).toEqual([{ type: 'text', text: 'Hello' }]);
    expect(err.retryable).toBe(true);
  });
});

describe('OpenAiStt against the fake transcription endpoint', () => {
  it('uploads the turn as a WAV file with the model and returns the text', async () => {
    openai.transcripts.push(' I want sales. ');
    const stt = new OpenAiStt({ baseUrl: openai.baseUrl, apiKey: 'k', model: 'whisper-fake', language: 'en' });
    const session = await stt.open();
    const text = await session.finishTurn(new Int16Array(8000), undefined);
    expect(text).toBe('I want sales.');
    const req = openai.requests.filter((r) => r.path === '/v1/audio/transcriptions').at(-1)!;
    const body = req.body.toString('latin1');
    expect(body).toContain('name="model"');
    expect(body).toContain('whisper-fake');
    expect(body).toContain('filename="turn.wav"');
    expect(req.body.length).toBeGreaterThan(16_044);
    expect(stt.streaming).toBe(false);
  });

  it('a 503 is retryable, a 400 is not', async () => {
    const stt = new OpenAiStt({ baseUrl: openai.baseUrl });
    openai.transcripts.push({ status: 503 });
    expect((await failure(stt.transcribe(new Int16Array(800), 8000))).retryable).toBe(true);
    openai.transcripts.push({ status: 400 });
    expect((await failure(stt.transcribe(new Int16Array(800), 8000))).retryable).toBe(false);
  });
});

describe('OpenAiTts against the fake speech endpoint', () => {
  it('streams 24 kHz PCM in chunks and carries half samples across odd-sized network chunks', async () => {
    openai.speechScripts.push({ audioMs: 500 });
    openai.chunkDelayMs = 3;
    const tts = new OpenAiTts({ baseUrl: openai.baseUrl, voice: 'alloy' });
    const chunks = await collect(tts.synthesize('Hello there.', new AbortController().signal));
    openai.chunkDelayMs = 0;
    expect(chunks.length).toBeGreaterThan(1);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    expect(total).toBe(12_000);
    const all = new Int16Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    expect(Array.from(all)).toEqual(Array.from(speechPcm(500)));
    const req = openai.requests.filter((r) => r.path === '/v1/audio/speech').at(-1)!;
    expect(req.json).toMatchObject({ input: 'Hello there.', voice: 'alloy', response_format: 'pcm' });
    expect(tts.sampleRate).toBe(24_000);
  });

  it('errors: 400 final, a dropped body retryable', async () => {
    const tts = new OpenAiTts({ baseUrl: openai.baseUrl });
    openai.speechScripts.push({ status: 400 });
    expect((await failure(collect(tts.synthesize('x', new AbortController().signal)))).retryable).toBe(false);
    openai.speechScripts.push({ audioMs: 1000, disconnectAfterBytes: 9000 });
    expect((await failure(collect(tts.synthesize('x', new AbortController().signal)))).retryable).toBe(true);
  });
});

describe('Pcm16Assembler', () => {
  it('joins little-endian samples split at any byte', () => {
    const a = new Pcm16Assembler();
    const bytes = new Uint8Array([0x01, 0x00, 0xff, 0xff, 0x00, 0x80]);
    const out = [...a.push(bytes.subarray(0, 1)), ...a.push(bytes.subarray(1, 4)), ...a.push(bytes.subarray(4))];
    expect(out).toEqual([1, -1, -32768]);
  });
});

describe('Deepgram streaming STT against the fake /v1/listen', () => {
  let dg: FakeDeepgram;
  const transcripts: string[] = [];
  beforeAll(async () => {
    dg = await FakeDeepgram.start({ apiKey: 'dg-key', transcripts, interimAfterFrames: 3 });
  });
  afterAll(async () => {
    await dg.close();
  });

  it('streams μ-law 8 kHz, gets interim results, and Finalize completes the turn', async () => {
    transcripts.push('talk to sales');
    const interims: string[] = [];
    const stt = new DeepgramStt({ apiKey: 'dg-key', baseUrl: dg.baseUrl });
    const session = await stt.open({ onInterim: (t) => interims.push(t) });
    const frame = new Int16Array(160).fill(1000);
    for (let i = 0; i < 10; i++) session.write(frame);
    const text = await session.finishTurn(null);
    expect(text).toBe('talk to sales');
    expect(interims).toEqual(['talk']);
    const s = dg.listens.at(-1)!;
    expect(s.audioBytes).toBe(1600);
    expect(s.finalizes).toBe(1);
    expect(Object.fromEntries(s.query)).toMatchObject({ encoding: 'mulaw', sample_rate: '8000', channels: '1', interim_results: 'true' });
    await session.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.closeStreams).toBe(1);
  });

  it('a wrong key is refused with HTTP 401: not retryable', async () => {
    const err = await failure(new DeepgramStt({ apiKey: 'wrong', baseUrl: dg.baseUrl }).open());
    expect([err.status, err.retryable]).toEqual([401, false]);
  });

  it('a dropped connection fails the turn as retryable', async () => {
    const session = await new DeepgramStt({ apiKey: 'dg-key', baseUrl: dg.baseUrl }).open();
    dg.dropListenAfterBytes = 320;
    session.write(new Int16Array(160));
    session.write(new Int16Array(160));
    await new Promise((r) => setTimeout(r, 50));
    const err = await failure(session.finishTurn(null));
    expect(err.retryable).toBe(true);
    await session.close();
  });

  it('a Finalize that is never answered fails as stalled (retryable) on the injected clock', async () => {
    const clock = new FakeClock();
    const session = await new DeepgramStt({ apiKey: 'dg-key', baseUrl: dg.baseUrl, clock, finalizeTimeoutMs: 1500 }).open();
    dg.ignoreFinalize = true;
    const p = session.finishTurn(null);
    clock.advance(1500);
    const err = await failure(p);
    expect(err.message).toMatch(/no final result/);
    expect(err.retryable).toBe(true);
    await session.close();
  });
});

describe('Deepgram Aura TTS against the fake /v1/speak', () => {
  let dg: FakeDeepgram;
  beforeAll(async () => {
    dg = await FakeDeepgram.start({ apiKey: 'dg-key', ttsMsPerChar: 40 });
  });
  afterAll(async () => {
    await dg.close();
  });

  it('Speak + Flush per sentence over one socket, linear16 at 8 kHz until Flushed', async () => {
    const tts = new DeepgramTts({ apiKey: 'dg-key', baseUrl: dg.baseUrl });
    const a = await collect(tts.synthesize('Hello there.', new AbortController().signal));
    const b = await collect(tts.synthesize('How can I help?', new AbortController().signal));
    expect(a.reduce((n, c) => n + c.length, 0)).toBe(Math.round(40 * 12 * 8));
    expect(b.reduce((n, c) => n + c.length, 0)).toBe(Math.round(40 * 15 * 8));
    expect(dg.speaks).toHaveLength(1);
    expect(dg.speaks[0]!.spoken).toEqual(['Hello there.', 'How can I help?']);
    expect(Object.fromEntries(dg.speaks[0]!.query)).toMatchObject({ encoding: 'linear16', sample_rate: '8000' });
    await tts.close();
  });

  it('abort sends Clear and the next sentence still works', async () => {
    dg.replyDelayMs = 30;
    const tts = new DeepgramTts({ apiKey: 'dg-key', baseUrl: dg.baseUrl });
    const controller = new AbortController();
    const p = collect(tts.synthesize('This sentence is cut off.', controller.signal));
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await p).toEqual([]);
    dg.replyDelayMs = 0;
    await new Promise((r) => setTimeout(r, 50)); // the old audio and Cleared arrive and are discarded
    const next = await collect(tts.synthesize('Next.', new AbortController().signal));
    expect(next.reduce((n, c) => n + c.length, 0)).toBe(40 * 5 * 8);
    expect(dg.speaks.at(-1)!.clears).toBe(1);
    await tts.close();
  });
});
