/**
 * Blind transfer through POST /v1/calls/:id/transfer with SIPp as the caller (it calls in, then
 * plays the transferee's part): REFER accepted with NOTIFY 100 then 200 → our BYE; NOTIFY 486 →
 * the call stays with the bot; REFER refused 603 → the call stays; and an inbound REFER from the
 * carrier refused with 403. Webhooks (the deployment-wide URL) carry the transfer progress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../src/api/index.js';
import { describeSipp, freePort, startSipp, type SippResult } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { apiClient } from './api-client.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const TOKEN = 'transfer-token-0123456789';
const SECRET = 'whsec-transfer-0123456789';

interface CallJson {
  id: string;
  state: string;
  cause: string | null;
  transfer: { target: string; stage: string; status: number | null } | null;
}

describe('blind transfer (REFER) via the API, SIPp as the caller', () => {
  let ts: TestServer;
  let hooks: WebhookReceiver;
  let base: string;

  beforeAll(async () => {
    hooks = await startWebhookReceiver(SECRET);
    ts = await startTestServer({ file: { http: { apiToken: TOKEN, webhookSecret: SECRET, webhookUrl: hooks.url } } });
    base = `http://127.0.0.1:${ts.server.httpPort ?? 0}`;
  });
  afterAll(async () => {
    await ts.stop();
    await hooks.close();
  });

  const api = apiClient(() => base, TOKEN);

  /** SIPp calls in with `scenario`; resolves once the call is answered, with its id. */
  async function callIn(scenario: string): Promise<{ id: string; path: string; sipp: Promise<SippResult> }> {
    const known = new Set(ts.server.calls.list().map((c) => c.callId));
    const sipp = startSipp({ scenario, target: ts.target, service: 'bot', port: await freePort(), mediaPort: await freePort(), timeoutSec: 10 });
    let id = '';
    const answered = await waitFor(() => {
      const call = ts.server.calls.list().find((c) => !known.has(c.callId));
      if (call?.state !== 'answered') return false;
      id = call.callId;
      return true;
    }, 8000);
    expect(answered).toBe(true);
    return { id, path: `/v1/calls/${encodeURIComponent(id)}`, sipp: sipp.done };
  }

  const transferEvents = (id: string): WebhookEvent[] => hooks.eventsOf(id).filter((e) => e.type === 'call.transfer');
  const endedEvent = (id: string): WebhookEvent | undefined => hooks.eventsOf(id).find((e) => e.type === 'call.ended');

  it('uac-refer-accepted-notify-100-200-expect-bye: REFER 202, NOTIFY 100 then 200 → our BYE, cause transferred', async () => {
    const { id, path, sipp } = await callIn('uac-refer-accepted-notify-100-200-expect-bye.xml');
    const res = await api('POST', `${path}/transfer`, { target: '+15551112222' });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json).toEqual({ id, transfer: { target: 'sip:+15551112222@127.0.0.1;user=phone', mode: 'blind', stage: 'requested', consultCallId: null } });

    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
    expect(await waitFor(() => endedEvent(id) !== undefined, 3000)).toBe(true);
    expect(transferEvents(id).map((e) => [e.data.stage, e.data.status])).toEqual([
      ['requested', null],
      ['progress', 100],
      ['succeeded', 200],
    ]);
    expect(endedEvent(id)?.data).toMatchObject({ cause: 'transferred', outcome: 'answered' });
    expect(hooks.eventsOf(id).map((e) => e.type)).toEqual(['call.answered', 'call.transfer', 'call.transfer', 'call.transfer', 'call.ended']);
    const view = (await api('GET', path)).json as CallJson;
    expect(view).toMatchObject({ state: 'ended', cause: 'transferred', transfer: { stage: 'succeeded', status: 200 } });
  });

  it.each([
    ['uac-refer-notify-486-expect-call-kept.xml', 486, [['requested', null], ['progress', 100], ['failed', 486]]],
    ['uac-refer-refused-603-expect-call-kept.xml', 603, [['requested', null], ['failed', 603]]],
  ] as const)('%s: the transfer fails with %i and the caller stays with the bot', async (scenario, status, stages) => {
    const { id, path, sipp } = await callIn(scenario);
    expect((await api('POST', `${path}/transfer`, { target: '+15551112222' })).status).toBe(202);
    expect(await waitFor(() => transferEvents(id).some((e) => e.data.stage === 'failed'), 5000)).toBe(true);
    expect(transferEvents(id).map((e) => [e.data.stage, e.data.status])).toEqual(stages);
    expect(transferEvents(id).at(-1)?.data.reason).toBe(`transfer failed with SIP ${status}`);

    // Still answered, and a second transfer could be asked for; hang up instead.
    const view = (await api('GET', path)).json as CallJson;
    expect(view).toMatchObject({ state: 'answered', cause: null, transfer: { stage: 'failed', status } });
    const hung = await api('POST', `${path}/hangup`);
    expect(hung.json).toMatchObject({ state: 'ended', cause: 'api-hangup' });
    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
  });

  it('attended/bridge without an outbound trunk: 400 TRUNK_UNKNOWN; trunk or summary with blind, or a bad mode: 400; two transfers at once: 409 TRANSFER_IN_PROGRESS', async () => {
    const { path, sipp } = await callIn('uac-refer-notify-486-expect-call-kept.xml');
    for (const mode of ['attended', 'bridge']) {
      const res = await api('POST', `${path}/transfer`, { target: 'sip:op@127.0.0.1', mode });
      expect(res.status, JSON.stringify(res.json)).toBe(400);
      expect((res.json as { error: { code: string } }).error.code).toBe('TRUNK_UNKNOWN');
    }
    for (const body of [{ target: '+15551112222', summary: 'hi' }, { target: '+15551112222', mode: 'blind', trunk: 'x' }, { target: '+15551112222', mode: 'warm' }, { target: '+15551112222', mode: 'attended', summary: '' }]) {
      const res = await api('POST', `${path}/transfer`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.json as { error: { code: string } }).error.code).toBe('API_VALIDATION');
    }
    // Nothing of the refused requests started a transfer.
    expect(((await api('GET', path)).json as CallJson).transfer).toBeNull();
    // Two transfers asked at once (in process, before SIPp can answer the first REFER over UDP):
    // one starts, the other gets 409 TRANSFER_IN_PROGRESS. Then the scenario runs on: 486, our hangup.
    const app = ts.server.api?.app;
    if (app === undefined) throw new Error('no api');
    const both = await Promise.all(
      [0, 1].map(() => app.inject({ method: 'POST', url: `${path}/transfer`, headers: { authorization: `Bearer ${TOKEN}` }, payload: { target: '+15551112222' } })),
    );
    expect(both.map((x) => x.statusCode).sort()).toEqual([202, 409]);
    expect(both.find((x) => x.statusCode === 409)?.json<{ error: { code: string } }>().error.code).toBe('TRANSFER_IN_PROGRESS');
    const id = decodeURIComponent(path.slice('/v1/calls/'.length));
    expect(await waitFor(() => transferEvents(id).some((e) => e.data.stage === 'failed'), 5000)).toBe(true);
    await api('POST', `${path}/hangup`);
    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
  });

  it('uac-refer-inbound-expect-403: a REFER from the carrier is refused 403; the call goes on until its BYE', async () => {
    const { id, sipp } = await callIn('uac-refer-inbound-expect-403.xml');
    const r = await sipp;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
    expect(await waitFor(() => endedEvent(id) !== undefined, 3000)).toBe(true);
    expect(endedEvent(id)?.data).toMatchObject({ cause: 'caller-bye' });
  });
});
