import { BargeInProcessor, type BargeInOptions } from './barge-in-processor.js';
import { PipelineBot, type BotContext } from './bot.js';
import { EndOfTurnProcessor } from './end-of-turn-processor.js';
import { FliteTts, type TtsEngine } from './flite-tts.js';
import { FrameProcessor } from './frame-processor.js';
import { frames, type Frame, type FrameDirection } from './frames.js';
import { MaxDurationProcessor } from './max-duration-processor.js';
import { PlayoutProcessor } from './playout.js';
import { PromptCache } from './prompt-cache.js';
import { SilenceTimeoutProcessor } from './silence-timeout-processor.js';
import { TtsProcessor } from './tts-processor.js';
import { VadProcessor, type VadOptions } from './vad-processor.js';

export const DEMO_PROMPTS = {
  greeting: 'Hello, this is the Trunkline demo. Press 1 for an echo test, 2 for the time, 0 for the operator, or pound to hang up.',
  menu: 'Press 1 for an echo test, 2 for the time, 0 for the operator, or pound to hang up.',
  echo: 'Echo test. Say something, then stop, and I will play it back.',
  echoDone: 'That was your echo. Press 1 to try again, or pound to hang up.',
  invalid: 'Sorry, that is not an option.',
  noOperator: 'Sorry, no operator is configured.',
  transferring: 'Transferring you to the operator.',
  transferFailed: 'Sorry, the transfer did not go through.',
  goodbye: 'Thank you for calling Trunkline. Goodbye.',
  reprompt: 'Are you still there? Press 1 for an echo test, 2 for the time, or pound to hang up.',
  silenceGoodbye: 'I did not hear anything. Goodbye.',
  maxDuration: 'This call has reached its time limit. Goodbye.',
} as const;

export interface DemoBotOptions {
  /** Where 0 transfers to; default context.metadata.operator; unset means "not configured". */
  readonly operator?: string;
  readonly tts?: TtsEngine;
  readonly vad?: Partial<VadOptions>;
  readonly bargeIn?: Partial<BargeInOptions>;
  readonly silenceTimeoutMs?: number;
  readonly maxDurationMs?: number;
  /** Wall-clock time for "the time" (the pipeline's Clock is monotonic). */
  readonly now?: () => Date;
  /** IANA zone for "the time"; default the server's. */
  readonly timeZone?: string;
}

type DemoState = 'menu' | 'echo' | 'leaving';

const caches = new Map<TtsEngine, PromptCache>();

/** One prompt cache per engine per process, so only the first call pays for synthesis. */
function promptCacheFor(engine: TtsEngine, context: BotContext): PromptCache {
  let cache = caches.get(engine);
  if (cache === undefined) {
    cache = new PromptCache(engine, context.logger);
    caches.set(engine, cache);
  }
  return cache;
}

/**
 * The demo's menu logic: greets on start; DTMF 1 echo test (the caller's next turn is played
 * back), 2 the time, 0 transfer to the operator, # goodbye then hang up. A digit interrupts
 * whatever the bot is saying (control overtakes audio).
 */
export class DemoMenuProcessor extends FrameProcessor {
  private state: DemoState = 'menu';

  constructor(
    private readonly operator: string | null,
    private readonly now: () => Date,
    private readonly timeZone: string | undefined,
  ) {
    super('demo-menu');
  }

  get menuState(): DemoState {
    return this.state;
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    this.pushFrame(frame, direction);
    if (direction !== 'downstream') return;
    switch (frame.kind) {
      case 'start':
        this.pushFrame(frames.speak(DEMO_PROMPTS.greeting));
        return;
      case 'dtmf':
        this.digit(frame.digit);
        return;
      case 'end-of-turn':
        if (this.state === 'echo' && frame.audio !== null && frame.audio.length > 0) {
          this.state = 'menu';
          const id = this.ctx.nextUtteranceId();
          this.pushFrame(frames.ttsStarted(id, '[echo of the caller]'));
          this.pushFrame(frames.ttsAudio(id, frame.audio, 8000));
          this.pushFrame(frames.ttsStopped(id));
          this.pushFrame(frames.speak(DEMO_PROMPTS.echoDone));
        }
        return;
      case 'hangup-request':
        this.state = 'leaving';
        return;
      default:
        return;
    }
  }

