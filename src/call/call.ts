import { G711Concealer, g711Codec } from '../codec/index.js';
import type { Bot, BotContext, BotEvent } from '../pipeline/index.js';
import { MediaSession, type MediaRemote, type Pacer, type PayloadCodec, type PortPool } from '../rtp/index.js';
import { LocalSdpSession, SdpError, parseSdp, type Dialog, type IncomingCall, type NegotiatedMedia, type TerminationCause } from '../sip/index.js';
import { TrunklineError, type Clock, type Logger, type TimerHandle, type TrunklineConfig } from '../shared/index.js';
import { CallEvents, type CallState, type EndCause } from './call-events.js';

/** What a call needs from the server around it; main.ts builds one and shares it. */
export interface CallDeps {
  readonly config: TrunklineConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pool: PortPool;
  readonly pacer: Pacer;
  /** The address to put in our SDP c= line for a peer at `toward` (external address when set). */
  mediaAddress(toward: string): string;
  createBot(name: string, context: BotContext): Bot;
  /** Longest the bot may take to warm up before the call is refused with 503 (ms). */
  readonly warmTimeoutMs: number;
}

export interface CallInfo {
  readonly callId: string;
  readonly state: CallState;
  readonly cause: EndCause | undefined;
  readonly bot: string;
  readonly trunk: string;
  readonly from: string;
  readonly to: string;
  readonly startedAt: number;
  readonly answeredAt: number | undefined;
  readonly endedAt: number | undefined;
  readonly media: { codec: string | undefined; localPort: number | undefined; remote: string | undefined };
}

/** Reason header (RFC 3326) our BYE carries for each cause we originate. */
const BYE_REASON: Partial<Record<EndCause, string>> = {
  'bot-hangup': 'Q.850;cause=16;text="bot hangup"',
  'rtp-timeout': 'Q.850;cause=41;text="RTP timeout"',
  'max-duration': 'Q.850;cause=16;text="maximum call duration"',
  shutdown: 'Q.850;cause=41;text="server shutdown"',
  transferred: 'Q.850;cause=16;text="transferred"',
  error: 'Q.850;cause=41;text="internal error"',
};

const DIALOG_CAUSE: Record<TerminationCause, EndCause> = {
  bye: 'bot-hangup',
  'remote-bye': 'caller-bye',
  cancel: 'cancel',
  'ack-timeout': 'ack-timeout',
  'session-expired': 'session-expired',
  'transport-error': 'error',
  error: 'error',
};

/** How long the bot may take before we tell the caller it is ringing (180) while it warms. */
const RINGING_AFTER_MS = 100;

/**
 * One call: a SIP dialog, a media session and a bot, and their lifecycle
 * (ringing → answered → ended with a cause). The call owns all three: ending it — by either
 * side, a timer or an error — closes the bot and the media session (ports go back to the pool)
 * and cancels every timer. `end()` is idempotent.
 */
export class Call {
  readonly callId: string;
  readonly events: CallEvents;
  readonly startedAt: number;
  /** Resolves once everything the call held is released. */
  readonly closed: Promise<void>;

  private readonly log: Logger;
  private current: CallState = 'ringing';
  private cause: EndCause | undefined;
  private answeredAt: number | undefined;
  private endedAt: number | undefined;
  private media: MediaSession | undefined;
  private bot: Bot | undefined;
  private dialog: Dialog | undefined;
  private sdp: LocalSdpSession | undefined;
  private codecName: string | undefined;
  private maxDurationTimer: TimerHandle | undefined;
  private resolveClosed!: () => void;
  private ending = false;

