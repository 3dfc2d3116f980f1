import { ServiceError, type LlmChunk, type LlmRequest, type LlmService, type SttService, type SttSession, type TtsService } from '../../src/pipeline/index.js';

/**
 * FAKE providers in process, for tests only (agents-js keeps a fake provider package the same way):
 * scripted, with gates to hold a stream at an exact point, and scripted failures.
 */
export type LlmStep =
  | { readonly text: string }
  | { readonly tool: string; readonly args?: Record<string, unknown>; readonly id?: string }
  | { readonly gate: Promise<void> }
  | { readonly fail: ServiceError }
  | { readonly stall: true };

export class ScriptedLlm implements LlmService {
  readonly name = 'scripted-llm';
  readonly scripts: LlmStep[][] = [];
  readonly requests: LlmRequest[] = [];
  /** Deep copies of the messages of each request, as they were when it was made. */
  readonly sent: unknown[][] = [];

  async *chat(request: LlmRequest): AsyncIterable<LlmChunk> {
    this.requests.push(request);
    this.sent.push(JSON.parse(JSON.stringify(request.messages)) as unknown[]);
    const script = this.scripts.shift() ?? [{ text: 'Okay.' }];
    let n = 0;
    for (const step of script) {
      await Promise.resolve();
      if (request.signal?.aborted === true) throw new ServiceError('llm', this.name, 'aborted', false);
      if ('text' in step) yield { type: 'text', text: step.text };
      else if ('gate' in step) await step.gate;
      else if ('fail' in step) throw step.fail;
      else if ('stall' in step) await new Promise<void>((resolve) => request.signal?.addEventListener('abort', () => resolve(), { once: true }));
      else yield { type: 'tool-call', call: { id: step.id ?? `call_${n++}`, name: step.tool, arguments: JSON.stringify(step.args ?? {}) } };
    }
  }
}

/** Releasable promise for holding a stream. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export type TtsBehaviour = 'ok' | { readonly fail: ServiceError } | 'stall';

/** Speaks every sentence as a tone: `msPerChar` of audio, delivered in `chunkMs` pieces at 8 kHz. */
export class ToneTts implements TtsService {
  readonly name = 'tone-tts';
  readonly sampleRate = 8000;
  readonly texts: string[] = [];
  readonly behaviours: TtsBehaviour[] = [];

  constructor(
    private readonly msPerChar = 20,
    private readonly chunkMs = 100,
  ) {}

  async *synthesize(text: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    this.texts.push(text);
    const behaviour = this.behaviours.shift() ?? 'ok';
    await Promise.resolve();
    if (behaviour === 'stall') {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    if (behaviour !== 'ok') throw behaviour.fail;
    const total = Math.round(this.msPerChar * text.length * 8);
    const step = this.chunkMs * 8;
    for (let off = 0; off < total; off += step) {
      if (signal.aborted) return;
      const n = Math.min(step, total - off);
      yield new Int16Array(n).fill(4000);
      await Promise.resolve();
    }
  }
}

/** A batch STT that returns scripted transcripts, one per turn. */
export class ScriptedStt implements SttService {
  readonly name = 'scripted-stt';
  readonly streaming = false;
  readonly transcripts: (string | ServiceError)[] = [];
  readonly turnAudio: (Int16Array | null)[] = [];

  open(): Promise<SttSession> {
    return Promise.resolve({
      write: () => undefined,
      finishTurn: (audio) => {
        this.turnAudio.push(audio);
        const next = this.transcripts.shift() ?? '';
        return typeof next === 'string' ? Promise.resolve(next) : Promise.reject(next);
      },
      close: () => Promise.resolve(),
    });
  }
}
