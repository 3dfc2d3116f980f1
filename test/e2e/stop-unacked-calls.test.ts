/**
 * Shutdown after an overload: the peer vanished with our 2xx unacknowledged (SIPp aborted its
 * calls in flight). RFC 3261 §15: a callee "MUST NOT send a BYE on a confirmed dialog until it
 * has received an ACK for its 2xx response or until the server transaction times out" (64*T1 =
 * 32 s). stop() must not wait that out, must not hang when a second hang-up (an RTP timeout)
 * races the drain's, and must leave no transaction (nor timer) behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { finalResponse, offer, request, token, udpPeer, type RawPeer } from '../hostile/raw-sip.js';

const servers: TestServer[] = [];
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
  for (const s of servers.splice(0)) await s.stop();
});

describe('stop() with answered calls whose ACK never came', () => {
  it('resolves within seconds, every call ended, no transaction left', async () => {
    const ts = await startTestServer({ bot: 'echo', rtpPairs: 40 });
    servers.push(ts);
    const target = { host: '127.0.0.1', port: ts.server.sipPort };
    const peer = await udpPeer(target);
    peers.push(peer);
    const CALLS = 5;
    for (let i = 0; i < CALLS; i++) {
      const callId = token();
      peer.send(request({ method: 'INVITE', target, peerPort: peer.port, callId, body: offer(20_000 + 2 * i) }));
      const ok = await peer.waitFor(finalResponse(callId), 5000);
      expect(ok?.type === 'response' ? ok.status : undefined).toBe(200);
    }
    expect(ts.server.calls.active).toBe(CALLS);
    expect(ts.server.ua.stats.transactions).toBeGreaterThanOrEqual(CALLS);
    // A second hang-up of each call while the drain's BYE waits for the ACK (what an RTP timeout does).
    const hangups = ts.server.calls.list().map((c) => c.hangup('rtp-timeout'));
    const started = Date.now();
    await ts.stop();
    const took = Date.now() - started;
    await Promise.all(hangups);
    expect(took).toBeLessThan(10_000);
    expect(ts.server.calls.active).toBe(0);
    expect(ts.server.ua.stats).toEqual({ dialogs: 0, transactions: 0 });
  }, 20_000);
});
