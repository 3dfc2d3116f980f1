/**
 * The user agent on a FakeClock over an in-memory transport, driven by SIP text. Timer values are
 * RFC 3261's defaults (T1 500 ms, T2 4 s) so the schedules below are the RFC's own numbers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/shared/clock.js';
import { DEFAULTS } from '../../../src/shared/config.js';
import type { TrunklineConfig } from '../../../src/shared/config.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { SdpError, SipUserAgent, parseCSeq } from '../../../src/sip/index.js';
import type { Dialog, IncomingCall, SipRequest, TerminationCause } from '../../../src/sip/index.js';
import { ANSWER, FakeTransport, OFFER, inDialog, invite } from './fake-transport.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function config(o: { unknownSource?: 'reject' | 'ignore'; addresses?: string[] } = {}): TrunklineConfig {
  return {
    ...DEFAULTS,
    sip: { ...DEFAULTS.sip, unknownSource: o.unknownSource ?? 'reject', sessionExpires: 1800, minSessionExpires: 90 },
    trunks: { inbound: [{ name: 'carrier', addresses: o.addresses ?? ['192.0.2.0/24'], allowRefer: true }], outbound: [] },
  };
}

interface Harness {
  ua: SipUserAgent;
  clock: FakeClock;
  t: FakeTransport;
  calls: IncomingCall[];
}

const open: SipUserAgent[] = [];
afterEach(async () => {
  for (const ua of open.splice(0)) await ua.close();
});

async function harness(o: { unknownSource?: 'reject' | 'ignore'; addresses?: string[]; random?: number; answer?: boolean } = {}): Promise<Harness> {
  const clock = new FakeClock();
  const t = new FakeTransport();
  const ua = new SipUserAgent({ config: config(o), clock, logger: silentLogger(), transport: t, random: () => o.random ?? 0.5 });
  open.push(ua);
  await ua.start();
  const calls: IncomingCall[] = [];
  ua.onIncomingCall((c) => {
    calls.push(c);
    if (o.answer === true) c.answer(ANSWER);
  });
  return { ua, clock, t, calls };
}

/** An answered inbound call (ACKed unless told not to); returns the dialog and our To tag. */
async function answered(h: Harness, o: { headers?: string[]; ack?: boolean } = {}): Promise<{ dialog: Dialog; tag: string }> {
  h.t.deliver(invite({ headers: o.headers ?? [] }));
  const call = h.calls.at(-1);
  if (call === undefined) throw new Error('no call offered');
  const dialog = call.answer(ANSWER);
  const ok = h.t.responses(200).at(-1);
  const tag = /tag=([^;>\s]+)/.exec(ok?.headers.get('to') ?? '')?.[1] ?? '';
  if (o.ack !== false) h.t.deliver(inDialog('ACK', tag, { cseq: 1, branch: 'z9hG4bK-ack1' }));
  await flush();
  h.t.clear();
  return { dialog, tag };
}

