import { BargeInProcessor, type BargeInOptions } from '../../barge-in-processor.js';
import { PipelineBot, type BotContext } from '../../bot.js';
import { EndOfTurnProcessor } from '../../end-of-turn-processor.js';
import { FliteTts, type TtsEngine } from '../../flite-tts.js';
import { PlayoutProcessor } from '../../playout.js';
import { PromptCache } from '../../prompt-cache.js';
import type { LlmService } from '../../services/llm/llm.js';
import type { ServiceError } from '../../services/service-error.js';
import type { SttService } from '../../services/stt/stt.js';
import type { TtsService } from '../../services/tts/tts.js';
import { VadProcessor, type VadOptions } from '../../vad-processor.js';
import { AgentProcessor, type AgentFailurePolicy, type AgentPhrases } from './agent-processor.js';
import type { HttpToolConfig } from './http-tool.js';
import { SttProcessor } from './stt-processor.js';
import { StreamingTtsProcessor } from './streaming-tts-processor.js';

export interface AgentBotOptions {
  readonly stt: SttService;
  readonly llm: LlmService;
  readonly tts: TtsService;
  readonly systemPrompt: string;
  readonly greeting?: string | null;
  readonly transferTargets?: Readonly<Record<string, string>>;
  readonly httpTools?: readonly HttpToolConfig[];
  /** Retries of a retryable provider failure, per request. */
  readonly retries?: number;
  /** A provider silent this long (clock ms) mid-request counts as failed (retryable). */
  readonly stallMs?: number;
  readonly maxToolRounds?: number;
  readonly phrases?: Partial<AgentPhrases>;
  readonly failure?: Partial<AgentFailurePolicy>;
  readonly vad?: Partial<VadOptions>;
  readonly bargeIn?: Partial<BargeInOptions>;
  /** Extra wait after the VAD's stop before the turn ends. */
  readonly endOfTurnDelayMs?: number;
  /** Offline engine for the cached apology (default the shared flite). */
  readonly apologyEngine?: TtsEngine;
}

export const DEFAULT_AGENT_PHRASES = {
  transferring: 'One moment, I am transferring your call.',
  goodbye: 'Thank you for calling. Goodbye.',
  repeat: 'Sorry, I did not catch that. Could you say it again?',
} as const satisfies AgentPhrases;

export const DEFAULT_AGENT_FAILURE = {
  action: 'hangup',
  target: null,
  apology: 'Sorry, I am having technical trouble. Please call again later.',
} as const satisfies AgentFailurePolicy;

const apologyCaches = new Map<TtsEngine, PromptCache>();

/**
 * The `agent` bot: VAD → barge-in → end of turn → STT → agent (LLM, tools, sentence chunking) →
 * streaming TTS → playout. Owns its providers: `close()` closes the pipeline and the services.
 * The apology is synthesized offline in prepare() and shared by every call on the same engine.
 */
export class AgentBot extends PipelineBot {
  readonly agent: AgentProcessor;
  private readonly vad: VadProcessor;
  private readonly stt: SttProcessor;
  private readonly apologyText: string;
  private readonly apologyEngine: TtsEngine;
  private servicesClosed = false;

  constructor(
    context: BotContext,
    private readonly options: AgentBotOptions,
  ) {
    const retries = options.retries ?? 2;
    const stallMs = options.stallMs ?? 8000;
    const failure: AgentFailurePolicy = { ...DEFAULT_AGENT_FAILURE, ...options.failure };
    const agent = new AgentProcessor(
      options.llm,
      {
        systemPrompt: options.systemPrompt,
        greeting: options.greeting ?? null,
        transferTargets: options.transferTargets ?? {},
        httpTools: options.httpTools ?? [],
        retries,
        stallMs,
        maxToolRounds: options.maxToolRounds ?? 4,
        phrases: { ...DEFAULT_AGENT_PHRASES, ...options.phrases },
        failure,
      },
      { callId: context.callId, ...(context.sendDtmf !== undefined ? { sendDtmf: (d: string) => context.sendDtmf?.(d) } : {}) },
    );
    const onFatal = (err: ServiceError): void => agent.fail(err);
    const vad = new VadProcessor(options.vad);
    const stt = new SttProcessor(options.stt, retries, { onFatal, onTurnLost: () => agent.onTurnLost() });
    const playout = new PlayoutProcessor();
    super(
      context,
      [
        vad,
        new BargeInProcessor(options.bargeIn),
        new EndOfTurnProcessor({ capture: !options.stt.streaming, delayMs: options.endOfTurnDelayMs ?? 0 }),
        stt,
        agent,
        new StreamingTtsProcessor(options.tts, { retries, stallMs, clock: context.clock }, onFatal),
        playout,
      ],
      playout.source,
    );
    this.agent = agent;
    this.vad = vad;
    this.stt = stt;
    this.apologyText = failure.apology;
    this.apologyEngine = options.apologyEngine ?? FliteTts.shared();
    this.events.add((e) => {
      if (e.type === 'utterance-played') agent.onPlayed(e.played);
    });
  }

  async prepare(): Promise<void> {
    const startedAt = performance.now();
    let cache = apologyCaches.get(this.apologyEngine);
    if (cache === undefined) {
      cache = new PromptCache(this.apologyEngine, this.context.logger);
      apologyCaches.set(this.apologyEngine, cache);
    }
    const [, apology] = await Promise.all([this.vad.load(), cache.get(this.apologyText), this.stt.open()]);
    this.agent.setApologyAudio(apology);
    this.context.logger.info(
      { ms: Math.round(performance.now() - startedAt), stt: this.options.stt.name, llm: this.options.llm.name, tts: this.options.tts.name },
      'agent bot ready',
    );
  }

  onTransferFailed(reason: string, status?: number): void {
    this.context.logger.info({ reason, status }, 'transfer failed; the agent carries on');
    this.agent.onTransferFailed(reason, status);
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.servicesClosed) return;
    this.servicesClosed = true;
    await Promise.all([this.options.stt.close?.(), this.options.llm.close?.(), this.options.tts.close?.()]);
  }
}
