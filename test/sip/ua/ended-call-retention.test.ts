/**
 * What an ended call leaves behind in the SIP stack. RFC 3261 §17.2.1/§17.2.2 and RFC 6026 §7.1
 * keep a server transaction for 64*T1 after its final response (Timers L, J, H) to absorb
 * retransmissions; at hundreds of calls per second that window holds thousands of ended calls,
 * so the transaction must keep only what those timers need (its key and last response), never
 * the incoming call, its dialog, the application's listeners or the INVITE with its SDP.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/shared/clock.js';
import { DEFAULTS } from '../../../src/shared/config.js';
import type { TrunklineConfig } from '../../../src/shared/config.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { SipUserAgent } from '../../../src/sip/index.js';
import type { Dialog } from '../../../src/sip/index.js';
import { ANSWER, FakeTransport, inDialog, invite } from './fake-transport.js';

// A real GC even without --expose-gc (vitest's workers do not pass it), as test/e2e/call-churn does.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Several full collections with turns of the event loop between, so finalizers run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc();
    await flush();
  }
}

function config(): TrunklineConfig {
  return {
    ...DEFAULTS,
    sip: { ...DEFAULTS.sip, unknownSource: 'reject', sessionExpires: 1800, minSessionExpires: 90 },
    trunks: { inbound: [{ name: 'carrier', addresses: ['192.0.2.0/24'], allowRefer: true }], outbound: [] },
  };
}

const open: SipUserAgent[] = [];
afterEach(async () => {
  for (const ua of open.splice(0)) await ua.close();
});

async function start(): Promise<{ ua: SipUserAgent; clock: FakeClock; t: FakeTransport }> {
  const clock = new FakeClock();
  const t = new FakeTransport();
  const ua = new SipUserAgent({ config: config(), clock, logger: silentLogger(), transport: t, random: () => 0.5 });
  open.push(ua);
  await ua.start();
  return { ua, clock, t };
}

const CALLS = 30;

describe('ended calls in the SIP stack', () => {
  it('once BYE ends a call, its dialog, incoming call, INVITE and the app listeners are collectable while Timers L and J still run', async () => {
    const { ua, clock, t } = await start();
    const freed = { app: 0, incoming: 0, dialog: 0, invite: 0 };
    const registry = new FinalizationRegistry<keyof typeof freed>((what) => freed[what]++);
    const tags: string[] = [];
    ua.onIncomingCall((call) => {
      // Stands for the application's Call: what its listeners close over (media, bot).
      const app = { callId: call.callId, media: Buffer.alloc(16 * 1024) };
      call.onCancel(() => void app.media);
      const dialog: Dialog = call.answer(ANSWER);
      dialog.onAck(() => void app.media);
      dialog.onBye(() => void app.media);
      dialog.onReinvite(() => (app.media.length > 0 ? ANSWER : ''));
      dialog.onTerminated(() => void app.media);
      registry.register(app, 'app');
      registry.register(call, 'incoming');
      registry.register(dialog, 'dialog');
      registry.register(call.request, 'invite');
    });

    for (let i = 0; i < CALLS; i++) {
      const callId = `churn-${i}@192.0.2.10`;
      t.deliver(invite({ callId, branch: `z9hG4bK-inv-${i}` }));
      const ok = t.responses(200).at(-1);
      const tag = /tag=([^;>\s]+)/.exec(ok?.headers.get('to') ?? '')?.[1] ?? '';
      tags.push(tag);
      t.deliver(inDialog('ACK', tag, { cseq: 1, callId, branch: `z9hG4bK-ack-${i}` }));
      t.deliver(inDialog('BYE', tag, { cseq: 2, callId, branch: `z9hG4bK-bye-${i}` }));
      t.clear();
      clock.advance(10);
    }
    // Every call ended; each leaves its INVITE (Accepted, Timer L) and BYE (Completed, Timer J) transactions.
    expect(ua.stats).toEqual({ dialogs: 0, transactions: 2 * CALLS });

    await collect();
    expect(freed).toEqual({ app: CALLS, incoming: CALLS, dialog: CALLS, invite: CALLS });

    // What the transactions kept is enough for their job: a retransmitted BYE gets its 200 again (§17.2.2).
    t.deliver(inDialog('BYE', tags[0] ?? '', { cseq: 2, callId: 'churn-0@192.0.2.10', branch: 'z9hG4bK-bye-0' }));
    const again = t.responses(200);
    expect(again).toHaveLength(1);
    expect(again[0]?.headers.get('cseq')).toBe('2 BYE');
    expect(again[0]?.headers.get('call-id')).toBe('churn-0@192.0.2.10');

    // 64*T1 later the transactions are gone too.
    clock.advance(64 * 500);
    expect(ua.stats).toEqual({ dialogs: 0, transactions: 0 });
  });

  it('a CANCELled call is collectable while its INVITE transaction waits in Completed (Timer H)', async () => {
    const { ua, clock, t } = await start();
    const freed = { app: 0, incoming: 0 };
    const registry = new FinalizationRegistry<keyof typeof freed>((what) => freed[what]++);
    ua.onIncomingCall((call) => {
      const app = { media: Buffer.alloc(16 * 1024) };
      call.onCancel(() => void app.media);
      call.ringing();
      registry.register(app, 'app');
      registry.register(call, 'incoming');
    });
    for (let i = 0; i < CALLS; i++) {
      const callId = `cancel-${i}@192.0.2.10`;
      t.deliver(invite({ callId, branch: `z9hG4bK-c-${i}` }));
      t.deliver(
        [
          'CANCEL sip:bot@198.51.100.1:5080 SIP/2.0',
          `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c-${i}`,
          'Max-Forwards: 70',
          'From: "Alice" <sip:alice@192.0.2.10>;tag=alice1',
          'To: <sip:bot@198.51.100.1>',
          `Call-ID: ${callId}`,
          'CSeq: 1 CANCEL',
          '',
          '',
        ].join('\n'),
      );
      expect(t.responses(487)).toHaveLength(1);
      t.deliver(inDialog('ACK', /tag=([^;>\s]+)/.exec(t.responses(487)[0]?.headers.get('to') ?? '')?.[1] ?? '', { cseq: 1, callId, branch: `z9hG4bK-c-${i}` }));
      t.clear();
      clock.advance(10);
    }
    expect(ua.stats.dialogs).toBe(0);
    expect(ua.stats.transactions).toBeGreaterThan(0);
    await collect();
    expect(freed).toEqual({ app: CALLS, incoming: CALLS });
    clock.advance(64 * 500);
    expect(ua.stats.transactions).toBe(0);
  });

  it('a second bye() while our 2xx awaits its ACK joins the first; close() settles both and leaves no timer', async () => {
    const { ua, clock, t } = await start();
    let dialog: Dialog | undefined;
    ua.onIncomingCall((call) => (dialog = call.answer(ANSWER)));
    t.deliver(invite());
    if (dialog === undefined) throw new Error('no call');
    // §15: no BYE before the ACK. An RTP timeout hangs up first, then a shutdown drain does.
    const settled: string[] = [];
    void dialog.bye('SIP;cause=408;text="RTP timeout"').then(() => settled.push('first'));
    void dialog.bye('SIP;cause=503;text="Shutdown"').then(() => settled.push('second'));
    await flush();
    expect(settled).toEqual([]);
    expect(ua.stats.transactions).toBeGreaterThan(0);
    expect(clock.pendingCount()).toBeGreaterThan(0);
    await ua.close();
    await flush();
    expect(settled).toEqual(['first', 'second']);
    expect(ua.stats).toEqual({ dialogs: 0, transactions: 0 });
    expect(clock.pendingCount()).toBe(0);
  });

  it('when the ACK comes after two bye() calls, one BYE is sent, with the first reason', async () => {
    const { ua, clock, t } = await start();
    let dialog: Dialog | undefined;
    ua.onIncomingCall((call) => (dialog = call.answer(ANSWER)));
    t.deliver(invite());
    if (dialog === undefined) throw new Error('no call');
    const tag = /tag=([^;>\s]+)/.exec(t.responses(200).at(-1)?.headers.get('to') ?? '')?.[1] ?? '';
    const first = dialog.bye('SIP;cause=408;text="RTP timeout"');
    const second = dialog.bye('SIP;cause=503;text="Shutdown"');
    t.deliver(inDialog('ACK', tag, { cseq: 1, branch: 'z9hG4bK-ack1' }));
    await flush();
    const byes = t.requests('BYE');
    expect(byes).toHaveLength(1);
    expect(byes[0]?.headers.get('reason')).toBe('SIP;cause=408;text="RTP timeout"');
    // The peer never answers the BYE: both callers are released when its transaction times out (Timer F).
    clock.advance(64 * 500);
    await Promise.all([first, second]);
    // Timer E retransmitted that one BYE; no second BYE (another CSeq) was ever built.
    expect(new Set(t.requests('BYE').map((r) => r.headers.get('cseq')))).toEqual(new Set([byes[0]?.headers.get('cseq')]));
  });
});
