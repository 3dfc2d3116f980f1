/**
 * Webhook signing and delivery: the signature against a vector computed with openssl, a receiver
 * that verifies it and rejects a tampered body or a replayed (stale) delivery, bounded retries
 * with backoff on 5xx and timeouts (FakeClock), no retry on 4xx, per-call ordering.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSender, signWebhook, verifyWebhookSignature } from '../../src/api/index.js';
import { FakeClock, silentLogger } from '../../src/shared/index.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'whsec-test-0123456789';

describe('Trunkline-Signature', () => {
  // printf '1700000000.{"id":"e1","type":"call.ended"}' | openssl dgst -sha256 -hmac 'whsec-test-0123456789'
  const body = '{"id":"e1","type":"call.ended"}';
  const vector = 't=1700000000,v1=5b8918bb7757ea111f03b44794d4c3513b9f33d74b7e59433e6986444f12bb8a';

  it('is t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>', () => {
    expect(signWebhook(SECRET, body, 1_700_000_000.9)).toBe(vector);
  });

  it('verifies, and rejects a tampered body, a wrong secret, a replay and malformed headers', () => {
    const now = 1_700_000_010;
    expect(verifyWebhookSignature(SECRET, vector, body, now)).toBe('ok');
    expect(verifyWebhookSignature(SECRET, vector, body.replace('ended', 'answered'), now)).toBe('mismatch');
    expect(verifyWebhookSignature('another-secret-0123456789', vector, body, now)).toBe('mismatch');
    // The timestamp is inside the MAC: changing it to look fresh breaks the signature.
    expect(verifyWebhookSignature(SECRET, vector.replace('1700000000', '1700000600'), body, 1_700_000_600)).toBe('mismatch');
    expect(verifyWebhookSignature(SECRET, vector, body, now + 301)).toBe('stale');
    expect(verifyWebhookSignature(SECRET, undefined, body, now)).toBe('malformed');
    expect(verifyWebhookSignature(SECRET, 'v1=abc', body, now)).toBe('malformed');
    expect(verifyWebhookSignature(SECRET, 't=1700000000', body, now)).toBe('malformed');
    // Several v1 entries (secret rotation): any match is enough.
    const other = signWebhook('old-secret-0123456789', body, 1_700_000_000).split(',')[1] ?? '';
    expect(verifyWebhookSignature(SECRET, `${vector},${other}`, body, now)).toBe('ok');
  });
});

describe('WebhookSender', () => {
  let receiver: WebhookReceiver | undefined;
  let sender: WebhookSender | undefined;
  afterEach(async () => {
    sender?.close();
    await receiver?.close();
    receiver = undefined;
    sender = undefined;
  });

  /** Lets real I/O (the loopback HTTP exchange) happen between fake-clock steps. */
  const io = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
  /** Waits (real time, bounded) until `cond` holds: the loopback exchange may be slow on a loaded machine. */
  const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('posts signed JSON the receiver accepts; a tampered delivery is rejected', async () => {
    receiver = await startWebhookReceiver(SECRET);
    const clock = new FakeClock();
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger() });
    await sender.send(receiver.url, sender.event('call.answered', 'c1', 1, { direction: 'outbound' }));
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0]).toMatchObject({ type: 'call.answered', callId: 'c1', sequence: 1, data: { direction: 'outbound' } });
    expect(receiver.deliveries[0]?.verdict).toBe('ok');

    // Same signature, altered body: the receiver answers 401 and keeps nothing.
    const good = receiver.deliveries[0]?.body ?? '';
    const signature = signWebhook(SECRET, good, Date.now() / 1000);
    const res = await fetch(receiver.url, { method: 'POST', headers: { 'Trunkline-Signature': signature }, body: good.replace('answered', 'ended') });
    expect(res.status).toBe(401);
    expect(receiver.deliveries.at(-1)?.verdict).toBe('mismatch');
    expect(receiver.events).toHaveLength(1);
  });

  it('retries 5xx with exponential backoff (500 ms, 1 s) and then delivers', async () => {
    receiver = await startWebhookReceiver(SECRET);
    receiver.failNext(503, 2);
    const clock = new FakeClock();
    const results: string[] = [];
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger(), onResult: (r, n) => results.push(`${r}:${n}`) });
    const done = sender.send(receiver.url, sender.event('call.ended', 'c2', 1, {}));
    // The sender has seen the 503 once its backoff timer (now + 500 ms) is the next deadline.
    await until(() => receiver!.deliveries.length === 1 && clock.nextDeadline() === clock.now() + 500);
    expect(receiver.deliveries.map((d) => d.status)).toEqual([503]);
    clock.advance(499);
    await io();
    expect(receiver.deliveries).toHaveLength(1); // not before the backoff
    clock.advance(1);
    await until(() => receiver!.deliveries.length === 2 && clock.nextDeadline() === clock.now() + 1000);
    expect(receiver.deliveries.map((d) => d.status)).toEqual([503, 503]);
    clock.advance(999);
    await io();
    expect(receiver.deliveries).toHaveLength(2);
    clock.advance(1);
    await done;
    expect(receiver.deliveries.map((d) => d.status)).toEqual([503, 503, 200]);
    expect(results).toEqual(['delivered:3']);
  });

  it('gives up after maxAttempts', async () => {
    receiver = await startWebhookReceiver(SECRET);
    receiver.failNext(500, 10);
    const clock = new FakeClock();
    const results: string[] = [];
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger(), maxAttempts: 3, backoffMs: 100, onResult: (r) => results.push(r) });
    const done = sender.send(receiver.url, sender.event('call.ended', 'c3', 1, {}));
    for (let attempt = 1; attempt < 3; attempt++) {
      const backoff = 100 * 2 ** (attempt - 1);
      await until(() => receiver!.deliveries.length === attempt && clock.nextDeadline() === clock.now() + backoff);
      clock.advance(backoff);
    }
    await done;
    expect(receiver.deliveries).toHaveLength(3);
    expect(results).toEqual(['failed']);
  });

  it('does not retry a 4xx other than 429', async () => {
    receiver = await startWebhookReceiver(SECRET);
    receiver.failNext(410, 5);
    const clock = new FakeClock();
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger() });
    await sender.send(receiver.url, sender.event('call.ended', 'c4', 1, {}));
    expect(receiver.deliveries).toHaveLength(1);
  });

  it('times out a receiver that never answers, then retries', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const hanging: typeof fetch = (_url, init) => {
      calls++;
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      });
    };
    const results: string[] = [];
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger(), fetch: hanging, timeoutMs: 2000, maxAttempts: 2, backoffMs: 100, onResult: (r) => results.push(r) });
    const done = sender.send('http://127.0.0.1:1/never', sender.event('call.ringing', 'c5', 1, {}));
    await io();
    expect(calls).toBe(1);
    clock.advance(2000); // attempt 1 times out
    await io();
    clock.advance(100); // backoff
    await io();
    expect(calls).toBe(2);
    clock.advance(2000);
    await done;
    expect(results).toEqual(['failed']);
  });

  it('keeps a call’s events in order behind a retried one', async () => {
    receiver = await startWebhookReceiver(SECRET);
    receiver.failNext(502, 1);
    const clock = new FakeClock();
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger(), backoffMs: 50 });
    const a = sender.send(receiver.url, sender.event('call.ringing', 'c6', 1, {}));
    const b = sender.send(receiver.url, sender.event('call.answered', 'c6', 2, {}));
    await until(() => receiver!.deliveries.length === 1 && clock.nextDeadline() === clock.now() + 50);
    clock.advance(50);
    await Promise.all([a, b]);
    expect(receiver.events.map((e) => e.type)).toEqual(['call.ringing', 'call.answered']);
  });

  it('close() stops retries and lets pending sends settle', async () => {
    receiver = await startWebhookReceiver(SECRET);
    receiver.failNext(503, 10);
    const clock = new FakeClock();
    sender = new WebhookSender({ secret: SECRET, clock, logger: silentLogger() });
    const done = sender.send(receiver.url, sender.event('call.ended', 'c7', 1, {}));
    await until(() => receiver!.deliveries.length === 1);
    sender.close();
    await done;
    await sender.idle();
    expect(receiver.deliveries).toHaveLength(1);
    expect(clock.pendingCount()).toBe(0);
  });
});