describe('SipUserAgent as UAS', () => {
  it('sends 100 Trying at once, then offers the call; 200 carries Contact, Allow, Supported and the answer', async () => {
    const h = await harness();
    h.t.deliver(invite());
    expect(h.t.responses(100)).toHaveLength(1);
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]?.remoteSdp).toContain('m=audio 30000');
    h.calls[0]?.answer(ANSWER);
    const ok = h.t.responses(200)[0];
    expect(ok?.headers.get('contact')).toBe('<sip:trunkline@198.51.100.1:5080>');
    expect(ok?.headers.getAll('allow')).toContain('UPDATE');
    expect(ok?.headers.getAll('supported')).toEqual(['timer', 'replaces']);
    expect(ok?.body.toString()).toContain('m=audio 40000');
    expect(ok?.headers.get('to')).toMatch(/;tag=\w+/);
  });

  it('retransmits the 2xx at T1, 2T1, 4T1, then every T2, and sends BYE after 64*T1 without ACK (§13.3.1.4)', async () => {
    const h = await harness();
    const { dialog } = await answered(h, { ack: false });
    let cause: TerminationCause | undefined;
    dialog.onTerminated((c) => (cause = c));
    const at: number[] = [];
    for (let ms = 0; ms <= 32_000; ms += 50) {
      h.clock.advance(50);
      const n = h.t.responses(200).length;
      if (n > at.length) at.push(h.clock.now());
    }
    // intervals 500, 1000, 2000, 4000, 4000, ... from the first send at 0.
    expect(at.slice(0, 6)).toEqual([500, 1500, 3500, 7500, 11500, 15500]);
    expect(at.every((v) => v < 32_000)).toBe(true);
    await flush();
    const bye = h.t.requests('BYE');
    expect(bye).toHaveLength(1);
    expect(cause).toBe('ack-timeout');
    expect(h.ua.stats.dialogs).toBe(0);
  });

  it('the ACK stops the 2xx retransmissions and confirms the dialog', async () => {
    const h = await harness();
    const { dialog } = await answered(h);
    h.clock.advance(40_000);
    expect(h.t.responses(200)).toHaveLength(0);
    expect(dialog.state).toBe('confirmed');
  });

  it('CANCEL: 200 to the CANCEL, 487 to the INVITE, onCancel fires', async () => {
    const h = await harness();
    h.t.deliver(invite());
    const call = h.calls[0]!;
    let cancelled = false;
    call.onCancel(() => (cancelled = true));
    call.ringing();
    h.t.deliver(
      [
        'CANCEL sip:bot@198.51.100.1:5080 SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv1',
        'Max-Forwards: 70',
        'From: "Alice" <sip:alice@192.0.2.10>;tag=alice1',
        'To: <sip:bot@198.51.100.1>',
        'Call-ID: call-1@192.0.2.10',
        'CSeq: 1 CANCEL',
        '',
        '',
      ].join('\n'),
    );
    expect(h.t.responses(200).map((r) => parseCSeq(r.headers.get('cseq') ?? '').method)).toEqual(['CANCEL']);
    expect(h.t.responses(487)).toHaveLength(1);
    expect(cancelled).toBe(true);
    expect(call.state).toBe('cancelled');
  });

  it('BYE from the peer: 200, onBye, terminated remote-bye; a later BYE gets 481', async () => {
    const h = await harness();
    const { dialog, tag } = await answered(h);
    const byes: SipRequest[] = [];
    dialog.onBye((r) => byes.push(r));
    h.t.deliver(inDialog('BYE', tag, { cseq: 2 }));
    expect(h.t.responses(200)).toHaveLength(1);
    expect(byes).toHaveLength(1);
    expect(dialog.state).toBe('terminated');
    h.t.deliver(inDialog('BYE', tag, { cseq: 3 }));
    expect(h.t.responses(481)).toHaveLength(1);
  });

  it('a request with a CSeq lower than the last gets 500 (§12.2.2)', async () => {
    const h = await harness();
    const { tag } = await answered(h);
    h.t.deliver(inDialog('INFO', tag, { cseq: 5 }));
    h.t.deliver(inDialog('INFO', tag, { cseq: 4 }));
    expect(h.t.responses().map((r) => r.status)).toEqual([200, 500]);
  });

  it('481 for an unknown dialog, 483 for Max-Forwards 0, 405 with Allow for REGISTER, 501 for an unknown method, 420 with Unsupported', async () => {
    const h = await harness();
    h.t.deliver(inDialog('BYE', 'nosuchtag', { cseq: 2 }));
    h.t.deliver(invite({ branch: 'z9hG4bK-mf', callId: 'mf@x', headers: [] }).replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    const reg = (m: string, extra: string[] = []): string =>
      [`${m} sip:198.51.100.1 SIP/2.0`, `Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-${m}`, 'Max-Forwards: 70', 'From: <sip:a@192.0.2.10>;tag=1', 'To: <sip:b@198.51.100.1>', `Call-ID: ${m}@x`, `CSeq: 1 ${m}`, ...extra, '', ''].join('\n');
    h.t.deliver(reg('REGISTER'));
    h.t.deliver(reg('FROBNICATE'));
    h.t.deliver(reg('OPTIONS', ['Require: 100rel, timer, foo']));
    const statuses = h.t.responses().filter((r) => r.status !== 100);
    expect(statuses.map((r) => r.status)).toEqual([481, 483, 405, 501, 420]);
    expect(statuses[2]?.headers.get('allow')).toContain('INVITE');
    expect(statuses[4]?.headers.getAll('unsupported')).toEqual(['100rel', 'foo']);
    expect(h.calls).toHaveLength(0);
  });

  it('OPTIONS outside a dialog: 200 with Allow, Accept: application/sdp, Supported: timer, replaces', async () => {
    const h = await harness();
    h.t.deliver(['OPTIONS sip:198.51.100.1 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-o', 'Max-Forwards: 70', 'From: <sip:a@192.0.2.10>;tag=1', 'To: <sip:b@198.51.100.1>', 'Call-ID: o@x', 'CSeq: 1 OPTIONS', '', ''].join('\n'));
    const r = h.t.responses(200)[0];
    expect(r?.headers.get('accept')).toBe('application/sdp');
    expect(r?.headers.getAll('supported')).toEqual(['timer', 'replaces']);
  });

  it('an unknown source gets 403 and never reaches the app; with unknownSource=ignore it gets nothing', async () => {
    const h = await harness({ addresses: ['203.0.113.0/24'] });
    h.t.deliver(invite());
    expect(h.t.responses().map((r) => r.status)).toEqual([403]);
    expect(h.calls).toHaveLength(0);
    const q = await harness({ addresses: ['203.0.113.0/24'], unknownSource: 'ignore' });
    q.t.deliver(invite());
    expect(q.t.sent).toHaveLength(0);
    expect(q.calls).toHaveLength(0);
  });

  it('SdpError from the app → 488 with the Warning', async () => {
    const h = await harness();
    h.t.deliver(invite());
    const e = new SdpError(488, 304, 'Media type not available');
    h.calls[0]?.reject(e.status, undefined, { Warning: e.warning });
    const r = h.t.responses(488)[0];
    expect(r?.headers.get('warning')).toMatch(/^304 trunkline "/);
  });

  it('delayed offer: our offer in the 200, the answer from the ACK reaches onAck and remoteSdp', async () => {
    const h = await harness();
    h.t.deliver(invite({ body: null }));
    const call = h.calls[0]!;
    expect(call.remoteSdp).toBeUndefined();
    const dialog = call.answer(ANSWER);
    let acked: string | undefined;
    dialog.onAck((sdp) => (acked = sdp));
    const tag = /tag=(\w+)/.exec(h.t.responses(200)[0]?.headers.get('to') ?? '')?.[1] ?? '';
    h.t.deliver(inDialog('ACK', tag, { cseq: 1, body: OFFER }));
    expect(acked).toContain('m=audio 30000');
    expect(dialog.remoteSdp).toBe(acked);
  });

  it('route set from Record-Route in order: our BYE goes to the first route with Route headers, Request-URI = Contact (§12.1.1, §12.2.1.1)', async () => {
    const h = await harness();
    const { dialog } = await answered(h, { headers: ['Record-Route: <sip:192.0.2.20;lr>, <sip:192.0.2.30;lr>'] });
    void dialog.bye();
    await flush();
    const sent = h.t.sent.find((s) => s.message.type === 'request' && s.message.method === 'BYE');
    expect(sent?.dest).toMatchObject({ host: '192.0.2.20', port: 5060 });
    const bye = sent?.message as SipRequest;
    expect(bye.rawUri).toBe('sip:alice@192.0.2.10:5060');
    expect(bye.headers.getAll('route')).toEqual(['<sip:192.0.2.20;lr>', '<sip:192.0.2.30;lr>']);
  });

  it('INFO application/dtmf-relay becomes a digit event', async () => {
    const h = await harness();
    const { dialog, tag } = await answered(h);
    const digits: string[] = [];
    dialog.onDtmf((d) => digits.push(`${d.digit}/${d.durationMs ?? '-'}`));
    h.t.deliver(inDialog('INFO', tag, { cseq: 2, body: 'Signal=5\nDuration=160\n', contentType: 'application/dtmf-relay' }));
    h.t.deliver(inDialog('INFO', tag, { cseq: 3, body: 'Signal=#\n', contentType: 'application/dtmf-relay' }));
    expect(digits).toEqual(['5/160', '#/-']);
    expect(h.t.responses(200)).toHaveLength(2);
  });

  it('REFER: refused 403 without a handler; accepted 202 + NOTIFY sipfrag when the app says so', async () => {
    const h = await harness();
    const { dialog, tag } = await answered(h);
    h.t.deliver(inDialog('REFER', tag, { cseq: 2, headers: ['Refer-To: <sip:+15550001@192.0.2.10>'] }));
    expect(h.t.responses(403)).toHaveLength(1);
    dialog.onRefer((_r, progress) => {
      setImmediate(() => progress.notify(200));
      return { accept: true };
    });
    h.t.deliver(inDialog('REFER', tag, { cseq: 3, headers: ['Refer-To: <sip:+15550001@192.0.2.10>'] }));
    expect(h.t.responses(202)).toHaveLength(1);
    await flush();
    await flush();
    const notifies = h.t.requests('NOTIFY');
    expect(notifies.map((n) => n.body.toString().trim())).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
    expect(notifies[0]?.headers.get('event')).toBe('refer;id=3');
    expect(notifies[1]?.headers.get('subscription-state')).toMatch(/^terminated/);
  });
});