  /**
   * The transfer to the operator did not happen and the caller is still here: say so (a cached
   * prompt), then back to the menu. Interrupts anything still playing (control overtakes audio).
   */
  transferFailed(): void {
    if (this.state !== 'leaving') return;
    this.state = 'menu';
    this.pushFrame(frames.interruption('transfer-failed'));
    this.pushFrame(frames.speak(DEMO_PROMPTS.transferFailed));
    this.pushFrame(frames.speak(DEMO_PROMPTS.menu));
  }

  private digit(d: string): void {
    if (this.state === 'leaving') return;
    this.pushFrame(frames.interruption('dtmf'));
    switch (d) {
      case '1':
        this.state = 'echo';
        this.pushFrame(frames.speak(DEMO_PROMPTS.echo));
        return;
      case '2': {
        this.state = 'menu';
        const time = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', ...(this.timeZone !== undefined ? { timeZone: this.timeZone } : {}) }).format(this.now());
        this.pushFrame(frames.speak(`The time is ${time}.`));
        return;
      }
      case '0':
        if (this.operator === null) {
          this.pushFrame(frames.speak(DEMO_PROMPTS.noOperator));
          return;
        }
        this.state = 'leaving';
        this.pushFrame(frames.speak(DEMO_PROMPTS.transferring, { allowInterruptions: false, after: { transfer: this.operator } }));
        return;
      case '#':
        this.state = 'leaving';
        this.pushFrame(frames.speak(DEMO_PROMPTS.goodbye, { allowInterruptions: false, after: { hangup: 'bot-hangup' } }));
        return;
      default:
        this.state = 'menu';
        this.pushFrame(frames.speak(`${DEMO_PROMPTS.invalid} ${DEMO_PROMPTS.menu}`));
        return;
    }
  }
}

/**
 * The offline demo bot: flite TTS, WebRTC VAD, barge-in, DTMF menu. Works with no API keys.
 * Pipeline: VAD → barge-in → end of turn (captures audio) → silence timeout → max duration →
 * menu → TTS → playout.
 */
export class DemoBot extends PipelineBot {
  private readonly vad: VadProcessor;
  private readonly cache: PromptCache;
  readonly menu: DemoMenuProcessor;

  constructor(context: BotContext, options: DemoBotOptions = {}) {
    const engine = options.tts ?? FliteTts.shared();
    const cache = promptCacheFor(engine, context);
    const vad = new VadProcessor(options.vad);
    const operator = options.operator ?? context.metadata['operator'] ?? null;
    const menu = new DemoMenuProcessor(operator === '' ? null : operator, options.now ?? (() => new Date()), options.timeZone);
    const playout = new PlayoutProcessor();
    super(
      context,
      [
        vad,
        new BargeInProcessor(options.bargeIn),
        new EndOfTurnProcessor({ capture: true }),
        new SilenceTimeoutProcessor({
          timeoutMs: options.silenceTimeoutMs ?? 15_000,
          repromptText: DEMO_PROMPTS.reprompt,
          goodbyeText: DEMO_PROMPTS.silenceGoodbye,
        }),
        new MaxDurationProcessor({ maxDurationMs: options.maxDurationMs ?? 3_600_000, goodbyeText: DEMO_PROMPTS.maxDuration }),
        menu,
        new TtsProcessor(engine, cache),
        playout,
      ],
      playout.source,
    );
    this.vad = vad;
    this.cache = cache;
    this.menu = menu;
  }

  onTransferFailed(reason: string, status?: number): void {
    this.context.logger.info({ reason, status }, 'transfer failed; back to the menu');
    this.menu.transferFailed();
  }

  async prepare(): Promise<void> {
    const startedAt = performance.now();
    const cachedBefore = this.cache.size;
    await Promise.all([this.vad.load(), this.cache.warm(Object.values(DEMO_PROMPTS))]);
    this.context.logger.info({ ms: Math.round(performance.now() - startedAt), promptsSynthesized: this.cache.size - cachedBefore }, 'demo bot ready');
  }
}
