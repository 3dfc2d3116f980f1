/**
 * Dial-out through the HTTP API with SIPp as the carrier (SIPp is the UAS): a 407 challenge
 * answered with the trunk's credentials then an answer; busy; no answer (our ring timeout →
 * CANCEL → 487); 603; 404. Each asserts the exact outcome, the SIP codes and the webhook sequence
 * a signature-checking receiver accepted, and that no INVITE was retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../src/api/index.js';
import { describeSipp, freePort, startSipp, type SippResult } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { apiClient } from './api-client.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const TOKEN = 'dialout-token-0123456789';
const SECRET = 'whsec-dialout-0123456789';
const SCENARIOS = ['dialout-uas-407-then-answer.xml', 'dialout-uas-busy.xml', 'dialout-uas-no-answer.xml', 'dialout-uas-603.xml', 'dialout-uas-404.xml'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface CallJson {
  id: string;
  direction: string;
  state: string;
  outcome: string | null;
  cause: string | null;
  sip: { callId: string | null; status: number | null; codes: number[] };
  timings: { ringingMs: number | null; answeredMs: number | null; endedMs: number | null };
  media: { stats: { dtmfSent: number; packetsSent: number } | null };
  metadata: Record<string, string>;
}

describe('dial-out via POST /v1/calls, SIPp as the carrier', () => {
  let ts: TestServer;
  let hooks: WebhookReceiver;
  let base: string;
  const ports = new Map<Scenario, number>();
  let invites = 0;

  beforeAll(async () => {
    for (const s of SCENARIOS) ports.set(s, await freePort());
    hooks = await startWebhookReceiver(SECRET);
    ts = await startTestServer({
      ...(process.env.API_TEST_LOGS !== undefined ? { captureLogs: 'debug' as const } : {}),
      file: {
        http: { apiToken: TOKEN, webhookSecret: SECRET },
        trunks: {
          outbound: SCENARIOS.map((s) => ({
            name: s.replace('.xml', ''),
            uri: `sip:127.0.0.1:${ports.get(s) ?? 0}`,
            fromNumber: '+15550001111',
            ...(s === 'dialout-uas-407-then-answer.xml' ? { auth: { username: 'dialer', password: 'pr0xy-s3cret' } } : {}),
          })),
        },
      },
    });
    base = `http://127.0.0.1:${ts.server.httpPort ?? 0}`;
    // Count every INVITE the call layer asks the user agent for (a retry would be a second one).
    const ua = ts.server.ua;
    const invite = ua.invite.bind(ua);
    ua.invite = (options) => {
      invites++;
      return invite(options);
    };
  });
  afterAll(async () => {
    if (process.env.API_TEST_LOGS !== undefined) for (const l of ts.logs) console.log(JSON.stringify(l));
    await ts.stop();
    await hooks.close();
  });

  const api = apiClient(() => base, TOKEN);

  /** Starts SIPp on the scenario's port, dials it through the API, returns the call id and SIPp's run. */
  async function dial(scenario: Scenario, extra: Record<string, unknown> = {}): Promise<{ id: string; sipp: Promise<SippResult> }> {
    const port = ports.get(scenario) ?? 0;
    const sipp = startSipp({ scenario, port, mediaPort: await freePort(), timeoutSec: 10 });
    await new Promise((r) => setTimeout(r, 200)); // SIPp binds its socket
    const res = await api('POST', '/v1/calls', {
      to: '+15557654321',
      trunk: scenario.replace('.xml', ''),
      bot: 'echo',
      webhook: hooks.url,
      metadata: { campaign: 'spring' },
      headers: { 'X-Campaign': 'spring' },
      ...extra,
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const created = res.json as { id: string; state: string };
    expect(created.state).toBe('dialing');
    return { id: created.id, sipp: sipp.done };
  }

  const types = (events: WebhookEvent[]): string[] => events.map((e) => e.type);
  const ended = (id: string): boolean => hooks.eventsOf(id).some((e) => e.type === 'call.ended');

  it('dialout-uas-407-then-answer: credentials answer the challenge, answered, DTMF out, API hangup → BYE', async () => {
    const invitesBefore = invites;
    const { id, sipp } = await dial('dialout-uas-407-then-answer.xml');
    expect(await waitFor(() => hooks.eventsOf(id).some((e) => e.type === 'call.answered'), 8000)).toBe(true);

    const dtmf = await api('POST', `/v1/calls/${id}/dtmf`, { digits: '12#' });
    expect(dtmf.status).toBe(202);
    expect(await waitFor(() => ts.server.calls.get(id)?.mediaStats?.dtmfSent === 3, 3000)).toBe(true);

    const live = (await api('GET', `/v1/calls/${id}`)).json as CallJson;
    expect(live.state).toBe('answered');
    expect(live.direction).toBe('outbound');
    expect(live.metadata).toMatchObject({ campaign: 'spring', direction: 'outbound', to: '+15557654321' });
    expect((await api('GET', '/v1/calls')).json).toMatchObject({ calls: [{ id, state: 'answered' }] });

    const hung = await api('POST', `/v1/calls/${id}/hangup`);
    expect(hung.status).toBe(200);
    expect(hung.json).toMatchObject({ id, state: 'ended', cause: 'api-hangup', outcome: 'answered' });

    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
    expect(await waitFor(() => ended(id), 3000)).toBe(true);
    // DTMF we send is not a call.dtmf event (those are digits the far end pressed).
    expect(types(hooks.eventsOf(id))).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    const last = hooks.eventsOf(id).at(-1);
    expect(last?.data).toMatchObject({ cause: 'api-hangup', outcome: 'answered', sipStatus: 200 });
    expect(hooks.eventsOf(id).map((e) => e.sequence)).toEqual([1, 2, 3]);

    const after = (await api('GET', `/v1/calls/${id}`)).json as CallJson;
    // 407 is answered inside the user agent; the call sees the ringing and the answer.
    expect(after.sip.codes).toEqual([180, 200]);
    expect(after.sip.status).toBe(200);
    expect(after.timings.answeredMs).toBeGreaterThan(after.timings.ringingMs ?? Infinity);
    expect(after.media.stats?.dtmfSent).toBe(3);
    expect(invites - invitesBefore).toBe(1);

    // Control of an ended call: 409 CALL_ENDED.
    for (const [path, body] of [
      [`/v1/calls/${id}/hangup`, undefined],
      [`/v1/calls/${id}/dtmf`, { digits: '1' }],
      [`/v1/calls/${id}/transfer`, { target: 'sip:op@127.0.0.1' }],
    ] as const) {
      const res = await api('POST', path, body);
      expect(res.status, path).toBe(409);
      expect((res.json as { error: { code: string } }).error.code).toBe('CALL_ENDED');
    }
  });

  it.each([
    ['dialout-uas-busy.xml', 'busy', 'busy', 486, ['call.ringing', 'call.ended'], [180, 486]],
    ['dialout-uas-603.xml', 'rejected', 'rejected', 603, ['call.ended'], [603]],
    ['dialout-uas-404.xml', 'failed', 'failed', 404, ['call.ended'], [404]],
  ] as const)('%s: outcome %s, never retried', async (scenario, outcome, cause, status, sequence, codes) => {
    const invitesBefore = invites;
    const { id, sipp } = await dial(scenario);
    expect(await waitFor(() => ended(id), 8000)).toBe(true);
    expect(types(hooks.eventsOf(id))).toEqual(sequence);
    expect(hooks.eventsOf(id).at(-1)?.data).toMatchObject({ outcome, cause, sipStatus: status, durationMs: 0 });
    const view = (await api('GET', `/v1/calls/${id}`)).json as CallJson;
    expect(view).toMatchObject({ state: 'ended', outcome, cause });
    expect(view.sip.codes).toEqual(codes);
    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
    // SIPp held the line 1 s after the ACK: a retry would have been a second INVITE.
    expect(invites - invitesBefore).toBe(1);
    expect(Number(r.stats?.columns['TotalCallCreated(C)'] ?? '1'), describeSipp(r)).toBe(1);
  });

  it('dialout-uas-no-answer: ring timeout → CANCEL → 487 ACKed, outcome no-answer', async () => {
    const { id, sipp } = await dial('dialout-uas-no-answer.xml', { ringTimeout: 1 });
    expect(await waitFor(() => ended(id), 8000)).toBe(true);
    expect(types(hooks.eventsOf(id))).toEqual(['call.ringing', 'call.ended']);
    expect(hooks.eventsOf(id).at(-1)?.data).toMatchObject({ outcome: 'no-answer', cause: 'no-answer', sipStatus: 487 });
    const view = (await api('GET', `/v1/calls/${id}`)).json as CallJson;
    expect(view.sip.codes).toEqual([180, 487]);
    expect(view.timings.endedMs).toBeGreaterThanOrEqual(1000);
    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
  });

  it('metrics count the outcomes and the final SIP codes', async () => {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    expect(text).toContain('trunkline_calls_total{direction="outbound",outcome="busy"} 1');
    expect(text).toContain('trunkline_calls_total{direction="outbound",outcome="no-answer"} 1');
    expect(text).toContain('trunkline_calls_total{direction="outbound",outcome="rejected"} 1');
    expect(text).toContain('trunkline_sip_invite_final_responses_total{direction="outbound",code="486"} 1');
    expect(text).toContain('trunkline_sip_invite_final_responses_total{direction="outbound",code="603"} 1');
    expect(text).toMatch(/trunkline_rtp_packets_sent_total [1-9]/);
    expect(text).toContain('trunkline_webhook_deliveries_total{result="delivered"}');
    // Every delivery the receiver saw carried a valid signature.
    expect(hooks.deliveries.every((d) => d.verdict === 'ok')).toBe(true);
  });
});