describe('re-INVITE and glare (RFC 3261 §14)', () => {
  it('answers a re-INVITE through onReinvite and refreshes the remote target', async () => {
    const h = await harness();
    const { dialog, tag } = await answered(h);
    const offers: (string | undefined)[] = [];
    dialog.onReinvite((o) => {
      offers.push(o);
      return ANSWER;
    });
    h.t.deliver(inDialog('INVITE', tag, { cseq: 2, body: OFFER.replace('sendrecv', 'sendonly'), headers: [] }).replace('Contact: <sip:alice@192.0.2.10:5060>', 'Contact: <sip:alice@192.0.2.11:5070>'));
    expect(offers[0]).toContain('a=sendonly');
    expect(h.t.responses(200)).toHaveLength(1);
    h.t.deliver(inDialog('ACK', tag, { cseq: 2 }));
    void dialog.bye();
    await flush();
    expect(h.t.requests('BYE')[0]?.rawUri).toBe('sip:alice@192.0.2.11:5070');
  });

  it('an incoming re-INVITE while ours is pending gets 491; ours, refused with 491, is retried after the glare timer', async () => {
    const h = await harness({ random: 0.5 });
    const { dialog, tag } = await answered(h);
    const pending = dialog.reinvite(ANSWER);
    await flush();
    const ours = h.t.requests('INVITE');
    expect(ours).toHaveLength(1);
    h.t.deliver(inDialog('INVITE', tag, { cseq: 2, body: OFFER }));
    expect(h.t.responses(491)).toHaveLength(1);
    // The peer answers ours with 491 too.
    const our = ours[0]!;
    const resp491 = [
      'SIP/2.0 491 Request Pending',
      `Via: ${our.headers.get('via') ?? ''}`,
      `From: ${our.headers.get('from') ?? ''}`,
      `To: ${our.headers.get('to') ?? ''}`,
      `Call-ID: ${our.headers.get('call-id') ?? ''}`,
      `CSeq: ${our.headers.get('cseq') ?? ''}`,
      '',
      '',
    ].join('\n');
    h.t.deliver(resp491);
    await flush();
    h.t.clear();
    // We are the UAS of the dialog (not the Call-ID owner): T = 0..2 s in 10 ms units; random 0.5 → 1000 ms.
    h.clock.advance(990);
    await flush();
    expect(h.t.requests('INVITE')).toHaveLength(0);
    h.clock.advance(10);
    await flush();
    const retry = h.t.requests('INVITE')[0];
    expect(retry).toBeDefined();
    expect(parseCSeq(retry?.headers.get('cseq') ?? '').seq).toBeGreaterThan(parseCSeq(our.headers.get('cseq') ?? '').seq);
    // Answer the retry with 200; the promise resolves with the answer and an ACK is sent.
    h.t.deliver(
      [
        'SIP/2.0 200 OK',
        `Via: ${retry?.headers.get('via') ?? ''}`,
        `From: ${retry?.headers.get('from') ?? ''}`,
        `To: ${retry?.headers.get('to') ?? ''}`,
        `Call-ID: ${retry?.headers.get('call-id') ?? ''}`,
        `CSeq: ${retry?.headers.get('cseq') ?? ''}`,
        'Contact: <sip:alice@192.0.2.10:5060>',
        'Content-Type: application/sdp',
        '',
        OFFER,
      ].join('\n'),
    );
    await expect(pending).resolves.toContain('m=audio 30000');
    await flush();
    expect(h.t.requests('ACK')).toHaveLength(1);
  });

  it('a second re-INVITE before the ACK of the first gets 500 with Retry-After (§14.2)', async () => {
    const h = await harness();
    const { dialog, tag } = await answered(h);
    dialog.onReinvite(() => ANSWER);
    h.t.deliver(inDialog('INVITE', tag, { cseq: 2, body: OFFER }));
    h.t.deliver(inDialog('INVITE', tag, { cseq: 3, body: OFFER }));
    const r500 = h.t.responses(500)[0];
    expect(r500?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(r500?.headers.get('retry-after'))).toBeLessThanOrEqual(10);
  });
});

