/**
 * SIPp (a real, independent SIP implementation) calls Trunkline's user agent. Each scenario in
 * test/sipp is named by its outcome; each run must exit 0 with no failed calls and no unexpected
 * messages. Runs at most two SIPp processes at a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSipp, runSipp } from '../helpers/sipp.js';
import type { SippOptions, SippResult } from '../helpers/sipp.js';
import { limiter, startTestServer } from './ua/sip-test-server.js';
import type { TestServer } from './ua/sip-test-server.js';

const run = limiter(2);

function expectClean(r: SippResult, calls = 1): void {
  expect(r.exitCode, describeSipp(r)).toBe(0);
  expect(r.stats, describeSipp(r)).toBeDefined();
  expect(r.stats?.successful, describeSipp(r)).toBe(calls);
  expect(r.stats?.failed, describeSipp(r)).toBe(0);
  expect(r.stats?.unexpected, describeSipp(r)).toBe(0);
}

describe.concurrent('SIPp UAC against the Trunkline UA', () => {
  let server: TestServer;
  let restricted: TestServer;
  let authed: TestServer;
  let shortTimers: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    // Only 127.0.0.2 is a trunk: SIPp on 127.0.0.1 is an unknown source.
    restricted = await startTestServer({ inbound: [{ name: 'other', addresses: ['127.0.0.2/32'], allowRefer: false, referUriScheme: 'sip' }] });
    authed = await startTestServer({
      inbound: [{ name: 'secure', addresses: ['127.0.0.0/8'], auth: { username: 'alice', password: 's3cret', realm: 'trunkline.test' }, allowRefer: false, referUriScheme: 'sip' }],
    });
    // RFC 4028 forbids Min-SE under 90 s on the network; the config object here skips validation so the run is short.
    shortTimers = await startTestServer({ sessionExpires: 4, minSessionExpires: 2 });
  });

  afterAll(async () => {
    await Promise.all([server.close(), restricted.close(), authed.close(), shortTimers.close()]);
  });

  const sipp = (o: SippOptions): Promise<SippResult> => run(() => runSipp(o));
  const callsFor = (s: TestServer, service: string) => s.calls.filter((c) => c.call.request.uri.user === service);

  it('uac-invite-expect-answer: answered with PCMU, ACKed, BYE from SIPp', async () => {
    const r = await sipp({ scenario: 'uac-invite-expect-answer.xml', target: server.target, service: 'answer-a' });
    expectClean(r);
    const c = callsFor(server, 'answer-a');
    expect(c).toHaveLength(1);
    expect(c[0]?.acked).toBe(true);
    expect(c[0]?.terminated).toBe('remote-bye');
  });

  it('uac-require-100rel-expect-answer-without-18x: Require: 100rel is accepted (no 420) and no 18x is sent, so no PRACK is owed', async () => {
    const r = await sipp({ scenario: 'uac-require-100rel-expect-answer-without-18x.xml', target: server.target, service: 'answer-100rel' });
    expectClean(r);
    // The test UA calls ringing() before every answer: for this INVITE it sent nothing.
    const c = callsFor(server, 'answer-100rel');
    expect(c).toHaveLength(1);
    expect(c[0]?.acked).toBe(true);
  });

  it('uac-bye: BYE from SIPp gets 200, a second BYE 481', async () => {
    expectClean(await sipp({ scenario: 'uac-bye.xml', target: server.target, service: 'answer-b' }));
  });

  it('uac-invite-expect-bye: the UA hangs up', async () => {
    const r = await sipp({ scenario: 'uac-invite-expect-bye.xml', target: server.target, service: 'hangup' });
    expectClean(r);
    expect(callsFor(server, 'hangup')[0]?.terminated).toBe('bye');
  });

  it('uac-cancel-expect-487: CANCEL while ringing', async () => {
    const r = await sipp({ scenario: 'uac-cancel-expect-487.xml', target: server.target, service: 'ring' });
    expectClean(r);
    expect(callsFor(server, 'ring')[0]?.cancelled).toBe(true);
  });

  it('uac-options-expect-200: Allow, Accept, Supported', async () => {
    expectClean(await sipp({ scenario: 'uac-options-expect-200.xml', target: server.target, service: 'options' }));
  });

  it('uac-g729-expect-488: no common codec → 488 with Warning', async () => {
    expectClean(await sipp({ scenario: 'uac-g729-expect-488.xml', target: server.target, service: 'answer-g729' }));
  });

  it('uac-reinvite-hold-expect-recvonly: hold then resume', async () => {
    const r = await sipp({ scenario: 'uac-reinvite-hold-expect-recvonly.xml', target: server.target, service: 'answer-hold' });
    expectClean(r);
    expect(callsFor(server, 'answer-hold')[0]?.reinvites).toBe(2);
  });

  it('uac-delayed-offer: offer in our 200, answer in the ACK', async () => {
    const r = await sipp({ scenario: 'uac-delayed-offer.xml', target: server.target, service: 'answer-delayed' });
    expectClean(r);
    const c = callsFor(server, 'answer-delayed')[0];
    expect(c?.call.remoteSdp).toBeUndefined();
    expect(c?.ackSdp).toMatch(/m=audio \d+ RTP\/AVP 0/);
    expect(c?.dialog?.remoteSdp).toBe(c?.ackSdp);
  });

  it('uac-invite-retransmit-absorbed: the same INVITE twice is one call', async () => {
    const r = await sipp({ scenario: 'uac-invite-retransmit-absorbed.xml', target: server.target, service: 'slow' });
    expectClean(r);
    expect(callsFor(server, 'slow')).toHaveLength(1);
  });

  it('uac-ack-withheld-expect-200-retransmit-then-bye: 2xx retransmitted, BYE after 64*T1', async () => {
    const r = await sipp({ scenario: 'uac-ack-withheld-expect-200-retransmit-then-bye.xml', target: server.target, service: 'answer-noack' });
    expectClean(r);
    const c = callsFor(server, 'answer-noack')[0];
    expect(c?.acked).toBe(false);
    expect(c?.terminated).toBe('ack-timeout');
  });

  it('50 calls over one TCP connection (-t t1)', async () => {
    const r = await sipp({ scenario: 'uac-invite-expect-answer.xml', target: server.target, service: 'answer-tcp', transport: 't1', calls: 50, rate: 50, limit: 20 });
    expectClean(r, 50);
    expect(callsFor(server, 'answer-tcp')).toHaveLength(50);
  });

  it('unknown-source-expect-403: the restricted server refuses 127.0.0.1 and the app never sees it', async () => {
    const r = await sipp({ scenario: 'unknown-source-expect-403.xml', target: restricted.target, service: 'answer' });
    expectClean(r);
    expect(restricted.calls).toHaveLength(0);
  });

  it('uac-digest-auth: 401 challenge answered by SIPp [authentication]', async () => {
    const r = await sipp({ scenario: 'uac-digest-auth.xml', target: authed.target, service: 'answer', auth: { username: 'alice', password: 's3cret' } });
    expectClean(r);
    expect(callsFor(authed, 'answer')).toHaveLength(1);
  });

  it('uac-digest-auth with a wrong password never reaches the app', async () => {
    const r = await sipp({ scenario: 'uac-digest-auth.xml', target: authed.target, service: 'answer-wrongpw', auth: { username: 'alice', password: 'wrong' } });
    expect(r.exitCode).not.toBe(0);
    expect(r.errors).toContain('403');
    expect(callsFor(authed, 'answer-wrongpw')).toHaveLength(0);
  });

  it('uac-session-timer: refresher=uas → Trunkline re-INVITEs at half the interval', async () => {
    const r = await sipp({ scenario: 'uac-session-timer.xml', target: shortTimers.target, service: 'answer' });
    expectClean(r);
    expect(shortTimers.calls[0]?.terminated).toBe('remote-bye');
  });
});
