import { G711Concealer, g711Codec } from '../codec/index.js';
import { CallRecorder, type Bot, type BotContext } from '../pipeline/index.js';
import { MediaSession, type MediaSessionStats, type Pacer, type PayloadCodec, type PortPool } from '../rtp/index.js';
import type { Clock, Logger, TrunklineConfig } from '../shared/index.js';
import type { MediaHost, MediaHostFactory, MediaHostInit, MediaRemoteSpec } from './media-host.js';

/** What an in-thread host needs: this thread's port pool and pacer, and a way to build bots. */
export interface LocalMediaDeps {
  readonly config: TrunklineConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pool: PortPool;
  readonly pacer: Pacer;
  createBot(name: string, context: BotContext): Bot;
}

/** The codec object for a negotiated codec name and payload type. */
export function codecFor(name: 'PCMU' | 'PCMA', payloadType: number): PayloadCodec {
  const base = g711Codec(name);
  if (base.payloadType === payloadType) return base;
  // A dynamic payload type for a static codec: same codec, the offerer's number on the wire.
  return Object.create(base, { payloadType: { value: payloadType, enumerable: true } }) as PayloadCodec;
}

/**
 * A call's media session and bot in the calling thread: the main thread when calls.workers = 0
 * (and for transfer consult legs, whose bot the call builds itself), or a media worker's thread,
 * where media-worker.ts runs one of these per call. It owns both: close() closes the bot, the
 * recorder and the session (ports back to the pool) and is idempotent.
 */
export class LocalMediaHost implements MediaHost {
  private media: MediaSession | undefined;
  private bot: Bot | undefined;
  private recorder: CallRecorder | undefined;
  private finalStats: MediaSessionStats | undefined;
  private closing: Promise<MediaSessionStats | undefined> | undefined;

  constructor(
    private readonly deps: LocalMediaDeps,
    private readonly init: MediaHostInit,
  ) {}

  get localPort(): number | undefined {
    return this.media?.localPort;
  }

  get stats(): MediaSessionStats | undefined {
    return this.finalStats ?? this.media?.stats;
  }

  async open(): Promise<number> {
    const { deps, init } = this;
    const media = await MediaSession.open({
      pool: deps.pool,
      pacer: deps.pacer,
      clock: deps.clock,
      logger: init.context.logger,
      codec: g711Codec('PCMU'),
      concealer: new G711Concealer(),
      jitter: { minDelayMs: deps.config.rtp.jitterMinMs, maxDelayMs: deps.config.rtp.jitterMaxMs },
      inactivityTimeoutMs: deps.config.rtp.inactivityTimeoutMs,
      rtcpMux: init.rtcpMux,
      cname: `trunkline-${init.callId.slice(0, 16)}`,
      sendSilence: deps.config.rtp.sendSilence,
    });
    if (this.closing !== undefined) {
      // Closed while the ports were being bound.
      await media.close();
      return media.localPort;
    }
    this.media = media;
    const bot = init.createBot?.(init.context) ?? deps.createBot(init.botName, init.context);
    this.bot = bot;
    bot.onEvent((event) => init.onBotEvent(event));
    return media.localPort;
  }

  prepareBot(): Promise<void> {
    const bot = this.bot;
    if (bot === undefined) return Promise.reject(new Error('media host not open'));
    return bot.prepare();
  }

  setRemote(remote: MediaRemoteSpec): void {
    this.media?.setRemote({
      address: remote.address,
      port: remote.port,
      ...(remote.rtcpPort !== undefined ? { rtcpPort: remote.rtcpPort } : {}),
      ...(remote.rtcpMux !== undefined ? { rtcpMux: remote.rtcpMux } : {}),
      codec: codecFor(remote.codec, remote.payloadType),
      ...(remote.dtmfPayloadType !== undefined ? { dtmfPayloadType: remote.dtmfPayloadType } : {}),
      send: remote.send,
      receive: remote.receive,
    });
  }

  start(): void {
    const media = this.media;
    const bot = this.bot;
    if (media === undefined || bot === undefined || this.closing !== undefined) return;
    const { init } = this;
    if (init.recordPath === undefined) {
      media.setPlayoutSource(bot.playout);
      media.onFrame((pcm) => bot.onAudio(pcm));
    } else {
      // Stereo recording: the caller's frame and what we sent, tick by tick (caller left, bot right).
      const recorder = new CallRecorder(init.recordPath, init.context.logger);
      this.recorder = recorder;
      media.setPlayoutSource({
        pull: (out) => {
          const sent = bot.playout.pull(out);
          recorder.bot(sent ? out : null);
          return sent;
        },
      });
      media.onFrame((pcm) => {
        recorder.caller(pcm);
        bot.onAudio(pcm);
      });
    }
    media.onDtmf((event) => {
      init.onDtmf(event.digit, event.durationMs);
      this.bot?.onDtmf(event.digit);
    });
    media.onInactive(() => init.onInactive());
    bot.start();
  }

  mute(): void {
    this.media?.setPlayoutSource(null);
  }

  sendDtmf(digit: string, durationMs?: number): void {
    this.media?.sendDtmf(digit, durationMs);
  }

  dtmfToBot(digit: string): void {
    this.bot?.onDtmf(digit);
  }

  transferFailed(reason: string, status?: number): void {
    const bot = this.bot;
    if (bot?.onTransferFailed === undefined || this.closing !== undefined) return;
    try {
      bot.onTransferFailed(reason, status);
    } catch (err) {
      this.init.context.logger.error({ err }, 'bot onTransferFailed threw');
    }
  }

  detachForBridge(): MediaSession {
    const media = this.media;
    if (media === undefined) throw new Error('media session not open');
    media.setPlayoutSource(null);
    const bot = this.bot;
    this.bot = undefined;
    bot?.close().catch((err: unknown) => this.init.context.logger.warn({ err }, 'bot close failed on entering the bridge'));
    return media;
  }

  close(): Promise<MediaSessionStats | undefined> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<MediaSessionStats | undefined> {
    const media = this.media;
    media?.setPlayoutSource(null);
    const results = await Promise.allSettled([this.bot?.close(), media?.close(), this.recorder?.close()]);
    for (const r of results) if (r.status === 'rejected') this.init.context.logger.error({ err: r.reason as unknown }, 'error while closing call resources');
    if (media !== undefined) this.finalStats = media.stats;
    return this.finalStats;
  }
}

/** Every call's media in this thread. */
export class LocalMediaHostFactory implements MediaHostFactory {
  constructor(private readonly deps: LocalMediaDeps) {}

  create(init: MediaHostInit): MediaHost {
    return new LocalMediaHost(this.deps, init);
  }
}