  constructor(
    private readonly incoming: IncomingCall,
    readonly botName: string,
    private readonly deps: CallDeps,
  ) {
    this.callId = incoming.callId;
    this.startedAt = deps.clock.now();
    this.log = deps.logger.child({ callId: this.callId });
    this.events = new CallEvents(this.log);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  get state(): CallState {
    return this.current;
  }

  get info(): CallInfo {
    const remote = this.dialog?.remoteSdp ?? this.incoming.remoteSdp;
    let remoteAddr: string | undefined;
    if (remote !== undefined) {
      try {
        const r = parseSdp(remote);
        remoteAddr = `${r.address}:${r.port}`;
      } catch {
        remoteAddr = undefined;
      }
    }
    return {
      callId: this.callId,
      state: this.current,
      cause: this.cause,
      bot: this.botName,
      trunk: this.incoming.trunk.name,
      from: this.incoming.from.uri.user ?? this.incoming.from.uri.host,
      to: this.incoming.to.uri.user ?? this.incoming.to.uri.host,
      startedAt: this.startedAt,
      answeredAt: this.answeredAt,
      endedAt: this.endedAt,
      media: { codec: this.codecName, localPort: this.media?.localPort, remote: remoteAddr },
    };
  }

  /** Media statistics, while the media session is open. */
  get mediaStats(): MediaSession['stats'] | undefined {
    return this.media?.stats;
  }

  /**
   * Sets the call up: validates the offer, allocates media, warms the bot (180 while it warms),
   * then answers. Never throws: every failure becomes a SIP rejection with a clear status.
   */
  async accept(): Promise<void> {
    const { incoming, deps } = this;
    incoming.onCancel(() => void this.finish('cancel'));
    const offer = incoming.remoteSdp;
    let rtcpMux = false;
    if (offer !== undefined) {
      try {
        rtcpMux = parseSdp(offer).rtcpMux;
      } catch (err) {
        this.refuse(err);
        return;
      }
    }

    try {
      this.media = await MediaSession.open({
        pool: deps.pool,
        pacer: deps.pacer,
        clock: deps.clock,
        logger: this.log,
        codec: g711Codec('PCMU'),
        concealer: new G711Concealer(),
        jitter: { minDelayMs: deps.config.rtp.jitterMinMs, maxDelayMs: deps.config.rtp.jitterMaxMs },
        inactivityTimeoutMs: deps.config.rtp.inactivityTimeoutMs,
        rtcpMux,
        cname: `trunkline-${this.callId.slice(0, 16)}`,
      });
    } catch (err) {
      this.refuse(err);
      return;
    }
    if (this.ending) return; // cancelled while the ports were being bound

    const sourceHost = incoming.request.headers.get('via') !== undefined ? this.sourceHost() : '127.0.0.1';
    const address = deps.mediaAddress(sourceHost);
    this.sdp = new LocalSdpSession({ address });
    const local = { address, port: this.media.localPort, codecPreference: deps.config.rtp.codecPreference, rtcpMux };
    let localSdp: string;
    let negotiated: NegotiatedMedia | undefined;
    try {
      if (offer !== undefined) {
        const answer = this.sdp.answer(offer, local);
        localSdp = answer.sdp;
        negotiated = answer.media;
      } else {
        // Delayed offer (RFC 3261 §13.2.1): our offer goes in the 200, the answer comes in the ACK.
        localSdp = this.sdp.offer(local);
      }
    } catch (err) {
      this.refuse(err);
      return;
    }

    const bot = deps.createBot(this.botName, this.botContext());
    this.bot = bot;
    bot.onEvent((event) => this.onBotEvent(event));
    const ringing = deps.clock.setTimeout(() => {
      if (!this.ending && incoming.state === 'proceeding') {
        incoming.ringing();
        this.events.emit('ringing', { callId: this.callId });
      }
    }, RINGING_AFTER_MS);
    let warmTimer: TimerHandle | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        warmTimer = deps.clock.setTimeout(() => reject(new TrunklineError('CAPACITY_NO_BOT')), deps.warmTimeoutMs);
        bot.prepare().then(resolve, reject);
      });
    } catch (err) {
      this.refuse(err);
      return;
    } finally {
      ringing.cancel();
      warmTimer?.cancel();
    }
    if (this.ending) return;

    const media = this.media;
    media.setPlayoutSource(bot.playout);
    media.onFrame((pcm) => bot.onAudio(pcm));
    media.onDtmf((event) => this.onDigit(event.digit, 'rfc4733'));
    media.onInactive(() => void this.hangup('rtp-timeout'));
    if (negotiated !== undefined) this.applyMedia(negotiated);

    let dialog: Dialog;
    try {
      dialog = incoming.answer(localSdp);
    } catch (err) {
      this.log.error({ err }, 'answer failed');
      await this.finish('error');
      return;
    }
    this.dialog = dialog;
    this.current = 'answered';
    this.answeredAt = deps.clock.now();
    dialog.onBye(() => void this.finish('caller-bye'));
    dialog.onTerminated((cause) => void this.finish(DIALOG_CAUSE[cause]));
    dialog.onReinvite((offerSdp) => this.onReinvite(offerSdp));
    dialog.onAck((sdp) => {
      if (sdp !== undefined && offer === undefined) this.onRemoteAnswer(sdp);
    });
    dialog.onRemoteSdp((sdp) => {
      if (this.sdp?.offerPending === true) this.onRemoteAnswer(sdp);
    });
    dialog.onDtmf((dtmf) => this.onDigit(dtmf.digit, 'info'));
    this.maxDurationTimer = deps.clock.setTimeout(() => void this.hangup('max-duration'), deps.config.calls.maxDurationSec * 1000);
    this.log.info({ bot: this.botName, trunk: incoming.trunk.name, codec: this.codecName, localPort: media.localPort }, 'call answered');
    this.events.emit('answered', { callId: this.callId, answeredAt: this.answeredAt });
    bot.start();
  }

  /** Ends the call from our side: BYE once answered (with a Reason), 480/503 while ringing. */
  async hangup(cause: EndCause, status = 480): Promise<void> {
    if (this.ending) return this.closed;
    if (this.current === 'answered' && this.dialog !== undefined) {
      const dialog = this.dialog;
      // Stop the media first so nothing more is sent after our BYE.
      this.media?.setPlayoutSource(null);
      try {
        await dialog.bye(BYE_REASON[cause]);
      } catch (err) {
        this.log.warn({ err, cause }, 'BYE failed');
      }
    } else if (this.current === 'ringing' && this.incoming.state === 'proceeding') {
      this.incoming.reject(status, cause === 'shutdown' ? 'Service Unavailable' : undefined, cause === 'shutdown' ? { 'Retry-After': '30' } : undefined);
    }
    await this.finish(cause);
  }

  /** Blind transfer (RFC 3515): REFER the caller to `target`; on success our leg ends. */
  async transfer(target: string): Promise<{ ok: boolean; status: number }> {
    if (this.dialog === undefined || this.current !== 'answered') return { ok: false, status: 0 };
    try {
      const result = await this.dialog.refer(target);
      this.log.info({ status: result.status, final: result.final }, 'transfer result');
      if (result.final === 'success') {
        await this.hangup('transferred');
        return { ok: true, status: result.status };
      }
      return { ok: false, status: result.status };
    } catch (err) {
      this.log.warn({ err }, 'transfer failed');
      return { ok: false, status: 0 };
    }
  }

  private sourceHost(): string {
    const via = this.incoming.request.headers.get('via') ?? '';
    const received = /;\s*received=([^;\s,]+)/i.exec(via);
    if (received?.[1] !== undefined) return received[1];
    const sentBy = /^SIP\/2\.0\/\w+\s+(\[[^\]]+\]|[^:;\s]+)/i.exec(via);
    return sentBy?.[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1';
  }

  private botContext(): BotContext {
    const { incoming } = this;
    const metadata: Record<string, string> = {
      from: incoming.from.uri.user ?? incoming.from.uri.host,
      to: incoming.to.uri.user ?? incoming.to.uri.host,
      trunk: incoming.trunk.name,
    };
    for (const name of ['P-Asserted-Identity', 'Diversion']) {
      const value = incoming.header(name);
      if (value !== undefined) metadata[name.toLowerCase()] = value;
    }
    for (const field of incoming.request.headers) {
      if (field.lname.startsWith('x-')) metadata[field.lname] = field.value;
    }
    return {
      callId: this.callId,
      metadata,
      logger: this.log,
      clock: this.deps.clock,
      hangup: (reason) => {
        this.log.info({ reason }, 'bot asked to hang up');
        void this.hangup('bot-hangup');
      },
      transfer: (target) => void this.transfer(target),
    };
  }

  private onBotEvent(event: BotEvent): void {
    switch (event.type) {
      case 'turn-metrics':
        this.events.emit('turn-metrics', { callId: this.callId, metrics: event.metrics });
        break;
      case 'transcript':
        this.events.emit('transcript', { callId: this.callId, role: event.role, text: event.text, final: event.final });
        break;
      default:
        break;
    }
  }

  private onDigit(digit: string, source: 'rfc4733' | 'info'): void {
    this.log.info({ source, pii: { digit } }, 'dtmf');
    this.events.emit('dtmf', { callId: this.callId, digit, source });
    this.bot?.onDtmf(digit);
  }

  private onReinvite(offerSdp: string | undefined): string {
    const sdp = this.sdp;
    const media = this.media;
    if (sdp === undefined || media === undefined) throw new SdpError(488, 304, 'Media type not available');
    const local = { address: this.deps.mediaAddress(this.sourceHost()), port: media.localPort, codecPreference: this.deps.config.rtp.codecPreference, rtcpMux: false };
    if (offerSdp === undefined) return sdp.offer(local); // answer arrives in the ACK
    const answer = sdp.answer(offerSdp, local);
    this.applyMedia(answer.media);
    this.log.info({ direction: answer.media.localDirection }, 're-INVITE answered');
    return answer.sdp;
  }

  private onRemoteAnswer(answerSdp: string): void {
    try {
      const negotiated = this.sdp?.acceptAnswer(answerSdp);
      if (negotiated !== undefined) this.applyMedia(negotiated);
    } catch (err) {
      this.log.warn({ err }, 'unusable SDP answer; ending the call');
      void this.hangup('error');
    }
  }

  private applyMedia(negotiated: NegotiatedMedia): void {
    const r = negotiated.remote;
    const codec = codecFor(r.codec, r.payloadType);
    this.codecName = r.codec;
    // c=0.0.0.0 (RFC 2543 hold) or port 0: nowhere to send.
    const reachable = r.address !== '0.0.0.0' && r.address !== '::' && r.port !== 0;
    const remote: MediaRemote = {
      address: r.address,
      port: r.port,
      rtcpPort: r.rtcpPort,
      rtcpMux: r.rtcpMux,
      codec,
      ...(r.dtmfPayloadType !== undefined ? { dtmfPayloadType: r.dtmfPayloadType } : {}),
      send: negotiated.send && reachable,
      receive: negotiated.receive,
    };
    this.media?.setRemote(remote);
  }

  private refuse(err: unknown): void {
    if (err instanceof SdpError) {
      this.log.info({ status: err.status, warning: err.warning }, 'offer refused');
      this.incoming.reject(err.status, undefined, { Warning: err.warning });
    } else if (err instanceof TrunklineError && err.sipStatus !== undefined) {
      this.log.warn({ code: err.code }, 'call refused');
      this.incoming.reject(err.sipStatus, undefined, err.sipStatus === 503 ? { 'Retry-After': '5' } : undefined);
    } else {
      this.log.error({ err }, 'call setup failed');
      if (this.incoming.state === 'proceeding' || this.incoming.state === 'early') this.incoming.reject(500, 'Internal Server Error');
    }
    void this.finish('rejected');
  }

  /** Releases everything; idempotent. */
  private async finish(cause: EndCause): Promise<void> {
    if (this.ending) return this.closed;
    this.ending = true;
    this.cause = cause;
    this.current = 'ended';
    this.endedAt = this.deps.clock.now();
    this.maxDurationTimer?.cancel();
    const media = this.media;
    media?.setPlayoutSource(null);
    const results = await Promise.allSettled([this.bot?.close(), media?.close()]);
    for (const r of results) if (r.status === 'rejected') this.log.error({ err: r.reason as unknown }, 'error while closing call resources');
    const durationMs = this.answeredAt === undefined ? 0 : this.endedAt - this.answeredAt;
    this.log.info({ cause, durationMs: Math.round(durationMs) }, 'call ended');
    this.events.emit('ended', { callId: this.callId, cause, durationMs });
    this.events.clear();
    this.resolveClosed();
    return this.closed;
  }
}

function codecFor(name: 'PCMU' | 'PCMA', payloadType: number): PayloadCodec {
  const base = g711Codec(name);
  if (base.payloadType === payloadType) return base;
  // A dynamic payload type for a static codec: same codec, the offerer's number on the wire.
  return Object.create(base, { payloadType: { value: payloadType, enumerable: true } }) as PayloadCodec;
}
