import { join } from 'node:path';
import type { Bot, BotContext, BotEvent } from '../pipeline/index.js';
import type { MediaSessionStats, Pacer, PortPool } from '../rtp/index.js';
import {
  LocalSdpSession,
  SdpError,
  parseSdp,
  parseSipfragStatus,
  parseUri,
  SipDialog,
  type Dialog,
  type IncomingCall,
  type InviteOptions,
  type NegotiatedMedia,
  type OutgoingCall,
  type OutgoingCallResult,
  type TerminationCause,
} from '../sip/index.js';
import { TrunklineError, type Clock, type Logger, type OutboundTrunkConfig, type TimerHandle, type TrunklineConfig } from '../shared/index.js';
import { Bridge, type BridgeLeg } from './bridge.js';
import { CallEvents, type CallDirection, type CallOutcome, type CallState, type EndCause, type TransferMode, type TransferStage } from './call-events.js';
import { ConsultBot } from './consult-bot.js';
import { LocalMediaHost } from './local-media-host.js';
import type { MediaHost, MediaHostFactory, MediaRemoteSpec } from './media-host.js';

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
  /**
   * Where each call's media session and bot run: media worker threads (WorkerPool), or — when
   * absent (calls.workers = 0) — this thread, on `pool` and `pacer`.
   */
  readonly mediaHosts?: MediaHostFactory;
  /** Longest the bot may take to warm up before the call is refused with 503 (ms). */
  readonly warmTimeoutMs: number;
  /** How long a blind transfer may wait for the final NOTIFY (ms). Default 30 s. */
  readonly transferTimeoutMs?: number;
  /**
   * After an attended transfer's REFER succeeded, how long the target has to BYE the replaced
   * consult dialog (RFC 3891 §3) before we BYE it ourselves (ms). Default 2 s.
   */
  readonly transferGraceMs?: number;
  /** Places the consult leg of an attended or bridged transfer (CallManager provides it). */
  readonly dialConsult?: (request: ConsultDialRequest) => Call;
}

/** The consult leg an attended/bridged transfer asks the call manager to place. */
export interface ConsultDialRequest {
  /** E.164 number or sip: URI. */
  readonly to: string;
  /** Outbound trunk name; default the first configured. */
  readonly trunk?: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** The consult leg's bot (speaks the summary), instead of a configured one. */
  readonly createBot: (context: BotContext) => Bot;
}

/** A transfer as the API (or a bot) asks for it. */
export interface TransferRequest {
  /** sip:/sips:/tel: URI or a number. */
  readonly target: string;
  readonly mode: TransferMode;
  /** Attended/bridge: the outbound trunk for the consult leg; default the first configured. */
  readonly trunk?: string;
  /** Attended/bridge: spoken to the person who answers the consult leg before the hand-over. */
  readonly summary?: string;
}

export interface TransferResult {
  readonly ok: boolean;
  /** The deciding SIP status (the NOTIFY's sipfrag, the REFER's refusal, or the consult INVITE's). */
  readonly status: number;
  readonly final: 'success' | 'failure' | 'timeout' | 'bridged';
}

/** What dial-out needs of the SIP user agent. */
export interface OutgoingCallSource {
  invite(options: InviteOptions): OutgoingCall;
}

/** A call we place: where, from whom, and how long it may ring. */
export interface DialRequest {
  readonly trunk: OutboundTrunkConfig;
  /** E.164 number or sip:/sips: URI. */
  readonly to: string;
  /** User part or SIP URI for From; default the trunk's fromNumber. */
  readonly from?: string;
  /** X- headers only (the SIP stack refuses others). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Without a final answer after this long we CANCEL: outcome no-answer. */
  readonly ringTimeoutMs: number;
}

export type CallOrigin =
  | { readonly direction: 'inbound'; readonly incoming: IncomingCall }
  | { readonly direction: 'outbound'; readonly dial: DialRequest; readonly ua: OutgoingCallSource; readonly id: string };

export interface CallOptions {
  /** Handed to the bot with from/to/trunk. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Overrides calls.maxDurationSec for this call. */
  readonly maxDurationSec?: number;
  /** Builds this call's bot instead of deps.createBot (the consult leg's bot). */
  readonly createBot?: (context: BotContext) => Bot;
}

export interface TransferInfo {
  readonly target: string;
  readonly mode: TransferMode;
  readonly stage: TransferStage;
  readonly status: number | undefined;
  /** The consult leg (attended/bridge), once placed. */
  readonly consultCallId: string | undefined;
}

