import { afterAll, describe, expect, it } from 'vitest';
import type { SipMessage } from '../../src/sip/message/index.js';
import { waitFor, type TestServer } from '../helpers/server.js';
import { ackFor, offer, request, token, udpPeer, type RawPeer, type RequestSpec } from '../hostile/raw-sip.js';
import { startServer } from '../hostile/server.js';
import { Netns, RELAY_SOURCE, canUseNetns } from './netns.js';
import { RtpSender, audioPort } from './rtp-sender.js';

/**
 * A call across a real impaired path: the caller's RTP crosses a veth pair into a network
 * namespace, through a user-space relay that adds 20 ms delay, 0-50 ms jitter, reordering and
 * late spikes, and back over the veth, where nftables drops 10% at the receiver's input hook.
 * The call must stay up, and the jitter buffer's stats must show what happened to the stream.
 */
const root = canUseNetns();
const cleanup: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe.skipIf(!root)('faults: 10% loss (nftables in a namespace) plus delay, jitter and reordering (user-space relay)', () => {
  it('the call stays up; loss, concealment and late packets show in the stats', async () => {
    const ns = new Netns();
    cleanup.push(() => ns.destroy());
    ns.create();

    const server: TestServer = await startServer({ rtpPairs: 8, file: { sip: { rateLimit: { perSecond: 0 } }, rtp: { inactivityTimeoutMs: 5000 } } });
    cleanup.push(() => server.stop());
    ns.addLoss(10, server.rtpRange.min, server.rtpRange.max);

    const relay = ns.spawn('node', ['-e', RELAY_SOURCE, ns.nsAddress, '20', '50', '25', '40', '200']);
    const relayPort = await new Promise<number>((res, rej) => {
      let out = '';
      relay.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port (\d+)/.exec(out);
        if (m?.[1] !== undefined) res(Number(m[1]));
      });
      relay.once('exit', (code) => rej(new Error(`relay exited ${String(code)}`)));
      setTimeout(() => rej(new Error('relay did not start')), 5000);
    });

    const target = { host: '127.0.0.1', port: server.server.sipPort };
    const peer: RawPeer = await udpPeer(target);
    cleanup.push(() => peer.close());
    const rtp = new RtpSender();
    await rtp.bind(ns.hostAddress);
    cleanup.push(() => rtp.close());

    // The offer names the relay as our media address; the server latches onto it (symmetric RTP).
    const callId = token();
    const spec: RequestSpec = { method: 'INVITE', target, peerPort: peer.port, callId, fromTag: token(), body: offer(relayPort).replaceAll('127.0.0.1', ns.nsAddress) };
    peer.send(request(spec));
    const ok = await peer.waitFor((m) => m.type === 'response' && m.status === 200, 8000);
    if (ok?.type !== 'response') throw new Error('call not answered');
    peer.send(ackFor(ok, spec));
    relay.stdin?.write(`target ${ns.hostAddress} ${audioPort(ok.body)}\n`);

    rtp.start(ns.nsAddress, relayPort);
    await new Promise((r) => setTimeout(r, 5000));
    rtp.stop();

    const call = server.server.calls.list()[0];
    const stats = call?.mediaStats;
    const isBye = (m: SipMessage): boolean => m.type === 'request' && m.method === 'BYE';
    expect(server.server.calls.active, 'the call stayed up').toBe(1);
    expect(peer.received.some(isBye)).toBe(false);
    expect(stats).toBeDefined();
    if (stats === undefined) return;
    const dropped = ns.dropped();
    const sent = 250;
    // nftables dropped about 10% of what crossed the veth.
    expect(dropped).toBeGreaterThan(sent * 0.03);
    expect(dropped).toBeLessThan(sent * 0.2);
    expect(stats.packetsReceived).toBeGreaterThan(sent * 0.7);
    expect(stats.packetsLost).toBeGreaterThan(0);
    const jb = stats.jitterBuffer;
    expect(jb.concealedFrames, JSON.stringify(jb)).toBeGreaterThan(0);
    expect(jb.latePackets + jb.discardedPackets, JSON.stringify(jb)).toBeGreaterThan(0);
    expect(jb.jitterMs).toBeGreaterThan(3);
    // The echo came back through the relay.
    expect(rtp.received).toBeGreaterThan(sent * 0.5);

    const toTag = /;tag=([^;>\s]+)/.exec(ok.headers.get('to') ?? '')?.[1] ?? '';
    peer.send(request({ ...spec, method: 'BYE', toTag, cseq: 2, branch: token(), body: '' }));
    expect(await waitFor(() => server.server.calls.active === 0, 3000)).toBe(true);
  });
});
