import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/shared/clock.js';
import { parseUri, createResponse, createRequest } from '../../../src/sip/message/index.js';
import {
  InviteServerSession,
  RouteSet,
  SessionTimer,
  glareRetryDelayMs,
  negotiateAsUas,
  negotiateAsUac,
  parseDtmfInfo,
  parseSessionExpires,
  parseSipfragStatus,
} from '../../../src/sip/dialog/index.js';
import { createHeaders } from '../../../src/sip/message/index.js';

describe('RouteSet (RFC 3261 §12.1, §12.2.1.1)', () => {
  const target = parseUri('sip:bob@192.0.2.4:5070');
  it('UAS keeps Record-Route order, UAC reverses it; loose routing keeps the target as Request-URI', () => {
    const rr = ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'];
    const uas = RouteSet.fromRecordRoute(rr, 'uas').apply(target);
    expect(uas.route).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(uas.requestUri).toBe(target);
    expect(uas.nextHop.host).toBe('p1.example.com');
    const uac = RouteSet.fromRecordRoute(rr, 'uac').apply(target);
    expect(uac.route).toEqual(['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    expect(uac.nextHop.host).toBe('p2.example.com');
  });
  it('strict routing: first route in the Request-URI, the remote target last in Route', () => {
    const r = RouteSet.fromRecordRoute(['<sip:strict.example.com>', '<sip:p2.example.com;lr>'], 'uas').apply(target);
    expect(r.requestUri.host).toBe('strict.example.com');
    expect(r.route).toEqual(['<sip:p2.example.com;lr>', '<sip:bob@192.0.2.4:5070>']);
  });
  it('empty route set: no Route, Request-URI = remote target', () => {
    const r = RouteSet.EMPTY.apply(target);
    expect(r.route).toEqual([]);
    expect(r.nextHop).toBe(target);
  });
});

describe('glare back-off (RFC 3261 §14.1)', () => {
  it('owner of the Call-ID: 2.1..4 s; otherwise 0..2 s; in 10 ms units', () => {
    expect(glareRetryDelayMs(true, () => 0)).toBe(2100);
    expect(glareRetryDelayMs(true, () => 0.999999)).toBe(4000);
    expect(glareRetryDelayMs(false, () => 0)).toBe(0);
    expect(glareRetryDelayMs(false, () => 0.999999)).toBe(2000);
    for (let i = 0; i < 50; i++) expect(glareRetryDelayMs(i % 2 === 0, Math.random) % 10).toBe(0);
  });
});

describe('session timer negotiation (RFC 4028 §9, §7.2)', () => {
  const settings = { sessionExpires: 1800, minSE: 90 };
  const h = (...pairs: [string, string][]) => createHeaders(pairs);
  it('422 when below Min-SE and the UAC supports timer; raised to Min-SE when it does not', () => {
    expect(negotiateAsUas(h(['Supported', 'timer'], ['Session-Expires', '60']), settings)).toEqual({ kind: 'reject', minSE: 90 });
    const n = negotiateAsUas(h(['Session-Expires', '60']), settings);
    expect(n.kind === 'timer' && n.interval).toBe(90);
    expect(n.kind === 'timer' && n.weRefresh).toBe(true);
  });
  it('refresher absent + UAC supports timer → uac with Require: timer; uas → we refresh', () => {
    const a = negotiateAsUas(h(['Supported', 'timer'], ['Session-Expires', '600']), settings);
    expect(a).toEqual({ kind: 'timer', interval: 600, weRefresh: false, responseHeaders: [['Session-Expires', '600;refresher=uac'], ['Require', 'timer']] });
    const b = negotiateAsUas(h(['Supported', 'timer'], ['Session-Expires', '600;refresher=uas']), settings);
    expect(b.kind === 'timer' && b.weRefresh).toBe(true);
  });
  it('long intervals are reduced to ours; no timer without support or Session-Expires', () => {
    const a = negotiateAsUas(h(['Supported', 'timer'], ['Session-Expires', '7200']), settings);
    expect(a.kind === 'timer' && a.interval).toBe(1800);
    expect(negotiateAsUas(h(), settings)).toEqual({ kind: 'none' });
  });
  it('UAC reads the 2xx', () => {
    expect(negotiateAsUac(h(['Session-Expires', '300;refresher=uac']))).toEqual({ interval: 300, weRefresh: true });
    expect(negotiateAsUac(h(['Session-Expires', '300;refresher=uas']))).toEqual({ interval: 300, weRefresh: false });
    expect(negotiateAsUac(h())).toBeUndefined();
    expect(parseSessionExpires('4;refresher=UAS')).toEqual({ interval: 4, refresher: 'uas' });
  });
  it('SessionTimer: refresh at half, expiry as non-refresher at interval - min(32, interval/3)', () => {
    const clock = new FakeClock();
    const events: string[] = [];
    const t = new SessionTimer(clock, () => events.push(`refresh@${clock.now()}`), () => events.push(`expire@${clock.now()}`));
    t.start(90, true);
    clock.advance(90_000);
    expect(events).toEqual(['refresh@45000', 'expire@90000']);
    events.length = 0;
    t.start(90, false);
    clock.advance(100_000);
    expect(events).toEqual(['expire@150000']);
    t.stop();
  });
});

describe('InviteServerSession (§13.3.1.4)', () => {
  it('T1, 2T1, 4T1 ... capped at T2, gives up at 64*T1; an ACK stops it', () => {
    const clock = new FakeClock();
    const req = createRequest({ method: 'INVITE', uri: 'sip:a@b', headers: [['Via', 'SIP/2.0/UDP h;branch=z9hG4bK1'], ['From', '<sip:x@y>;tag=1'], ['To', '<sip:a@b>'], ['Call-ID', 'c'], ['CSeq', '1 INVITE']] });
    const res = createResponse(req, 200, undefined, { toTag: 't' });
    const sent: number[] = [];
    let timedOut = -1;
    const s = new InviteServerSession(1, res, clock, { t1: 500, t2: 4000, t4: 5000 }, () => sent.push(clock.now()), () => (timedOut = clock.now()));
    clock.advance(40_000);
    expect(sent.slice(0, 5)).toEqual([500, 1500, 3500, 7500, 11500]);
    expect(timedOut).toBe(32_000);
    expect(s.state).toBe('timed-out');
    const s2 = new InviteServerSession(1, res, clock, { t1: 500, t2: 4000, t4: 5000 }, () => sent.push(-1), () => undefined);
    expect(s2.ack()).toBe(true);
    expect(s2.ack()).toBe(false);
    clock.advance(40_000);
    expect(sent).not.toContain(-1);
  });
});

describe('INFO and sipfrag bodies', () => {
  it('dtmf-relay and dtmf', () => {
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=1\r\nDuration=250\r\n')).toEqual({ digit: '1', durationMs: 250 });
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal= *\r\n')).toEqual({ digit: '*' });
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=11\r\n')).toEqual({ digit: '#' });
    expect(parseDtmfInfo('application/dtmf', '9')).toEqual({ digit: '9' });
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=Z\r\n')).toBeUndefined();
    expect(parseDtmfInfo('text/plain', 'Signal=1')).toBeUndefined();
  });
  it('sipfrag status line (RFC 3515 §2.4.5)', () => {
    expect(parseSipfragStatus('SIP/2.0 180 Ringing\r\n')).toEqual({ status: 180, reason: 'Ringing' });
    expect(parseSipfragStatus('garbage')).toBeUndefined();
  });
});
