import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock, Logger, TimerHandle } from '../shared/index.js';

/**
 * Signed webhooks. Each call event is POSTed as JSON with
 * `Trunkline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`
 * (the scheme Stripe popularised: the timestamp is inside the MAC, so a receiver that also checks
 * it is recent rejects replays). Delivery is ordered per call and URL; timeouts, network errors,
 * 429 and 5xx are retried a bounded number of times with exponential backoff; other 4xx are final.
 */

export const SIGNATURE_HEADER = 'Trunkline-Signature';

export type WebhookEventType = 'call.ringing' | 'call.answered' | 'call.ended' | 'call.transfer' | 'call.dtmf' | 'call.transcript';

export interface WebhookEvent {
  /** Unique per event: receivers deduplicate retried deliveries on it. */
  readonly id: string;
  readonly type: WebhookEventType;
  /** ISO 8601 wall-clock time the event happened. */
  readonly createdAt: string;
  readonly callId: string;
  /** Position of the event in its call's sequence, from 1. */
  readonly sequence: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The header value for `body` signed at `unixSeconds`. */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

export type SignatureVerdict = 'ok' | 'malformed' | 'mismatch' | 'stale';

/**
 * Checks a Trunkline-Signature header against the raw body: the MAC (constant-time) and that `t`
 * is within `toleranceSec` of `nowSeconds` (a replayed old delivery is `stale`). Any `v1=` entry
 * may match (room for secret rotation).
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string, nowSeconds: number, toleranceSec = 300): SignatureVerdict {
  if (header === undefined) return 'malformed';
  let t: number | undefined;
  const macs: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v !== undefined && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v)) macs.push(v);
  }
  if (t === undefined || macs.length === 0) return 'malformed';
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const matched = macs.some((m) => timingSafeEqual(Buffer.from(m), expected));
  if (!matched) return 'mismatch';
  return Math.abs(nowSeconds - t) > toleranceSec ? 'stale' : 'ok';
}

export interface WebhookSenderOptions {
  readonly secret: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Per attempt (ms). Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts per event, the first included. Default 4. */
  readonly maxAttempts?: number;
  /** Delay before the second attempt (ms); doubles each time. Default 500. */
  readonly backoffMs?: number;
  /** Wall clock in ms for the signature timestamp and createdAt. Default Date.now. */
  readonly wallNow?: () => number;
  /** Default globalThis.fetch; tests pass their own. */
  readonly fetch?: typeof fetch;
  /** Told about every delivery's end (metrics). */
  readonly onResult?: (result: 'delivered' | 'failed', attempts: number) => void;
}

/** Why an attempt failed: retry these, give up on the rest. */
function retryable(status: number | 'timeout' | 'network'): boolean {
  return status === 'timeout' || status === 'network' || status === 429 || (typeof status === 'number' && status >= 500);
}

/**
 * Posts events to webhook URLs. One ordered queue per (call, URL): a slow or retried event holds
 * back the next one of that call, so a receiver sees ringing → answered → ended in order.
 * `close()` cancels retries and in-flight requests; `idle()` waits for every queue to empty.
 */
export class WebhookSender {
  private readonly queues = new Map<string, Promise<void>>();
  /** Backoff waits: cancelled and resolved by close() so every queue unwinds. */
  private readonly timers = new Map<TimerHandle, () => void>();
  private readonly inflight = new Set<AbortController>();
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly wallNow: () => number;
  private readonly doFetch: typeof fetch;
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
    this.wallNow = options.wallNow ?? Date.now;
    this.doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Builds an event stamped now. */
  event(type: WebhookEventType, callId: string, sequence: number, data: Record<string, unknown>): WebhookEvent {
    return { id: randomUUID(), type, createdAt: new Date(this.wallNow()).toISOString(), callId, sequence, data };
  }

  /** Queues `event` for `url` behind the call's earlier events to that URL. */
  send(url: string, event: WebhookEvent): Promise<void> {
    if (this.closed) return Promise.resolve();
    const key = `${event.callId} ${url}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.deliver(url, event));
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  /** Resolves once nothing is queued (bounded by the callers' own timeouts). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  close(): void {
    this.closed = true;
    for (const [t, wake] of this.timers) {
      t.cancel();
      wake();
    }
    this.timers.clear();
    for (const c of this.inflight) c.abort();
    this.inflight.clear();
  }

  private async deliver(url: string, event: WebhookEvent): Promise<void> {
    const body = JSON.stringify(event);
    const log = this.options.logger;
    for (let attempt = 1; attempt <= this.maxAttempts && !this.closed; attempt++) {
      const outcome = await this.attempt(url, body);
      if (outcome === 'ok') {
        this.options.onResult?.('delivered', attempt);
        return;
      }
      const last = attempt === this.maxAttempts || !retryable(outcome) || this.closed;
      log.warn({ url, type: event.type, callId: event.callId, attempt, outcome, giveUp: last }, 'webhook delivery failed');
      if (last) break;
      await this.sleep(this.backoffMs * 2 ** (attempt - 1));
    }
    this.options.onResult?.('failed', this.maxAttempts);
  }

  /** One POST: 'ok' for 2xx, else the status or what went wrong. */
  private async attempt(url: string, body: string): Promise<'ok' | number | 'timeout' | 'network'> {
    const controller = new AbortController();
    this.inflight.add(controller);
    let timedOut = false;
    const timer = this.options.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      const res = await this.doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Trunkline-Webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(this.options.secret, body, this.wallNow() / 1000),
        },
        body,
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? 'ok' : res.status;
    } catch {
      return timedOut ? 'timeout' : 'network';
    } finally {
      timer.cancel();
      this.inflight.delete(controller);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.options.clock.setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }
}
