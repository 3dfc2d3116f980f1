/**
 * Attended transfer and the bridged fallback through POST /v1/calls/:id/transfer, with two SIPp
 * instances: the caller (calls in, plays the transferee) and the transfer target (answers the
 * consult call Trunkline places through an outbound trunk). Each streams its own speech (raw
 * μ-law, looping) the whole time. What crossed the wire is captured with tcpdump on Trunkline's
 * RTP range and matched frame by frame against each side's file: after the bridge the caller
 * must receive the target's frames byte-exact and the target the caller's (RFC 5589 §7,
 * RFC 3891, RFC 3515).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../src/api/index.js';
import { captureRtp, stopAllCaptures, type CapturedRtp } from '../e2e/rtp-capture.js';
import { mediaWorkdir, type MediaWorkdir } from '../e2e/media-assets.js';
import { describeSipp, freePort, startSipp, type SippResult } from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { apiClient } from './api-client.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const TOKEN = 'attended-token-0123456789';
const SECRET = 'whsec-attended-0123456789';
const TARGET = '+15553334444';
const TRUNKS = ['refused', 'no-refer', 'accepted', 'bridge', 'busy'] as const;
type TrunkName = (typeof TRUNKS)[number];


/** Pads a raw μ-law file with silence (0xFF) to whole 20 ms frames, so SIPp's loops stay frame-aligned. */
function padToFrames(path: string): Buffer {
  const data = readFileSync(path);
  const padded = Buffer.alloc(Math.ceil(data.length / 160) * 160, 0xff);
  data.copy(padded);
  writeFileSync(path, padded);
  return padded;
}

