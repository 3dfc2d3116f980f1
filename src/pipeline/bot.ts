import type { Clock, Logger } from '../shared/index.js';
import type { BotEvent } from './events.js';
import { frames, type Frame } from './frames.js';
import { Pipeline } from './pipeline.js';
import type { FrameProcessor } from './frame-processor.js';
import type { PlayoutSource } from './playout.js';

/** What the call layer lends a bot for one call. */
export interface BotContext {
  readonly callId: string;
  /** from, to, selected headers, and deployment settings such as `operator`. */
  readonly metadata: Record<string, string>;
  /** Per-call logger (carries callId). Caller content goes under `pii` only. */
  readonly logger: Logger;
  readonly clock: Clock;
  /** Asks the call layer to hang up. */
  hangup(reason: string): void;
  /** Asks the call layer to transfer the caller (REFER) to `target`. */
  transfer(target: string): void;
  /** Asks the call layer to send DTMF digits (RFC 4733) toward the caller; absent when it cannot. */
  sendDtmf?(digits: string): void;
}

/** The call layer's view of a bot. */
export interface Bot {
  /** Warm-up before the 200 OK: load VAD/TTS, synthesize the greeting; resolves when ready. */
  prepare(): Promise<void>;
  /** The call was answered: start speaking. */
  start(): void;
  /** One 20 ms 8 kHz caller frame (reused buffer: copied if kept). */
  onAudio(frame: Int16Array): void;
  onDtmf(digit: string): void;
  readonly playout: PlayoutSource;
  onEvent(handler: (event: BotEvent) => void): void;
  /**
   * A transfer the bot asked for (or the API started) did not happen and the caller is still on
   * the line: `reason` says why in words, `status` is the deciding SIP code when there is one
   * (the REFER's refusal, the NOTIFY's sipfrag, the consult INVITE's final response).
   */
  onTransferFailed?(reason: string, status?: number): void;
  /** Releases everything the bot holds; idempotent. */
  close(): Promise<void>;
}

/** Fan-out of bot events; a listener that throws is logged and the others still run. */
export class BotEventHub {
  private readonly handlers: ((event: BotEvent) => void)[] = [];

  constructor(private readonly logger: Logger) {}

  add(handler: (event: BotEvent) => void): void {
    this.handlers.push(handler);
  }

  emit(event: BotEvent): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.logger.error({ err, event: event.type }, 'bot event listener threw');
      }
    }
  }
}

/**
 * A bot built from a pipeline whose tail is a playout: feeds caller audio and DTMF in at the
 * head, hands the playout to the call layer, and turns the hangup/transfer requests leaving the
 * head upstream into context.hangup / context.transfer (each at most once).
 */
export abstract class PipelineBot implements Bot {
  protected readonly events: BotEventHub;
  protected readonly pipeline: Pipeline;
  private closed = false;
  private hungUp = false;

  protected constructor(
    protected readonly context: BotContext,
    processors: readonly FrameProcessor[],
    readonly playout: PlayoutSource,
  ) {
    this.events = new BotEventHub(context.logger);
    this.pipeline = new Pipeline(processors, {
      clock: context.clock,
      logger: context.logger,
      onUpstream: (f) => this.onUpstream(f),
      onEvent: (e) => this.events.emit(e),
    });
  }

  abstract prepare(): Promise<void>;

  start(): void {
    if (this.closed) return;
    this.pipeline.start();
  }

  onAudio(frame: Int16Array): void {
    this.pipeline.pushAudio(frame);
  }

  onDtmf(digit: string): void {
    if (this.closed) return;
    this.context.logger.info({ pii: { digit } }, 'dtmf');
    this.events.emit({ type: 'dtmf', digit });
    this.pipeline.queueFrame(frames.dtmf(digit, this.context.clock.now()));
  }

  onEvent(handler: (event: BotEvent) => void): void {
    this.events.add(handler);
  }

  private onUpstream(frame: Frame): void {
    if (this.closed) return;
    try {
      if (frame.kind === 'hangup-request') {
        if (this.hungUp) return;
        this.hungUp = true;
        this.events.emit({ type: 'hangup-requested', reason: frame.reason });
        this.context.logger.info({ reason: frame.reason }, 'bot requests hangup');
        this.context.hangup(frame.reason);
      } else if (frame.kind === 'transfer-request') {
        this.events.emit({ type: 'transfer-requested', target: frame.target });
        this.context.logger.info({ target: frame.target }, 'bot requests transfer');
        this.context.transfer(frame.target);
      }
    } catch (err) {
      this.context.logger.error({ err, frame: frame.kind }, 'call layer failed on bot request');
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.pipeline.close('bot-closed');
    return Promise.resolve();
  }
}
