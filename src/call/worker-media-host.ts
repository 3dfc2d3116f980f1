import type { DtmfEvent, FrameInfo, MediaSessionStats, PlayoutPull } from '../rtp/index.js';
import { ERRORS, TrunklineError, type Clock, type ErrorCode, type TimerHandle } from '../shared/index.js';
import type { BridgeMedia } from './bridge.js';
import type { MediaHost, MediaHostInit, MediaRemoteSpec } from './media-host.js';
import type { FromWorker, SerializedError, ToWorker } from './media-worker-protocol.js';

/** The worker a host is pinned to, as the host sees it (WorkerPool provides it). */
export interface WorkerLink {
  readonly index: number;
  post(message: ToWorker): void;
  /** The host has closed: forget its session number. */
  release(sid: number): void;
}

const FRAME_MS = 20;
const FRAME_SAMPLES = 160;
/** Frames one pump tick may move (the bridge's relay holds 3). */
const PUMP_MAX_FRAMES = 3;
const RECEIVED: FrameInfo = { concealed: false, silent: false };

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

function deserializeError(e: SerializedError): Error {
  if (e.code !== undefined && e.code in ERRORS) {
    return new TrunklineError(e.code as ErrorCode);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/**
 * The main thread's proxy for a call's media and bot in a media worker: each MediaHost operation
 * becomes one control message to the worker, and the worker's replies and reports (opened, DTMF,
 * bot events and requests, stats, closed) come back through `handle()`. When the worker dies the
 * pool calls `fail()`: an open or a bot warm-up still pending rejects (the call refuses the INVITE
 * with 503), otherwise the call is told through `onFailed` and ends itself with BYE.
 */
export class WorkerMediaHost implements MediaHost {
  private port: number | undefined;
  private snapshot: MediaSessionStats | undefined;
  private opening: Pending<number> | undefined;
  private preparing: Pending<void> | undefined;
  private closing: Promise<MediaSessionStats | undefined> | undefined;
  private resolveClosed: ((stats: MediaSessionStats | undefined) => void) | undefined;
  private failure: string | undefined;
  private done = false;
  private readonly statsWaiters: ((stats: MediaSessionStats | undefined) => void)[] = [];
  // A bridged leg (detachForBridge): the bridge's handlers and the pump feeding the worker.
  private bridgeFrame: ((pcm: Int16Array, info: FrameInfo) => void) | undefined;
  private bridgeDtmf: ((event: DtmfEvent) => void) | undefined;
  private bridgeSource: PlayoutPull | null = null;
  private pump: TimerHandle | undefined;
  private pumpAt = 0;
  private readonly pumpFrame = new Int16Array(FRAME_SAMPLES);

  constructor(
    private readonly link: WorkerLink,
    readonly sid: number,
    private readonly init: MediaHostInit,
    private readonly clock: Clock,
  ) {}

  /** The worker this call is pinned to. */
  get workerIndex(): number {
    return this.link.index;
  }

  get localPort(): number | undefined {
    return this.port;
  }

  /** The worker's last snapshot: from 'opened', then with each load report, final after close. */
  get stats(): MediaSessionStats | undefined {
    return this.snapshot;
  }

  /** Asks the worker for fresh statistics and resolves with them. */
  refreshStats(): Promise<MediaSessionStats | undefined> {
    if (this.done || this.failure !== undefined) return Promise.resolve(this.snapshot);
    return new Promise((resolve) => {
      this.statsWaiters.push(resolve);
      this.link.post({ t: 'stats', sid: this.sid });
    });
  }

  open(): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failedError());
    const { init } = this;
    return new Promise<number>((resolve, reject) => {
      this.opening = { resolve, reject };
      this.link.post({
        t: 'open',
        sid: this.sid,
        callId: init.callId,
        botName: init.botName,
        metadata: { ...init.context.metadata },
        rtcpMux: init.rtcpMux,
        ...(init.recordPath !== undefined ? { recordPath: init.recordPath } : {}),
      });
    });
  }

  prepareBot(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failedError());
    return new Promise<void>((resolve, reject) => {
      this.preparing = { resolve, reject };
      this.link.post({ t: 'prepare', sid: this.sid });
    });
  }

  setRemote(remote: MediaRemoteSpec): void {
    this.post({ t: 'remote', sid: this.sid, remote });
  }

  start(): void {
    if (this.failure !== undefined) {
      // The worker died between warm-up and answer: the call ends as if it had died now.
      const reason = this.failure;
      queueMicrotask(() => this.init.onFailed(reason));
      return;
    }
    this.post({ t: 'start', sid: this.sid });
  }

  mute(): void {
    this.post({ t: 'mute', sid: this.sid });
  }

  sendDtmf(digit: string, durationMs?: number): void {
    this.post({ t: 'send-dtmf', sid: this.sid, digit, ...(durationMs !== undefined ? { durationMs } : {}) });
  }

  dtmfToBot(digit: string): void {
    this.post({ t: 'bot-dtmf', sid: this.sid, digit });
  }

  transferFailed(reason: string, status?: number): void {
    this.post({ t: 'transfer-failed', sid: this.sid, reason, ...(status !== undefined ? { status } : {}) });
  }

  /**
   * The bridge (src/call/bridge.ts) runs in the main thread and relays PCM between two legs. For a
   * leg in a worker, the worker's session hands each decoded frame over ('frame' messages → the
   * bridge's onFrame), and a 20 ms pump here pulls what the bridge has for this leg and posts it
   * to the worker's send queue (which absorbs the pump's timer jitter). The bot is closed.
   */
  detachForBridge(): BridgeMedia {
    this.post({ t: 'bridge', sid: this.sid });
    return {
      onFrame: (handler) => {
        this.bridgeFrame = handler;
      },
      onDtmf: (handler) => {
        this.bridgeDtmf = handler;
      },
      setPlayoutSource: (source) => this.setBridgeSource(source),
      clearPlayout: () => {
        this.post({ t: 'clear', sid: this.sid });
        return 0; // counted in the worker, not known here
      },
      sendDtmf: (digit, durationMs) => this.sendDtmf(digit, durationMs),
    };
  }

  private setBridgeSource(source: PlayoutPull | null): void {
    this.bridgeSource = source;
    if (source === null) {
      this.pump?.cancel();
      this.pump = undefined;
    } else if (this.pump === undefined) {
      this.pumpAt = this.clock.now();
      this.schedulePump();
    }
  }

  private schedulePump(): void {
    // Absolute deadlines (as the pacer does), so timer lateness does not accumulate.
    this.pumpAt += FRAME_MS;
    this.pump = this.clock.setTimeout(this.runPump, Math.max(0, this.pumpAt - this.clock.now()));
  }

  private readonly runPump = (): void => {
    this.pump = undefined;
    const source = this.bridgeSource;
    if (source === null || this.done || this.failure !== undefined) return;
    for (let i = 0; i < PUMP_MAX_FRAMES && source.pull(this.pumpFrame); i++) {
      // postMessage clones the frame at once: the scratch buffer is reused.
      this.link.post({ t: 'frame', sid: this.sid, pcm: this.pumpFrame });
    }
    // A stalled main thread skips ahead rather than bursting to catch up.
    if (this.clock.now() - this.pumpAt > 5 * FRAME_MS) this.pumpAt = this.clock.now();
    this.schedulePump();
  };

  close(): Promise<MediaSessionStats | undefined> {
    if (this.closing !== undefined) return this.closing;
    if (this.failure !== undefined || this.done) {
      this.closing = Promise.resolve(this.snapshot);
      this.finish();
      return this.closing;
    }
    this.closing = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.link.post({ t: 'close', sid: this.sid });
    return this.closing;
  }

  /** A message from the worker for this session. */
  handle(msg: FromWorker): void {
    switch (msg.t) {
      case 'opened':
        this.port = msg.localPort;
        this.snapshot = msg.stats;
        this.opening?.resolve(msg.localPort);
        this.opening = undefined;
        break;
      case 'open-failed':
        this.opening?.reject(deserializeError(msg.error));
        this.opening = undefined;
        break;
      case 'prepared':
        this.preparing?.resolve();
        this.preparing = undefined;
        break;
      case 'prepare-failed':
        this.preparing?.reject(deserializeError(msg.error));
        this.preparing = undefined;
        break;
      case 'dtmf':
        // A bridged leg's digits are the bridge's (regenerated on the other leg), as in-thread.
        if (this.bridgeDtmf !== undefined) this.bridgeDtmf({ digit: msg.digit, durationMs: msg.durationMs, endTimestamp: 0 });
        else this.init.onDtmf(msg.digit, msg.durationMs);
        break;
      case 'frame':
        this.bridgeFrame?.(msg.pcm, RECEIVED);
        break;
      case 'inactive':
        this.init.onInactive();
        break;
      case 'bot-event':
        this.init.onBotEvent(msg.event);
        break;
      case 'bot-hangup':
        this.init.context.hangup(msg.reason);
        break;
      case 'bot-transfer':
        this.init.context.transfer(msg.target);
        break;
      case 'bot-send-dtmf':
        this.init.context.sendDtmf?.(msg.digits);
        break;
      case 'stats':
        this.snapshot = msg.stats ?? this.snapshot;
        for (const w of this.statsWaiters.splice(0)) w(this.snapshot);
        break;
      case 'closed':
        this.snapshot = msg.stats ?? this.snapshot;
        this.finish();
        break;
      case 'ready':
      case 'load':
      case 'stats-batch':
      case 'log':
        break;
    }
  }

  /** The worker died (`notify` false: it was down before the call began). Idempotent. */
  fail(reason: string, notify = true): void {
    if (this.failure !== undefined || this.done) return;
    this.failure = reason;
    const setup = this.opening !== undefined || this.preparing !== undefined;
    this.opening?.reject(this.failedError());
    this.preparing?.reject(this.failedError());
    this.opening = undefined;
    this.preparing = undefined;
    if (this.closing !== undefined) {
      this.finish();
      return;
    }
    // During setup the call refuses the INVITE from the rejection; afterwards it must end itself.
    if (!setup && notify) this.init.onFailed(reason);
  }

  private failedError(): Error {
    // 503 + Retry-After for a call still being set up: another worker (or its replacement) can take it.
    return new TrunklineError('CAPACITY_NO_BOT', undefined, { cause: new Error(this.failure ?? 'media worker failed') });
  }

  private post(message: ToWorker): void {
    if (this.failure !== undefined || this.done) return;
    this.link.post(message);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.pump?.cancel();
    this.pump = undefined;
    for (const w of this.statsWaiters.splice(0)) w(this.snapshot);
    this.resolveClosed?.(this.snapshot);
    this.link.release(this.sid);
  }
}