describe('attended transfer and the bridged fallback via the API, two SIPp legs', () => {
  let ts: TestServer;
  let hooks: WebhookReceiver;
  let media: MediaWorkdir;
  let base: string;
  /** Each file twice over (SIPp loops it), to find a packet that straddles the loop point. */
  let callerAudio: Buffer;
  let targetAudio: Buffer;
  const ports = new Map<TrunkName, number>();

  beforeAll(async () => {
    media = mediaWorkdir();
    const caller = padToFrames(media.speech('caller', 'Hello, this is the caller. I have a question about my invoice, number one two three four.').ulaw);
    const target = padToFrames(media.speech('target', 'Accounts department, this is the target speaking. How can I help you today?').ulaw);
    callerAudio = Buffer.concat([caller, caller]);
    targetAudio = Buffer.concat([target, target]);
    for (const t of TRUNKS) ports.set(t, await freePort());
    hooks = await startWebhookReceiver(SECRET);
    ts = await startTestServer({
      captureLogs: process.env.API_TEST_LOGS !== undefined ? 'debug' : 'info',
      file: {
        // Calls to sip:demo@ get the demo bot (it is told when a transfer fails).
        routes: [{ match: { to: 'demo' }, bot: 'demo' }],
        http: { apiToken: TOKEN, webhookSecret: SECRET, webhookUrl: hooks.url },
        trunks: { outbound: TRUNKS.map((t) => ({ name: t, uri: `sip:127.0.0.1:${ports.get(t) ?? 0}`, fromNumber: '+15550001111' })) },
      },
    });
    base = `http://127.0.0.1:${ts.server.httpPort ?? 0}`;
  });
  afterAll(async () => {
    stopAllCaptures();
    if (process.env.API_TEST_LOGS !== undefined) for (const l of ts.logs) console.log(JSON.stringify(l));
    await ts.stop();
    await hooks.close();
    media.close();
  });

  const api = apiClient(() => base, TOKEN);
  const transferEvents = (id: string): WebhookEvent[] => hooks.eventsOf(id).filter((e) => e.type === 'call.transfer');
  const endedEvent = (id: string): WebhookEvent | undefined => hooks.eventsOf(id).find((e) => e.type === 'call.ended');

  interface Run {
    id: string;
    consultId: string;
    caller: Promise<SippResult>;
    target: Promise<SippResult>;
    packets: Promise<CapturedRtp[]>;
    /** Trunkline's RTP ports: the caller's leg (A) and the consult leg (B). */
    portA: number;
    portB: number;
  }

  /** Target SIPp waits on the trunk's port; caller SIPp calls in; once answered, the API transfers. */
  async function run(trunk: TrunkName, callerScenario: string, targetScenario: string, body: Record<string, unknown>, service = 'bot'): Promise<Run> {
    const capture = await captureRtp(ts.rtpRange);
    const target = startSipp({ scenario: targetScenario, port: ports.get(trunk) ?? 0, mediaPort: await freePort(), timeoutSec: 15, cwd: media.dir });
    const known = new Set(ts.server.calls.list().map((c) => c.callId));
    const caller = startSipp({ scenario: callerScenario, target: ts.target, service, port: await freePort(), mediaPort: await freePort(), timeoutSec: 15, cwd: media.dir });
    let id = '';
    expect(
      await waitFor(() => {
        const call = ts.server.calls.list().find((c) => !known.has(c.callId));
        if (call?.state !== 'answered') return false;
        id = call.callId;
        return true;
      }, 8000),
    ).toBe(true);
    const path = `/v1/calls/${encodeURIComponent(id)}`;
    const res = await api('POST', `${path}/transfer`, { target: TARGET, trunk, ...body });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const accepted = res.json as { id: string; transfer: { target: string; mode: string; stage: string; consultCallId: string | null } };
    expect(accepted).toMatchObject({ id, transfer: { target: TARGET, mode: body.mode, stage: 'requested' } });
    const consultId = accepted.transfer.consultCallId ?? '';
    expect(consultId).not.toBe('');
    const portA = ts.server.calls.get(id)?.info.media.localPort ?? 0;
    let portB = 0;
    expect(await waitFor(() => (portB = ts.server.calls.get(consultId)?.info.media.localPort ?? 0) > 0, 5000)).toBe(true);
    const done = Promise.all([caller.done, target.done]);
    const packets = done.then(async () => {
      await new Promise((r) => setTimeout(r, 200));
      return capture.stop();
    });
    return { id, consultId, caller: caller.done, target: target.done, packets, portA, portB };
  }

  /**
   * Packets Trunkline sent from `port`, split by whose file their payload is a byte-exact piece
   * of. Each leg's receive path delays the audio by the 30 samples of the G.711 Appendix I PLC
   * (src/codec/plc.ts), so a relayed packet is the file shifted by 30 bytes: searched for as a
   * substring, not as a whole frame. A payload found in both files (silence) counts as neither.
   */
  function sentFrom(packets: readonly CapturedRtp[], port: number): { all: number; caller: number; target: number; other: number; silence: number } {
    const out = { all: 0, caller: 0, target: 0, other: 0, silence: 0 };
    for (const p of packets) {
      if (p.srcPort !== port || p.payloadType !== 0) continue;
      out.all++;
      // Digital silence (μ-law 0xFF): what a leg sends while nobody speaks (rtp.sendSilence); it
      // also occurs in both speech files, so it tells nothing about whose audio went where.
      if (p.payload.every((b) => b === 0xff)) {
        out.silence++;
        continue;
      }
      const inCaller = callerAudio.indexOf(p.payload) >= 0;
      const inTarget = targetAudio.indexOf(p.payload) >= 0;
      if (inCaller && !inTarget) out.caller++;
      else if (inTarget && !inCaller) out.target++;
      else if (!inCaller && !inTarget) out.other++;
    }
    return out;
  }

  it('uac-refer-replaces-refused-603-bridged-then-caller-bye: REFER with Replaces refused 603 → bridge, RTP both ways byte-exact; caller BYE → our BYE to the target', async () => {
    const r = await run('refused', 'uac-refer-replaces-refused-603-bridged-then-caller-bye.xml', 'uas-consult-answer-rtp-expect-bye.xml', { mode: 'attended' });
    const [caller, target] = await Promise.all([r.caller, r.target]);
    expect(caller.exitCode, describeSipp(caller)).toBe(0);
    expect(target.exitCode, describeSipp(target)).toBe(0);
    expect(await waitFor(() => endedEvent(r.id) !== undefined && endedEvent(r.consultId) !== undefined, 3000)).toBe(true);
    expect(transferEvents(r.id).map((e) => [e.data.stage, e.data.status])).toEqual([
      ['requested', null],
      ['progress', 180],
      ['consulting', 200],
      ['fallback', 603],
      ['bridged', null],
    ]);
    expect(transferEvents(r.id).find((e) => e.data.stage === 'fallback')?.data.reason).toBe('REFER refused with SIP 603; bridging');
    expect(endedEvent(r.id)?.data).toMatchObject({ cause: 'caller-bye' });
    expect(endedEvent(r.consultId)?.data).toMatchObject({ cause: 'peer-leg-ended', outcome: 'answered' });

    const packets = await r.packets;
    const toCaller = sentFrom(packets, r.portA);
    const toTarget = sentFrom(packets, r.portB);
    console.log(`bridge (caller hangs up): Trunkline→caller ${JSON.stringify(toCaller)}, Trunkline→target ${JSON.stringify(toTarget)}`);
    // ~3 s of bridge at 50 packets/s each way; every relayed frame is byte-exact (μ-law passthrough).
    expect(toCaller.target).toBeGreaterThan(100);
    expect(toTarget.caller).toBeGreaterThan(100);
    // The consult leg carried nothing but the caller's audio (no summary asked for), and the
    // caller heard nothing of the target before the bridge: the echo bot sent only its own frames.
    expect(toTarget.target).toBe(0);
    // Frames matching neither file are the receiving leg's loss concealment (a packet late under
    // load): a few percent at most, never the target's own audio (asserted above).
    expect(toTarget.other).toBeLessThanOrEqual(Math.max(2, Math.ceil(0.05 * toTarget.caller)));
    // Both legs ended and their ports went back to the pool.
    expect(ts.server.calls.get(r.id)?.state).toBe('ended');
    expect(ts.server.calls.get(r.consultId)?.state).toBe('ended');
    expect(await waitFor(() => ts.server.calls.active === 0 && ts.server.pool.inUse === 0, 2000)).toBe(true);
  });

  it('uac-no-refer-in-allow-bridged-expect-bye: the caller’s Allow lacks REFER → no REFER, bridge; target BYE → our BYE to the caller with a Reason', async () => {
    const r = await run('no-refer', 'uac-no-refer-in-allow-bridged-expect-bye.xml', 'uas-consult-answer-rtp-then-bye.xml', { mode: 'attended' });
    const [caller, target] = await Promise.all([r.caller, r.target]);
    expect(caller.exitCode, describeSipp(caller)).toBe(0);
    expect(target.exitCode, describeSipp(target)).toBe(0);
    expect(await waitFor(() => endedEvent(r.id) !== undefined && endedEvent(r.consultId) !== undefined, 3000)).toBe(true);
    expect(transferEvents(r.id).map((e) => [e.data.stage, e.data.status])).toEqual([
      ['requested', null],
      ['progress', 180],
      ['consulting', 200],
      ['fallback', null],
      ['bridged', null],
    ]);
    expect(endedEvent(r.consultId)?.data).toMatchObject({ cause: 'caller-bye' });
    expect(endedEvent(r.id)?.data).toMatchObject({ cause: 'peer-leg-ended' });
    expect(await waitFor(() => ts.server.calls.active === 0 && ts.server.pool.inUse === 0, 2000)).toBe(true);

    const packets = await r.packets;
    const toCaller = sentFrom(packets, r.portA);
    const toTarget = sentFrom(packets, r.portB);
    console.log(`bridge (target hangs up): Trunkline→caller ${JSON.stringify(toCaller)}, Trunkline→target ${JSON.stringify(toTarget)}`);
    expect(toCaller.target).toBeGreaterThan(100);
    expect(toTarget.caller).toBeGreaterThan(100);
  });

  it('mode bridge: no REFER at all; while bridged GET shows the stage and the consult leg; target BYE → our BYE to the caller', async () => {
    const r = await run('bridge', 'uac-no-refer-in-allow-bridged-expect-bye.xml', 'uas-consult-answer-rtp-then-bye.xml', { mode: 'bridge' });
    expect(await waitFor(() => transferEvents(r.id).some((e) => e.data.stage === 'bridged'), 5000)).toBe(true);
    const view = (await api('GET', `/v1/calls/${encodeURIComponent(r.id)}`)).json as { state: string; transfer: unknown };
    expect(view).toMatchObject({ state: 'answered', transfer: { target: TARGET, mode: 'bridge', stage: 'bridged', status: null, consultCallId: r.consultId } });
    const consult = (await api('GET', `/v1/calls/${encodeURIComponent(r.consultId)}`)).json as { direction: string; bot: string; metadata: Record<string, string> };
    expect(consult).toMatchObject({ direction: 'outbound', bot: 'consult', metadata: { consultFor: r.id, transferMode: 'bridge' } });
    // One transfer at a time: a bridged call cannot be transferred again.
    const again = await api('POST', `/v1/calls/${encodeURIComponent(r.id)}/transfer`, { target: TARGET });
    expect(again.status).toBe(409);
    const [caller, target] = await Promise.all([r.caller, r.target]);
    expect(caller.exitCode, describeSipp(caller)).toBe(0);
    expect(target.exitCode, describeSipp(target)).toBe(0);
    expect(await waitFor(() => endedEvent(r.id) !== undefined && endedEvent(r.consultId) !== undefined, 3000)).toBe(true);
    expect(transferEvents(r.id).map((e) => [e.data.stage, e.data.status])).toEqual([
      ['requested', null],
      ['progress', 180],
      ['consulting', 200],
      ['bridged', null],
    ]);
    expect(endedEvent(r.id)?.data).toMatchObject({ cause: 'peer-leg-ended' });
    const packets = await r.packets;
    const toCaller = sentFrom(packets, r.portA);
    const toTarget = sentFrom(packets, r.portB);
    console.log(`bridge mode: Trunkline→caller ${JSON.stringify(toCaller)}, Trunkline→target ${JSON.stringify(toTarget)}`);
    expect(toCaller.target).toBeGreaterThan(100);
    expect(toTarget.caller).toBeGreaterThan(100);
  });

  it('uac-refer-replaces-accepted-notify-100-200-expect-bye: the summary is spoken to the target, REFER with Replaces, NOTIFY 100 then 200 → our BYE on both legs', async () => {
    const r = await run('accepted', 'uac-refer-replaces-accepted-notify-100-200-expect-bye.xml', 'uas-consult-answer-rtp-expect-bye.xml', {
      mode: 'attended',
      summary: 'Invoice question.',
    });
    const [caller, target] = await Promise.all([r.caller, r.target]);
    expect(caller.exitCode, describeSipp(caller)).toBe(0);
    expect(target.exitCode, describeSipp(target)).toBe(0);
    expect(await waitFor(() => endedEvent(r.id) !== undefined && endedEvent(r.consultId) !== undefined, 3000)).toBe(true);
    expect(transferEvents(r.id).map((e) => [e.data.stage, e.data.status])).toEqual([
      ['requested', null],
      ['progress', 180],
      ['consulting', 200],
      ['progress', 100],
      ['succeeded', 200],
    ]);
    expect(endedEvent(r.id)?.data).toMatchObject({ cause: 'transferred' });
    // Nobody BYEd the replaced consult dialog within the grace period: we did.
    expect(endedEvent(r.consultId)?.data).toMatchObject({ cause: 'transferred' });
    const packets = await r.packets;
    const toTarget = sentFrom(packets, r.portB);
    console.log(`attended (summary, REFER accepted): Trunkline→target ${JSON.stringify(toTarget)}`);
    // The summary went to the target (TTS audio, not either file), and never the caller's audio.
    expect(toTarget.other).toBeGreaterThan(25);
    expect(toTarget.caller).toBe(0);
  });

  it('attended to a busy target: the consult INVITE gets 486 → transfer failed, and the demo bot is told why (SIP 486) and stays with the caller', async () => {
    const r = await run('busy', 'e2e-uac-answer-listen-2s.xml', 'dialout-uas-busy.xml', { mode: 'attended', summary: 'Invoice question.' }, 'demo');
    expect(await waitFor(() => transferEvents(r.id).some((e) => e.data.stage === 'failed'), 5000)).toBe(true);
    expect(transferEvents(r.id).map((e) => [e.data.stage, e.data.status])).toEqual([
      ['requested', null],
      ['progress', 180],
      ['failed', 486],
    ]);
    expect(transferEvents(r.id).at(-1)?.data.reason).toBe('the transfer target did not answer (busy, SIP 486)');
    expect(
      ts.logs.some((l) => l['callId'] === r.id && l['msg'] === 'transfer failed; back to the menu' && l['status'] === 486 && l['reason'] === 'the transfer target did not answer (busy, SIP 486)'),
    ).toBe(true);
    const [caller, target] = await Promise.all([r.caller, r.target]);
    expect(caller.exitCode, describeSipp(caller)).toBe(0);
    expect(target.exitCode, describeSipp(target)).toBe(0);
    expect(await waitFor(() => endedEvent(r.id) !== undefined, 3000)).toBe(true);
    // The caller stayed with the bot until it hung up itself.
    expect(endedEvent(r.id)?.data).toMatchObject({ cause: 'caller-bye' });
    expect(endedEvent(r.consultId)?.data).toMatchObject({ outcome: 'busy' });
    await r.packets;
  });
});
