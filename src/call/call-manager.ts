import { randomUUID } from 'node:crypto';
import type { IncomingCall } from '../sip/index.js';
import { TrunklineError, type Logger } from '../shared/index.js';
import { Call, type CallDeps, type CallOptions, type ConsultDialRequest, type OutgoingCallSource } from './call.js';
import type { CallRouter } from './router.js';

/** What the manager needs of the SIP user agent. */
export interface IncomingCallSource {
  onIncomingCall(handler: (call: IncomingCall) => void): void;
}

/** A dial-out as the API asks for it; the manager checks it and resolves the trunk. */
export interface DialOptions {
  /** E.164 number (+15551234567) or sip:/sips: URI. */
  readonly to: string;
  /** E.164 number or SIP URI for From; default the trunk's fromNumber. */
  readonly from?: string;
  /** Outbound trunk name; default the first configured one. */
  readonly trunk?: string;
  /** Bot name; default the configured default bot. */
  readonly bot?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** X- headers only. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Seconds of ringing before we CANCEL (no-answer). Default 30. */
  readonly ringTimeoutSec?: number;
  /** Seconds the answered call may last. Default calls.maxDurationSec. */
  readonly maxDurationSec?: number;
}

/** How long an ended call stays visible (GET /v1/calls/:id answers, control answers 409). */
const RECENT_CALLS = 1000;
/** How long shutdown waits for hung-up calls to release everything (ms). */
const HANGUP_GRACE_MS = 3000;
const DEFAULT_RING_TIMEOUT_SEC = 30;
const NUMBER = /^\+?[0-9]{2,20}$/;
const SIP_URI = /^sips?:[^\s<>"]+$/i;

/**
 * The registry of live calls: admits or refuses each INVITE (capacity, draining), places calls
 * for the API, routes each to a bot, keeps it by id until it has released everything (then a
 * bounded number of ended calls for inspection), and drains on shutdown.
 */
export class CallManager {
  private readonly calls = new Map<string, Call>();
  private readonly recent = new Map<string, Call>();
  private readonly log: Logger;
  private readonly callHandlers: ((call: Call) => void)[] = [];
  private outgoing: OutgoingCallSource | undefined;
  private draining = false;
  private totalCalls = 0;
  /** The deps every call gets: the server's, plus a way to place a transfer's consult leg. */
  private readonly callDeps: CallDeps;

  constructor(
    private readonly deps: CallDeps,
    private readonly router: CallRouter,
    /** Bot names this build can run (dial-out checks the request against them). */
    private readonly knownBots: readonly string[] = ['demo', 'echo'],
  ) {
    this.log = deps.logger;
    this.callDeps = { ...deps, dialConsult: (request) => this.dialConsult(request) };
  }

  /** Takes inbound calls from the user agent, and uses it for dial-out when it can place calls. */
  attach(source: IncomingCallSource & Partial<OutgoingCallSource>): void {
    source.onIncomingCall((incoming) => this.admit(incoming));
    if (typeof source.invite === 'function') this.outgoing = source as OutgoingCallSource;
  }

  /** Called for every new call, inbound or outbound (the API, metrics and webhooks subscribe here). */
  onCall(handler: (call: Call) => void): void {
    this.callHandlers.push(handler);
  }

  get active(): number {
    return this.calls.size;
  }

  get total(): number {
    return this.totalCalls;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** A live call, or one of the last ended ones. */
  get(callId: string): Call | undefined {
    return this.calls.get(callId) ?? this.recent.get(callId);
  }

  /** Live calls. */
  list(): Call[] {
    return [...this.calls.values()];
  }

  admit(incoming: IncomingCall): void {
    if (this.draining) {
      incoming.reject(503, 'Service Unavailable', { 'Retry-After': '30', Reason: 'Q.850;cause=41;text="draining"' });
      return;
    }
    if (this.calls.size >= this.deps.config.calls.maxConcurrent) {
      this.log.warn({ active: this.calls.size }, 'maximum concurrent calls reached; refusing');
      incoming.reject(503, 'Service Unavailable', { 'Retry-After': '5' });
      return;
    }
    if (this.calls.has(incoming.callId)) {
      // A second INVITE with the same Call-ID and a new branch is a new transaction, not a new call.
      incoming.reject(482, 'Loop Detected');
      return;
    }
    const bot = this.router.route({
      trunk: incoming.trunk.name,
      to: incoming.to.uri.user ?? incoming.request.uri.user ?? '',
      header: (name) => incoming.header(name),
    });
    this.register(new Call({ direction: 'inbound', incoming }, bot, this.callDeps));
  }

  /**
   * Places a call (dial-out). Checks everything the caller can get wrong before anything is
   * allocated — throws TrunklineError (TRUNK_UNKNOWN, NUMBER_INVALID, BOT_UNKNOWN, capacity) —
   * then returns the call in state `dialing`; its outcome arrives through its events.
   */
  dial(options: DialOptions): Call {
    const bot = options.bot ?? this.deps.config.bot;
    if (!this.knownBots.includes(bot)) throw new TrunklineError('BOT_UNKNOWN', bot);
    return this.place(options, bot, {});
  }

  /**
   * Places the consult leg of an attended or bridged transfer (RFC 5589 §7): a dial-out like any
   * other (same checks, capacity, webhooks, GET /v1/calls), with the transfer's own bot.
   */
  dialConsult(request: ConsultDialRequest): Call {
    return this.place({ to: request.to, ...(request.trunk !== undefined ? { trunk: request.trunk } : {}), metadata: request.metadata }, 'consult', { createBot: request.createBot });
  }

  private place(options: DialOptions, bot: string, extra: Pick<CallOptions, 'createBot'>): Call {
    if (this.draining) throw new TrunklineError('CAPACITY_DRAINING');
    if (this.calls.size >= this.deps.config.calls.maxConcurrent) throw new TrunklineError('CAPACITY_MAX_CALLS');
    const ua = this.outgoing;
    if (ua === undefined) throw new TrunklineError('TRUNK_UNKNOWN', '(no SIP user agent can place calls)');
    const trunks = this.deps.config.trunks.outbound;
    const trunk = options.trunk === undefined ? trunks[0] : trunks.find((t) => t.name === options.trunk);
    if (trunk === undefined) throw new TrunklineError('TRUNK_UNKNOWN', options.trunk ?? '(none configured)');
    if (!NUMBER.test(options.to) && !SIP_URI.test(options.to)) throw new TrunklineError('NUMBER_INVALID', options.to);
    if (options.from !== undefined && !NUMBER.test(options.from) && !SIP_URI.test(options.from)) throw new TrunklineError('NUMBER_INVALID', options.from);
    const call = new Call(
      {
        direction: 'outbound',
        id: randomUUID(),
        ua,
        dial: {
          trunk,
          to: options.to,
          ...(options.from !== undefined ? { from: options.from } : {}),
          ...(options.headers !== undefined ? { headers: options.headers } : {}),
          ringTimeoutMs: (options.ringTimeoutSec ?? DEFAULT_RING_TIMEOUT_SEC) * 1000,
        },
      },
      bot,
      this.callDeps,
      {
        ...extra,
        ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
        ...(options.maxDurationSec !== undefined ? { maxDurationSec: options.maxDurationSec } : {}),
      },
    );
    this.register(call);
    return call;
  }

  private register(call: Call): void {
    this.calls.set(call.callId, call);
    this.totalCalls++;
    void call.closed.then(() => {
      this.calls.delete(call.callId);
      this.recent.set(call.callId, call);
      if (this.recent.size > RECENT_CALLS) {
        const oldest = this.recent.keys().next().value;
        if (oldest !== undefined) this.recent.delete(oldest);
      }
    });
    for (const handler of this.callHandlers) {
      try {
        handler(call);
      } catch (err) {
        this.log.error({ err }, 'onCall handler threw');
      }
    }
    call.start().catch((err: unknown) => {
      this.log.error({ err, callId: call.callId }, 'call setup threw');
      void call.hangup('error', 500);
    });
  }

  /**
   * Shutdown (SIGTERM): new calls get 503; calls in progress may finish for `timeoutMs`; the rest
   * get BYE with a Reason header (or CANCEL while dialing). Resolves when every call has released
   * its resources, or after HANGUP_GRACE_MS more: a callee "MUST NOT send a BYE on a confirmed
   * dialog until it has received an ACK for its 2xx" (RFC 3261 §15), and after an overload the
   * ACK may never come (64*T1 = 32 s). Closing the user agent then ends those dialogs locally.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.calls.size > 0) {
      this.log.info({ active: this.calls.size, timeoutMs }, 'draining calls');
      const all = Promise.all(this.list().map((c) => c.closed));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    const hangups = Promise.all(this.list().map((c) => c.hangup('shutdown', 503)));
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([hangups, new Promise<void>((resolve) => (grace = setTimeout(resolve, HANGUP_GRACE_MS)))]);
    clearTimeout(grace);
    if (this.calls.size > 0) this.log.warn({ active: this.calls.size }, 'calls still ending after the hang-up grace (no ACK for our 2xx?): closing anyway');
  }
}