describe('session timers (RFC 4028)', () => {
  it('Session-Expires below our Min-SE with Supported: timer → 422 with Min-SE', async () => {
    const h = await harness();
    h.t.deliver(invite({ headers: ['Supported: timer', 'Session-Expires: 30'] }));
    const r = h.t.responses(422)[0];
    expect(r?.headers.get('min-se')).toBe('90');
    expect(h.calls).toHaveLength(0);
  });

  it('refresher=uas: we refresh at half the interval with UPDATE when the peer allows it', async () => {
    const h = await harness();
    const { dialog } = await answered(h, { headers: ['Supported: timer', 'Session-Expires: 120;refresher=uas', 'Allow: INVITE, ACK, BYE, CANCEL, UPDATE'] });
    expect(dialog.state).toBe('confirmed');
    h.clock.advance(59_999);
    await flush();
    expect(h.t.requests('UPDATE')).toHaveLength(0);
    h.clock.advance(1);
    await flush();
    const upd = h.t.requests('UPDATE')[0];
    expect(upd?.headers.get('session-expires')).toBe('120;refresher=uac');
    expect(upd?.body.length).toBe(0);
  });

  it('refresher=uas without UPDATE in Allow: the refresh is a re-INVITE with our last SDP', async () => {
    const h = await harness();
    await answered(h, { headers: ['Supported: timer', 'Session-Expires: 120;refresher=uas', 'Allow: INVITE, ACK, BYE, CANCEL'] });
    h.clock.advance(60_000);
    await flush();
    const reinv = h.t.requests('INVITE')[0];
    expect(reinv?.body.toString()).toBe(ANSWER);
  });

  it('refresher=uac and no refresh arrives: BYE at interval - min(32, interval/3)', async () => {
    const h = await harness();
    const { dialog } = await answered(h, { headers: ['Supported: timer', 'Session-Expires: 120;refresher=uac'] });
    let cause: TerminationCause | undefined;
    dialog.onTerminated((c) => (cause = c));
    h.clock.advance(88_000 - 1);
    await flush();
    expect(h.t.requests('BYE')).toHaveLength(0);
    h.clock.advance(1);
    await flush();
    expect(h.t.requests('BYE')).toHaveLength(1);
    expect(cause).toBe('session-expired');
  });

  it('a refresh from the peer restarts the expiry', async () => {
    const h = await harness();
    const { dialog, tag } = await answered(h, { headers: ['Supported: timer', 'Session-Expires: 120;refresher=uac'] });
    h.clock.advance(60_000);
    h.t.deliver(inDialog('UPDATE', tag, { cseq: 2, headers: ['Supported: timer', 'Session-Expires: 120;refresher=uac'] }));
    expect(h.t.responses(200)[0]?.headers.get('session-expires')).toBe('120;refresher=uac');
    h.clock.advance(60_000);
    await flush();
    expect(h.t.requests('BYE')).toHaveLength(0);
    expect(dialog.state).toBe('confirmed');
  });
});
