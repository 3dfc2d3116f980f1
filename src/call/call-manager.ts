import type { IncomingCall } from '../sip/index.js';
import type { Logger } from '../shared/index.js';
import { Call, type CallDeps } from './call.js';
import type { CallRouter } from './router.js';

/** What the manager needs of the SIP user agent. */
export interface IncomingCallSource {
  onIncomingCall(handler: (call: IncomingCall) => void): void;
}

/**
 * The registry of live calls: admits or refuses each INVITE (capacity, draining), routes it to a
 * bot, keeps it by Call-ID until it has released everything, and drains on shutdown.
 */
export class CallManager {
  private readonly calls = new Map<string, Call>();
  private readonly log: Logger;
  private readonly callHandlers: ((call: Call) => void)[] = [];
  private draining = false;
  private totalCalls = 0;

  constructor(
    private readonly deps: CallDeps,
    private readonly router: CallRouter,
  ) {
    this.log = deps.logger;
  }

  attach(source: IncomingCallSource): void {
    source.onIncomingCall((incoming) => this.admit(incoming));
  }

  /** Called for every new call the manager accepts (the API and webhooks subscribe here). */
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

  get(callId: string): Call | undefined {
    return this.calls.get(callId);
  }

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
    const call = new Call(incoming, bot, this.deps);
    this.calls.set(call.callId, call);
    this.totalCalls++;
    void call.closed.then(() => this.calls.delete(call.callId));
    for (const handler of this.callHandlers) {
      try {
        handler(call);
      } catch (err) {
        this.log.error({ err }, 'onCall handler threw');
      }
    }
    call.accept().catch((err: unknown) => {
      this.log.error({ err, callId: call.callId }, 'call setup threw');
      void call.hangup('error', 500);
    });
  }

  /**
   * Shutdown (SIGTERM): new calls get 503; calls in progress may finish for `timeoutMs`; the rest
   * get BYE with a Reason header. Resolves when every call has released its resources.
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
    await Promise.all(this.list().map((c) => c.hangup('shutdown', 503)));
  }
}