export interface CallInfo {
  /** Our id for the call: the SIP Call-ID of an inbound call, a generated one for dial-out. */
  readonly callId: string;
  readonly direction: CallDirection;
  readonly state: CallState;
  readonly cause: EndCause | undefined;
  readonly outcome: CallOutcome | undefined;
  readonly bot: string;
  readonly trunk: string;
  readonly from: string;
  readonly to: string;
  /** The SIP Call-ID (once the INVITE exists). */
  readonly sipCallId: string | undefined;
  /** The final status of the INVITE (what we sent for inbound, what we got for dial-out). */
  readonly sipStatus: number | undefined;
  /** Every status of the INVITE in order (provisional and final, 100 excluded). */
  readonly sipCodes: readonly number[];
  /** Clock ms (monotonic) at each step. */
  readonly startedAt: number;
  readonly ringingAt: number | undefined;
  readonly answeredAt: number | undefined;
  readonly endedAt: number | undefined;
  readonly media: { codec: string | undefined; localPort: number | undefined; remote: string | undefined };
  readonly transfer: TransferInfo | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Reason header (RFC 3326) our BYE carries for each cause we originate. */
const BYE_REASON: Partial<Record<EndCause, string>> = {
  'bot-hangup': 'Q.850;cause=16;text="bot hangup"',
  'api-hangup': 'Q.850;cause=16;text="API hangup"',
  'rtp-timeout': 'Q.850;cause=41;text="RTP timeout"',
  'max-duration': 'Q.850;cause=16;text="maximum call duration"',
  shutdown: 'Q.850;cause=41;text="server shutdown"',
  transferred: 'Q.850;cause=16;text="transferred"',
  'peer-leg-ended': 'Q.850;cause=16;text="bridged party hung up"',
  error: 'Q.850;cause=41;text="internal error"',
  'media-failed': 'Q.850;cause=41;text="media worker failed"',
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
const DEFAULT_TRANSFER_TIMEOUT_MS = 30_000;
const DEFAULT_TRANSFER_GRACE_MS = 2_000;
/** Longest the consult leg's summary may take to play before we hand over anyway. */
const SUMMARY_TIMEOUT_MS = 60_000;
/** REFER answers meaning "this peer will not transfer" (RFC 3515 §2.4.2, RFC 3261 §21). */
const REFER_REFUSED = new Set([403, 405, 501, 603]);

/**
 * The outcome of a dial-out INVITE that did not answer, as the issue maps it: 486 Busy Here and
 * 600 Busy Everywhere are busy; 603 Decline is rejected; our own ring timeout (CANCEL → 487) is
 * no-answer; anything else failed, with its SIP code. None of these is retried.
 */
export function dialOutcome(status: number, ringTimedOut: boolean, cancelledByUs: boolean): { outcome: CallOutcome; cause: EndCause } {
  if (ringTimedOut) return { outcome: 'no-answer', cause: 'no-answer' };
  if (status === 486 || status === 600) return { outcome: 'busy', cause: 'busy' };
  if (status === 603) return { outcome: 'rejected', cause: 'rejected' };
  if (status === 487 && cancelledByUs) return { outcome: 'cancelled', cause: 'api-hangup' };
  return { outcome: 'failed', cause: 'failed' };
}

/**
 * The Refer-To for a transfer target (RFC 3515 §2.1): a sip:/sips:/tel: URI as given; a number as
 * tel: (RFC 3966) or as sip:number@host;user=phone (RFC 3261 §19.1.6), per the trunk's setting.
 */
export function referTarget(target: string, scheme: 'sip' | 'tel', host: string): string {
  if (/^(sips?|tel):/i.test(target)) return target;
  if (!/^\+?[0-9*#]{1,32}$/.test(target)) throw new TrunklineError('NUMBER_INVALID', target);
  return scheme === 'tel' ? `tel:${target}` : `sip:${target}@${host}${target.startsWith('+') ? ';user=phone' : ''}`;
}

/** A number (E.164 or digits) for the consult INVITE: tel: URIs lose their scheme (RFC 3966). */
function consultTarget(target: string): string {
  return /^tel:/i.test(target) ? (target.slice(4).split(';')[0] ?? '') : target;
}

/** Read through a function: TypeScript would keep a narrowing of the getter across awaits. */
function ended(call: Call): boolean {
  return call.state === 'ended';
}

/** Resolves with `value` after `ms`, unless `p` settles first; the timer is always cancelled. */
async function raceTimer<T>(clock: Clock, p: Promise<T>, ms: number, value: T): Promise<T> {
  let timer: TimerHandle | undefined;
  try {
    return await Promise.race([p, new Promise<T>((resolve) => (timer = clock.setTimeout(() => resolve(value), ms)))]);
  } finally {
    timer?.cancel();
  }
}

/**
 * One call: a SIP dialog, a media session and a bot, and their lifecycle. Inbound: ringing →
 * answered → ended; dial-out: dialing → ringing → answered → ended. Both directions share one
 * path: media is allocated first, the bot is warmed before the SIP side commits (our 200, or our
 * INVITE), and once a dialog exists `connect()` wires media, bot and dialog the same way.
 * The call owns all three: ending it — by either side, a timer or an error — closes the bot and
 * the media session (ports go back to the pool) and cancels every timer. `finish()` is idempotent.
 */
export class Call {
  readonly callId: string;
  readonly direction: CallDirection;
  readonly events: CallEvents;
  readonly startedAt: number;
  /** Resolves once everything the call held is released. */
  readonly closed: Promise<void>;

  private readonly log: Logger;
  private readonly metadata: Readonly<Record<string, string>>;
  private current: CallState;
  private cause: EndCause | undefined;
  private outcome: CallOutcome | undefined;
  private sipStatus: number | undefined;
  private readonly sipCodes: number[] = [];
  private ringingAt: number | undefined;
  private answeredAt: number | undefined;
  private endedAt: number | undefined;
  /** The call's media session and bot, in this thread or a media worker. */
  private host: MediaHost | undefined;
  private finalStats: MediaSessionStats | undefined;
  private finalLocalPort: number | undefined;
  private dialog: Dialog | undefined;
  private outgoing: OutgoingCall | undefined;
  private sdp: LocalSdpSession | undefined;
  private codecName: string | undefined;
  private maxDurationTimer: TimerHandle | undefined;
  private transferState: TransferInfo | undefined;
  private resolveClosed!: () => void;
  private ending = false;
  /** Set when we hung up (API, shutdown) while the INVITE we sent was still pending. */
  private dialAbandon: { cause: EndCause } | undefined;
  /** Why we are sending BYE (the dialog reports its end as plain 'bye'). */
  private byeCause: EndCause | undefined;
  /** A REFER of ours is waiting for its final NOTIFY: NOTIFY 1xx are reported as progress. */
  private referPending = false;
  /** Set once the media left the bot for a bridge. */
  private bridge: Bridge | undefined;

  constructor(
    private readonly origin: CallOrigin,
    readonly botName: string,
    private readonly deps: CallDeps,
    private readonly options: CallOptions = {},
  ) {
    this.direction = origin.direction;
    this.callId = origin.direction === 'inbound' ? origin.incoming.callId : origin.id;
    this.current = origin.direction === 'inbound' ? 'ringing' : 'dialing';
    this.startedAt = deps.clock.now();
    this.log = deps.logger.child({ callId: this.callId, direction: this.direction });
    this.events = new CallEvents(this.log);
    this.metadata = { ...this.partyMetadata(), ...(options.metadata ?? {}) };
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  get state(): CallState {
    return this.current;
  }

  get trunkName(): string {
    return this.origin.direction === 'inbound' ? this.origin.incoming.trunk.name : this.origin.dial.trunk.name;
  }

  get info(): CallInfo {
    const remote = this.dialog?.remoteSdp ?? (this.origin.direction === 'inbound' ? this.origin.incoming.remoteSdp : undefined);
    let remoteAddr: string | undefined;
    if (remote !== undefined) {
      try {
        const r = parseSdp(remote);
        remoteAddr = `${r.address}:${r.port}`;
      } catch {
        remoteAddr = undefined;
      }
    }
    const party = this.party();
    return {
      callId: this.callId,
      direction: this.direction,
      state: this.current,
      cause: this.cause,
      outcome: this.outcome,
      bot: this.botName,
      trunk: this.trunkName,
      from: party.from,
      to: party.to,
      sipCallId: this.origin.direction === 'inbound' ? this.origin.incoming.callId : this.outgoing?.callId,
      sipStatus: this.sipStatus,
      sipCodes: [...this.sipCodes],
      startedAt: this.startedAt,
      ringingAt: this.ringingAt,
      answeredAt: this.answeredAt,
      endedAt: this.endedAt,
      media: { codec: this.codecName, localPort: this.host?.localPort ?? this.finalLocalPort, remote: remoteAddr },
      transfer: this.transferState,
      metadata: this.metadata,
    };
  }

  /** Media statistics: live while the media session is open, the final figures after the call ended. */
  get mediaStats(): MediaSessionStats | undefined {
    return this.finalStats ?? this.host?.stats;
  }

  /** Sends an RFC 4733 telephone-event digit string on the call's RTP stream. */
  sendDtmf(digits: string, durationMs?: number): void {
    const media = this.host;
    if (this.current !== 'answered' || media === undefined) throw new TrunklineError(this.current === 'ended' ? 'CALL_ENDED' : 'CALL_NOT_ANSWERED', this.callId);
    for (const digit of digits) media.sendDtmf(digit, durationMs);
  }

  /** Sets the call up in its direction. Never throws: every failure ends the call with a cause. */
  async start(): Promise<void> {
    if (this.origin.direction === 'inbound') await this.answerInbound(this.origin.incoming);
    else await this.dialOut(this.origin.dial, this.origin.ua);
  }

  // ---- inbound ----------------------------------------------------------------------------------

  /** Validates the offer, allocates media, warms the bot (180 while it warms), then answers. */
  private async answerInbound(incoming: IncomingCall): Promise<void> {
    const { deps } = this;
    incoming.onCancel(() => {
      this.noteStatus(487);
      this.outcome = 'cancelled';
      void this.finish('cancel');
    });
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
    const localPort = await this.openMedia(rtcpMux);
    if (localPort === undefined) return;

    const address = deps.mediaAddress(this.sourceHost());
    const sdp = new LocalSdpSession({ address });
    this.sdp = sdp;
    const local = { address, port: localPort, codecPreference: deps.config.rtp.codecPreference, rtcpMux };
    let localSdp: string;
    let negotiated: NegotiatedMedia | undefined;
    try {
      if (offer !== undefined) {
        const answer = sdp.answer(offer, local);
        localSdp = answer.sdp;
        negotiated = answer.media;
      } else {
        // Delayed offer (RFC 3261 §13.2.1): our offer goes in the 200, the answer comes in the ACK.
        localSdp = sdp.offer(local);
      }
    } catch (err) {
      this.refuse(err);
      return;
    }

    const ringing = deps.clock.setTimeout(() => {
      if (!this.ending && incoming.state === 'proceeding') {
        incoming.ringing();
        this.noteRinging(180);
      }
    }, RINGING_AFTER_MS);
    const warm = await this.warmBot();
    ringing.cancel();
    if (warm !== undefined) {
      this.refuse(warm);
      return;
    }
    if (this.ending) return;
    if (negotiated !== undefined) this.applyMedia(negotiated);

    let dialog: Dialog;
    try {
      dialog = incoming.answer(localSdp);
    } catch (err) {
      this.log.error({ err }, 'answer failed');
      await this.finish('error');
      return;
    }
    this.noteStatus(200);
    dialog.onAck((ackSdp) => {
      if (ackSdp !== undefined && offer === undefined) this.onRemoteAnswer(ackSdp);
    });
    this.connect(dialog);
  }

  // ---- outbound ---------------------------------------------------------------------------------

  /**
   * Dial-out: media first (our offer carries its port), the bot warmed before the INVITE leaves so
   * it speaks the moment the callee answers, then INVITE. 180/183 → ringing; the final response
   * maps to an outcome (see dialOutcome); our ring timer CANCELs. Digest challenges (401/407) are
   * answered by the user agent with the trunk's credentials.
   */
  private async dialOut(dial: DialRequest, ua: OutgoingCallSource): Promise<void> {
    const { deps } = this;
    const localPort = await this.openMedia(false);
    if (localPort === undefined) return;
    const trunkHost = parseUri(dial.trunk.uri).host;
    const address = deps.mediaAddress(trunkHost);
    const sdp = new LocalSdpSession({ address });
    this.sdp = sdp;
    const offer = sdp.offer({ address, port: localPort, codecPreference: deps.config.rtp.codecPreference, rtcpMux: false });

    const warm = await this.warmBot();
    if (warm !== undefined) {
      this.log.warn({ err: warm }, 'bot not ready; call not placed');
      this.outcome = 'failed';
      await this.finish('error');
      return;
    }
    if (this.ending) return;
    const early = this.abandoned();
    if (early !== undefined) {
      this.outcome = 'cancelled';
      await this.finish(early.cause);
      return;
    }

    let outgoing: OutgoingCall;
    try {
      outgoing = ua.invite({
        trunk: dial.trunk,
        to: dial.to,
        ...(dial.from !== undefined ? { from: dial.from } : {}),
        ...(dial.headers !== undefined ? { headers: { ...dial.headers } } : {}),
        sdp: offer,
      });
    } catch (err) {
      this.log.warn({ err }, 'INVITE could not be built');
      this.outcome = 'failed';
      await this.finish('failed');
      return;
    }
    this.outgoing = outgoing;
    this.log.info({ sipCallId: outgoing.callId, trunk: dial.trunk.name }, 'dialing');
    outgoing.onProgress((status) => {
      this.noteStatus(status);
      if ((status === 180 || status === 183) && this.current === 'dialing') this.noteRinging(status);
    });
    let ringTimedOut = false;
    const ringTimer = deps.clock.setTimeout(() => {
      ringTimedOut = true;
      this.log.info({ ringTimeoutMs: dial.ringTimeoutMs }, 'ring timeout; cancelling');
      outgoing.cancel();
    }, dial.ringTimeoutMs);
    let result: OutgoingCallResult;
    try {
      result = await outgoing.result;
    } finally {
      ringTimer.cancel();
    }

    if ('failed' in result) {
      this.noteStatus(result.status);
      const mapped = dialOutcome(result.status, ringTimedOut, this.abandoned() !== undefined);
      this.outcome = mapped.outcome;
      this.log.info({ status: result.status, reason: result.reason, outcome: mapped.outcome }, 'dial-out did not connect');
      const gaveUp = this.abandoned();
      await this.finish(gaveUp !== undefined && mapped.outcome === 'cancelled' ? gaveUp.cause : mapped.cause);
      return;
    }
    this.noteStatus(200);
    const dialog = result.dialog;
    if (this.ending || this.abandoned() !== undefined) {
      // Answered as we gave up: the dialog exists, so end it properly.
      await dialog.bye(BYE_REASON[this.abandoned()?.cause ?? 'api-hangup']);
      await this.finish(this.abandoned()?.cause ?? 'api-hangup');
      return;
    }
    try {
      this.applyMedia(sdp.acceptAnswer(result.sdp));
    } catch (err) {
      this.log.warn({ err }, 'unusable SDP answer; ending the call');
      await dialog.bye('SIP;cause=488;text="Not Acceptable Here"');
      this.outcome = 'failed';
      await this.finish('failed');
      return;
    }
    this.connect(dialog);
  }

  // ---- the shared path --------------------------------------------------------------------------

  /**
   * Opens the call's media host (ports bound, bot created) — in this thread or pinned to a media
   * worker — and returns our RTP port; undefined (and the call ended) when it could not.
   */
  private async openMedia(rtcpMux: boolean): Promise<number | undefined> {
    const { deps } = this;
    const recordDir = deps.config.calls.recordDir;
    const init = {
      callId: this.callId,
      botName: this.botName,
      context: this.botContext(),
      ...(this.options.createBot !== undefined ? { createBot: this.options.createBot } : {}),
      rtcpMux,
      ...(recordDir !== undefined ? { recordPath: join(recordDir, `${safeFileName(this.callId)}.wav`) } : {}),
      onDtmf: (digit: string) => this.onDigit(digit, 'rfc4733'),
      onInactive: () => void this.hangup('rtp-timeout'),
      onBotEvent: (event: BotEvent) => this.onBotEvent(event),
      onFailed: (reason: string) => {
        this.log.error({ reason }, 'media failed; ending the call');
        void this.hangup('media-failed', 503);
      },
    };
    const host = deps.mediaHosts?.create(init) ?? new LocalMediaHost(deps, init);
    this.host = host;
    let localPort: number;
    try {
      localPort = await host.open();
    } catch (err) {
      if (this.origin.direction === 'inbound') this.refuse(err);
      else {
        this.log.warn({ err }, 'no media for dial-out');
        this.outcome = 'failed';
        void this.finish('error');
      }
      return undefined;
    }
    // Cancelled (or hung up) while the ports were being bound.
    return this.ending ? undefined : localPort;
  }

  /** Read through a method: TypeScript would keep a narrowing of the field across awaits. */
  private abandoned(): { cause: EndCause } | undefined {
    return this.dialAbandon;
  }

  private requireHost(): MediaHost {
    if (this.host === undefined) throw new Error('media session not open');
    return this.host;
  }

  /** Warms the bot (created with the media host) within the warm-up bound; returns the error if it failed. */
  private async warmBot(): Promise<unknown> {
    const host = this.requireHost();
    let warmTimer: TimerHandle | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        warmTimer = this.deps.clock.setTimeout(() => reject(new TrunklineError('CAPACITY_NO_BOT')), this.deps.warmTimeoutMs);
        host.prepareBot().then(resolve, reject);
      });
      return undefined;
    } catch (err) {
      return err;
    } finally {
      warmTimer?.cancel();
    }
  }

  /** The dialog exists (we answered, or the callee did): media to bot, dialog handlers, timers, go. */
  private connect(dialog: Dialog): void {
    const { deps } = this;
    const host = this.requireHost();
    this.dialog = dialog;
    this.current = 'answered';
    this.outcome = 'answered';
    this.answeredAt = deps.clock.now();
    dialog.onBye(() => void this.finish('caller-bye'));
    // Our own BYE terminates the dialog too: the cause is the one hangup() was given.
    dialog.onTerminated((cause) => void this.finish(cause === 'bye' ? (this.byeCause ?? 'bot-hangup') : DIALOG_CAUSE[cause]));
    dialog.onReinvite((offerSdp) => this.onReinvite(offerSdp));
    dialog.onRemoteSdp((sdp) => {
      if (this.sdp?.offerPending === true) this.onRemoteAnswer(sdp);
    });
    dialog.onDtmf((dtmf) => this.onDigit(dtmf.digit, 'info'));
    dialog.onNotify((req) => this.onReferNotify(req.body.toString('utf8')));
    // An inbound REFER (the carrier asking us to call someone else) gets no handler here, so the
    // dialog answers 403 whatever the trunk's allowRefer says: acting on one needs an outbound
    // trunk for the Refer-To target, which this build does not choose yet.
    const maxSec = this.options.maxDurationSec ?? deps.config.calls.maxDurationSec;
    this.maxDurationTimer = deps.clock.setTimeout(() => void this.hangup('max-duration'), maxSec * 1000);
    this.log.info({ bot: this.botName, trunk: this.trunkName, codec: this.codecName, localPort: host.localPort }, 'call answered');
    this.events.emit('answered', { callId: this.callId, answeredAt: this.answeredAt });
    // Media ↔ bot (and the recorder), RFC 4733 digits and RTP inactivity, then the bot speaks.
    host.start();
  }

  /**
   * Ends the call from our side: BYE once answered (with a Reason), 480/503 while an inbound call
   * rings, CANCEL while our INVITE is pending (the outcome then comes from its final response).
   */
  async hangup(cause: EndCause, status = 480): Promise<void> {
    if (this.ending) return this.closed;
    if (this.current === 'answered' && this.dialog !== undefined) {
      const dialog = this.dialog;
      // Stop the media first so nothing more is sent after our BYE.
      this.host?.mute();
      this.byeCause = cause;
      try {
        await dialog.bye(BYE_REASON[cause]);
      } catch (err) {
        this.log.warn({ err, cause }, 'BYE failed');
      }
    } else if (this.origin.direction === 'outbound') {
      this.dialAbandon ??= { cause };
      if (this.outgoing !== undefined) {
        // §9.1: CANCEL; dialOut() finishes the call when the INVITE's final response arrives.
        this.outgoing.cancel();
        return this.closed;
      }
      this.outcome = 'cancelled';
    } else if (this.current === 'ringing' && this.origin.incoming.state === 'proceeding') {
      this.origin.incoming.reject(status, cause === 'shutdown' ? 'Service Unavailable' : undefined, cause === 'shutdown' ? { 'Retry-After': '30' } : undefined);
      this.noteStatus(status);
      this.outcome = 'cancelled';
    }
    await this.finish(cause);
  }

  /**
   * Transfers the caller (RFC 3515 REFER, RFC 5589 flows). `blind`: see transfer(). `attended`
   * (RFC 5589 §7): a consult call to the target through an outbound trunk, the optional summary
   * spoken to whoever answers, then REFER with Replaces (RFC 3891) naming the consult dialog on the
   * caller's leg; when the caller's side refuses REFER (403/405/501/603, or no REFER in its Allow)
   * the two legs are bridged instead. `bridge`: the consult call, then the bridge. Throws at once
   * (TrunklineError) when the call cannot transfer now; the promise carries the result.
   */
  transferTo(request: TransferRequest): Promise<TransferResult> {
    if (request.mode === 'blind') return this.transfer(request.target);
    this.checkTransferable();
    const dialConsult = this.deps.dialConsult;
    if (dialConsult === undefined) throw new TrunklineError('TRANSFER_MODE_UNSUPPORTED', request.mode);
    let consultBot: ConsultBot | undefined;
    const consult = dialConsult({
      to: consultTarget(request.target),
      ...(request.trunk !== undefined ? { trunk: request.trunk } : {}),
      metadata: { consultFor: this.callId, transferMode: request.mode },
      createBot: (context) => (consultBot = new ConsultBot(context, request.summary ?? null)),
    });
    this.setTransfer(request.target, 'requested', undefined, undefined, request.mode, consult.callId);
    this.log.info({ target: request.target, mode: request.mode, consultCallId: consult.callId }, 'consult transfer: placing the consult call');
    return this.runConsultTransfer(consult, request, () => consultBot?.spoken ?? Promise.resolve());
  }

  /**
   * Blind transfer (RFC 3515): REFER the other party to `target` (Referred-By is ours), follow the
   * NOTIFY sipfrag progress to a final status. On success our leg ends (BYE, cause transferred);
   * on failure or timeout the caller stays with the bot, which is told why. Throws at once
   * (TrunklineError) when the call cannot transfer now; the promise carries the result.
   */
  transfer(target: string): Promise<TransferResult> {
    const dialog = this.checkTransferable();
    const referTo = referTarget(target, this.referScheme(), this.referHost());
    this.setTransfer(referTo, 'requested', undefined, undefined, 'blind');
    this.log.info({ target: referTo }, 'blind transfer: REFER');
    return this.runTransfer(dialog, referTo);
  }

  /** The call's dialog when a transfer may start now; throws the reason otherwise. */
  private checkTransferable(): Dialog {
    const dialog = this.dialog;
    if (this.current === 'ended' || this.ending) throw new TrunklineError('CALL_ENDED', this.callId);
    if (dialog === undefined || this.current !== 'answered') throw new TrunklineError('CALL_NOT_ANSWERED', this.callId);
    // One transfer at a time; a bridged call has no bot left to transfer it again.
    const stage = this.transferState?.stage;
    if (stage !== undefined && stage !== 'failed') throw new TrunklineError('TRANSFER_IN_PROGRESS', this.callId);
    return dialog;
  }

  private async runTransfer(dialog: Dialog, referTo: string): Promise<TransferResult> {
    const result = await this.refer(dialog, referTo, undefined);
    this.log.info({ status: result.status, final: result.final }, 'transfer result');
    if (result.final === 'success') {
      this.setTransfer(referTo, 'succeeded', result.status);
      await this.hangup('transferred');
      return { ok: true, ...result };
    }
    const reason = result.final === 'timeout' ? 'transfer timed out' : `transfer failed${result.status > 0 ? ` with SIP ${result.status}` : ''}`;
    this.transferFailed(referTo, reason, result.status);
    return { ok: false, ...result };
  }

  /** Sends REFER (with Replaces for attended transfer) and waits for its final NOTIFY. */
  private async refer(dialog: Dialog, referTo: string, replaces: string | undefined): Promise<{ status: number; final: 'success' | 'failure' | 'timeout' }> {
    this.referPending = true;
    try {
      return await dialog.refer(referTo, { timeoutMs: this.deps.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS, ...(replaces !== undefined ? { replaces } : {}) });
    } catch (err) {
      this.log.warn({ err }, 'REFER failed');
      return { status: 0, final: 'failure' };
    } finally {
      this.referPending = false;
    }
  }

  /** The transfer did not happen: the caller stays with the bot, which is told why. */
  private transferFailed(target: string, reason: string, status: number): TransferResult {
    this.setTransfer(target, 'failed', status, reason);
    if (!this.ending) this.host?.transferFailed(reason, status > 0 ? status : undefined);
    return { ok: false, status, final: 'failure' };
  }

  /**
   * The consult part of an attended or bridged transfer (RFC 5589 §7), after the consult leg was
   * placed: wait for it to answer, let the summary play, then REFER with Replaces (attended) or
   * bridge. The caller stays with its bot meanwhile; if the caller hangs up, the consult leg is
   * hung up too.
   */
  private async runConsultTransfer(consult: Call, request: TransferRequest, spoken: () => Promise<void>): Promise<TransferResult> {
    const { target, mode } = request;
    let handedOff = false;
    void this.closed.then(() => {
      if (!handedOff) void consult.hangup('peer-leg-ended');
    });
    consult.events.on('ringing', (e) => {
      if (!this.ending) this.setTransfer(target, 'progress', e.status);
    });
    const answered = await new Promise<boolean>((resolve) => {
      consult.events.on('answered', () => resolve(true));
      void consult.closed.then(() => resolve(false));
    });
    if (this.ending) return { ok: false, status: 0, final: 'failure' };
    if (!answered) {
      const info = consult.info;
      const status = info.sipStatus ?? 0;
      return this.transferFailed(target, `the transfer target did not answer (${info.outcome ?? 'failed'}${status > 0 ? `, SIP ${status}` : ''})`, status);
    }
    this.setTransfer(target, 'consulting', 200);
    // RFC 5589 §7: the transferor talks to the target before completing; here the summary plays.
    const played = await raceTimer(
      this.deps.clock,
      Promise.race([spoken().then(() => true), consult.closed.then(() => false), this.closed.then(() => false)]),
      SUMMARY_TIMEOUT_MS,
      true,
    );
    if (this.ending) return { ok: false, status: 0, final: 'failure' };
    if (!played || ended(consult)) return this.transferFailed(target, 'the transfer target hung up before the transfer completed', 0);

    if (mode === 'attended') {
      const replaces = consult.replacesValue;
      const dialog = this.dialog;
      let why: string;
      let status = 0;
      if (!this.peerAllowsRefer()) {
        why = 'the caller’s side does not allow REFER';
      } else if (replaces === undefined || dialog === undefined) {
        why = 'the consult dialog cannot be named for Replaces';
      } else {
        // RFC 3891 §6.1 needs a SIP URI: a tel: target is sent as sip:number@carrier;user=phone.
        const referTo = referTarget(consultTarget(target), 'sip', this.referHost());
        this.log.info({ referTo, replaces }, 'attended transfer: REFER with Replaces');
        const result = await this.refer(dialog, referTo, replaces);
        this.log.info({ status: result.status, final: result.final }, 'attended transfer REFER result');
        if (result.final === 'success') {
          handedOff = true;
          this.setTransfer(target, 'succeeded', result.status);
          // RFC 3891 §3: the target ends the replaced (consult) dialog with BYE; if it has not
          // within the grace period, we end it ourselves.
          const grace = this.deps.clock.setTimeout(() => void consult.hangup('transferred'), this.deps.transferGraceMs ?? DEFAULT_TRANSFER_GRACE_MS);
          void consult.closed.then(() => grace.cancel());
          await this.hangup('transferred');
          return { ok: true, ...result };
        }
        if (this.ending) return { ok: false, ...result };
        if (ended(consult)) return this.transferFailed(target, 'the transfer target hung up before the transfer completed', result.status);
        status = result.status;
        why = REFER_REFUSED.has(result.status) ? `REFER refused with SIP ${result.status}` : result.final === 'timeout' ? 'REFER timed out' : `REFER failed${result.status > 0 ? ` with SIP ${result.status}` : ''}`;
      }
      this.log.info({ reason: why }, 'attended transfer: falling back to a bridge');
      this.setTransfer(target, 'fallback', status > 0 ? status : undefined, `${why}; bridging`);
    }

    if (this.ending || this.host === undefined) return { ok: false, status: 0, final: 'failure' };
    if (ended(consult) || consult.host === undefined) return this.transferFailed(target, 'the transfer target hung up before the transfer completed', 0);
    handedOff = true;
    const bridge = new Bridge(this.enterBridge(), consult.enterBridge(), this.log);
    this.bridge = bridge;
    consult.bridge = bridge;
    this.setTransfer(target, 'bridged', undefined);
    return { ok: true, status: 200, final: 'bridged' };
  }

  /**
   * Hands this call's media to a bridge: the bot leaves the media path (it is closed now, so it
   * neither hears the other leg nor speaks over it) and the bridge wires frames and DTMF.
   */
  private enterBridge(): BridgeLeg {
    const media = this.requireHost().detachForBridge();
    return { id: this.callId, media, ended: this.closed, hangup: () => this.hangup('peer-leg-ended') };
  }

  /** The media bridge this call is in (attended fallback or mode bridge), if any. */
  get bridged(): Bridge | undefined {
    return this.bridge;
  }

  /** RFC 3891 §6.1 Replaces value naming this call's dialog (callid;to-tag;from-tag), once it exists. */
  get replacesValue(): string | undefined {
    return this.dialog instanceof SipDialog ? this.dialog.replacesValue() : undefined;
  }

  /**
   * Whether the other party can take a REFER: RFC 3261 §20.5 Allow lists the methods it supports;
   * an INVITE without Allow says nothing, so we try. Only an inbound INVITE's Allow is known here.
   */
  private peerAllowsRefer(): boolean {
    if (this.origin.direction !== 'inbound') return true;
    const allow = this.origin.incoming.request.headers
      .getAll('allow')
      .flatMap((v) => v.split(','))
      .map((m) => m.trim().toUpperCase())
      .filter((m) => m !== '');
    return allow.length === 0 || allow.includes('REFER');
  }

  private setTransfer(target: string, stage: TransferStage, status: number | undefined, reason?: string, mode?: TransferMode, consultCallId?: string): void {
    const m = mode ?? this.transferState?.mode ?? 'blind';
    const consult = consultCallId ?? (mode === undefined ? this.transferState?.consultCallId : undefined);
    this.transferState = { target, mode: m, stage, status, consultCallId: consult };
    this.events.emit('transfer', {
      callId: this.callId,
      target,
      mode: m,
      stage,
      ...(status !== undefined ? { status } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(consult !== undefined ? { consultCallId: consult } : {}),
    });
  }

  /** A NOTIFY of our REFER's implicit subscription (RFC 3515 §2.4.5): report provisional progress. */
  private onReferNotify(body: string): void {
    const t = this.transferState;
    if (t === undefined || !this.referPending) return;
    const frag = parseSipfragStatus(body);
    if (frag !== undefined && frag.status < 200) this.setTransfer(t.target, 'progress', frag.status, frag.reason);
  }

  private referScheme(): 'sip' | 'tel' {
    if (this.origin.direction === 'outbound') return this.origin.dial.trunk.referUriScheme;
    return this.origin.incoming.trunk.referUriScheme ?? 'sip';
  }

  /** The host a sip: Refer-To for a bare number points at: the carrier's. */
  private referHost(): string {
    if (this.origin.direction === 'outbound') return parseUri(this.origin.dial.trunk.uri).host;
    return this.origin.incoming.from.uri.host;
  }

  private sourceHost(): string {
    if (this.origin.direction === 'outbound') return parseUri(this.origin.dial.trunk.uri).host;
    const via = this.origin.incoming.request.headers.get('via');
    if (via === undefined) return '127.0.0.1';
    const received = /;\s*received=([^;\s,]+)/i.exec(via);
    if (received?.[1] !== undefined) return received[1];
    const sentBy = /^SIP\/2\.0\/\w+\s+(\[[^\]]+\]|[^:;\s]+)/i.exec(via);
    return sentBy?.[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1';
  }

  private party(): { from: string; to: string } {
    if (this.origin.direction === 'inbound') {
      const { incoming } = this.origin;
      return { from: incoming.from.uri.user ?? incoming.from.uri.host, to: incoming.to.uri.user ?? incoming.to.uri.host };
    }
    const { dial } = this.origin;
    return { from: dial.from ?? dial.trunk.fromNumber ?? 'trunkline', to: dial.to };
  }

  private partyMetadata(): Record<string, string> {
    const party = this.party();
    const metadata: Record<string, string> = { from: party.from, to: party.to, trunk: this.trunkName, direction: this.direction };
    if (this.origin.direction === 'inbound') {
      const { incoming } = this.origin;
      for (const name of ['P-Asserted-Identity', 'Diversion']) {
        const value = incoming.header(name);
        if (value !== undefined) metadata[name.toLowerCase()] = value;
      }
      for (const field of incoming.request.headers) {
        if (field.lname.startsWith('x-')) metadata[field.lname] = field.value;
      }
    }
    return metadata;
  }

  private botContext(): BotContext {
    return {
      callId: this.callId,
      metadata: { ...this.metadata },
      logger: this.log,
      clock: this.deps.clock,
      hangup: (reason) => {
        this.log.info({ reason }, 'bot asked to hang up');
        void this.hangup('bot-hangup');
      },
      transfer: (target) => {
        try {
          void this.transfer(target);
        } catch (err) {
          this.log.warn({ err, target }, 'bot transfer refused');
        }
      },
      sendDtmf: (digits) => {
        try {
          this.sendDtmf(digits);
        } catch (err) {
          this.log.warn({ err }, 'bot DTMF not sent');
        }
      },
    };
  }

  private noteStatus(status: number): void {
    if (status > 100) this.sipCodes.push(status);
    if (status >= 200) this.sipStatus = status;
  }

  private noteRinging(status: number): void {
    this.current = 'ringing';
    this.ringingAt = this.deps.clock.now();
    this.events.emit('ringing', { callId: this.callId, status });
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
    // RFC 4733 digits reach the bot inside its media host; SIP INFO digits are handed over here.
    if (source === 'info') this.host?.dtmfToBot(digit);
  }

  private onReinvite(offerSdp: string | undefined): string {
    const sdp = this.sdp;
    const port = this.host?.localPort;
    if (sdp === undefined || port === undefined) throw new SdpError(488, 304, 'Media type not available');
    const local = { address: this.deps.mediaAddress(this.sourceHost()), port, codecPreference: this.deps.config.rtp.codecPreference, rtcpMux: false };
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
    this.codecName = r.codec;
    // c=0.0.0.0 (RFC 2543 hold) or port 0: nowhere to send.
    const reachable = r.address !== '0.0.0.0' && r.address !== '::' && r.port !== 0;
    const remote: MediaRemoteSpec = {
      address: r.address,
      port: r.port,
      rtcpPort: r.rtcpPort,
      rtcpMux: r.rtcpMux,
      codec: r.codec,
      payloadType: r.payloadType,
      ...(r.dtmfPayloadType !== undefined ? { dtmfPayloadType: r.dtmfPayloadType } : {}),
      send: negotiated.send && reachable,
      receive: negotiated.receive,
    };
    this.host?.setRemote(remote);
  }

  /** Inbound only: the INVITE is refused with a status that says why. */
  private refuse(err: unknown): void {
    if (this.origin.direction !== 'inbound') {
      void this.finish('error');
      return;
    }
    const { incoming } = this.origin;
    let status: number;
    if (err instanceof SdpError) {
      this.log.info({ status: err.status, warning: err.warning }, 'offer refused');
      incoming.reject(err.status, undefined, { Warning: err.warning });
      status = err.status;
    } else if (err instanceof TrunklineError && err.sipStatus !== undefined) {
      this.log.warn({ code: err.code }, 'call refused');
      incoming.reject(err.sipStatus, undefined, err.sipStatus === 503 ? { 'Retry-After': '5' } : undefined);
      status = err.sipStatus;
    } else {
      this.log.error({ err }, 'call setup failed');
      status = 500;
      if (incoming.state === 'proceeding' || incoming.state === 'early') incoming.reject(500, 'Internal Server Error');
    }
    this.noteStatus(status);
    this.outcome = 'rejected';
    void this.finish('rejected');
  }

  /** Releases everything; idempotent. */
  private async finish(cause: EndCause): Promise<void> {
    if (this.ending) return this.closed;
    this.ending = true;
    this.cause = cause;
    this.outcome ??= this.answeredAt !== undefined ? 'answered' : 'failed';
    this.current = 'ended';
    this.endedAt = this.deps.clock.now();
    this.maxDurationTimer?.cancel();
    const host = this.host;
    if (host !== undefined) {
      // The host closes bot, recorder and media session (ports back to the pool); never rejects.
      try {
        this.finalStats = await host.close();
      } catch (err) {
        this.log.error({ err }, 'error while closing call resources');
      }
      this.finalLocalPort = host.localPort;
    }
    // The manager keeps ended calls for inspection: keep their figures, not their buffers (the
    // media session and bot hold ~25 KB each; 1,000 recent calls held 23 MB before this).
    this.host = undefined;
    const durationMs = this.answeredAt === undefined ? 0 : this.endedAt - this.answeredAt;
    this.log.info({ cause, outcome: this.outcome, sipStatus: this.sipStatus, durationMs: Math.round(durationMs) }, 'call ended');
    this.events.emit('ended', { callId: this.callId, cause, outcome: this.outcome, ...(this.sipStatus !== undefined ? { sipStatus: this.sipStatus } : {}), durationMs });
    this.events.clear();
    this.resolveClosed();
    return this.closed;
  }
}

/** A Call-ID as a file name: anything outside [A-Za-z0-9._-] becomes '_'. */
function safeFileName(callId: string): string {
  return callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
}
