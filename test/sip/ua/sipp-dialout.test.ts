/**
 * Trunkline dials SIPp acting as a carrier (SIPp is the UAS): answer + our BYE, their BYE, busy,
 * CANCEL while ringing, and a digest challenge answered with the trunk's credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundTrunkConfig } from '../../../src/shared/config.js';
import type { HopDns, OutgoingCallResult, TerminationCause } from '../../../src/sip/index.js';
import { describeSipp, freePort, startSipp } from '../../helpers/sipp.js';
import type { SippResult } from '../../helpers/sipp.js';
import { limiter, startTestServer } from './sip-test-server.js';
import type { TestServer } from './sip-test-server.js';

const OFFER = `v=0
o=- 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 9 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
`;

const run = limiter(2);

function expectClean(r: SippResult): void {
  expect(r.exitCode, describeSipp(r)).toBe(0);
  expect(r.stats?.successful, describeSipp(r)).toBe(1);
  expect(r.stats?.failed, describeSipp(r)).toBe(0);
  expect(r.stats?.unexpected, describeSipp(r)).toBe(0);
}

describe.concurrent('Trunkline dials SIPp', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  /** Starts SIPp as UAS with `scenario`, places a call to it, runs `then` on the result. */
  async function dial(scenario: string, then: (r: OutgoingCallResult, cancel: () => void) => Promise<void>, o: { auth?: OutboundTrunkConfig['auth']; cancelAfterMs?: number } = {}): Promise<SippResult> {
    return run(async () => {
      const port = await freePort();
      const sipp = startSipp({ scenario, port, mediaPort: await freePort(), timeoutSec: 10 });
      await new Promise((r) => setTimeout(r, 150)); // SIPp binds its socket
      const trunk: OutboundTrunkConfig = { name: 'sipp', uri: `sip:127.0.0.1:${port}`, transport: 'udp', referUriScheme: 'sip', ...(o.auth !== undefined ? { auth: o.auth } : {}) };
      const call = server.ua.invite({ trunk, to: '+15551230000', sdp: OFFER, headers: { 'X-Test': scenario } });
      if (o.cancelAfterMs !== undefined) {
        call.onProgress((status) => {
          if (status === 180) setTimeout(() => call.cancel(), o.cancelAfterMs);
        });
      }
      await then(await call.result, () => call.cancel());
      return sipp.done;
    });
  }

  it('uas-answer-expect-bye: answered, ACKed, we hang up', async () => {
    let answer = '';
    const r = await dial('uas-answer-expect-bye.xml', async (res) => {
      if ('failed' in res) throw new Error(`call failed ${res.status}`);
      answer = res.sdp;
      await new Promise((ok) => setTimeout(ok, 200));
      await res.dialog.bye();
    });
    expectClean(r);
    expect(answer).toContain('m=audio');
  });

  it('uas-answer-then-hangup: the carrier hangs up, the dialog ends with remote-bye', async () => {
    let cause: TerminationCause | undefined;
    const r = await dial('uas-answer-then-hangup.xml', async (res) => {
      if ('failed' in res) throw new Error(`call failed ${res.status}`);
      await new Promise<void>((ok) => {
        res.dialog.onTerminated((c) => {
          cause = c;
          ok();
        });
      });
    });
    expectClean(r);
    expect(cause).toBe('remote-bye');
  });

  it('uas-busy-expect-ack: 486 fails the call and is ACKed', async () => {
    let status = 0;
    const r = await dial('uas-busy-expect-ack.xml', (res) => {
      status = 'failed' in res ? res.status : 200;
      return Promise.resolve();
    });
    expectClean(r);
    expect(status).toBe(486);
  });

  it('uas-ring-expect-cancel: CANCEL after 180, 487 ACKed, the call fails with 487', async () => {
    let status = 0;
    const r = await dial(
      'uas-ring-expect-cancel.xml',
      (res) => {
        status = 'failed' in res ? res.status : 200;
        return Promise.resolve();
      },
      { cancelAfterMs: 100 },
    );
    expectClean(r);
    expect(status).toBe(487);
  });

  it('uas-challenge-expect-auth: 401 answered with the trunk credentials, then 200', async () => {
    const r = await dial(
      'uas-challenge-expect-auth.xml',
      async (res) => {
        if ('failed' in res) throw new Error(`call failed ${res.status} ${res.reason}`);
        await res.dialog.bye();
      },
      { auth: { username: 'alice', password: 's3cret' } },
    );
    expectClean(r);
  });
});

describe('a trunk named by host follows the carrier’s SRV records (RFC 3263 §4.2)', () => {
  it('sip:carrier.test → SRV _sip._udp.carrier.test → sbc.carrier.test:<SIPp’s port> → 127.0.0.1: SIPp answers, we hang up', async () => {
    const port = await freePort();
    const asked: string[] = [];
    const dns: HopDns = {
      srv: (name) => {
        asked.push(`SRV ${name}`);
        return name === '_sip._udp.carrier.test'
          ? Promise.resolve([
              { name: 'backup.carrier.test', port: 9, priority: 20, weight: 100 },
              { name: 'sbc.carrier.test', port, priority: 10, weight: 100 },
            ])
          : Promise.reject(new Error(`no SRV for ${name}`));
      },
      address: (host) => {
        asked.push(`A ${host}`);
        return host === 'sbc.carrier.test' ? Promise.resolve('127.0.0.1') : Promise.reject(new Error(`ENOTFOUND ${host}`));
      },
    };
    const server = await startTestServer({ dns });
    try {
      const sipp = startSipp({ scenario: 'uas-answer-expect-bye.xml', port, mediaPort: await freePort(), timeoutSec: 10 });
      await new Promise((r) => setTimeout(r, 150)); // SIPp binds its socket
      const trunk: OutboundTrunkConfig = { name: 'carrier', uri: 'sip:carrier.test', transport: 'udp', referUriScheme: 'sip' };
      const res = await server.ua.invite({ trunk, to: '+15551230000', sdp: OFFER }).result;
      if ('failed' in res) throw new Error(`call failed ${res.status} ${res.reason}`);
      await res.dialog.bye();
      expectClean(await sipp.done);
      expect(asked.slice(0, 2)).toEqual(['SRV _sip._udp.carrier.test', 'A sbc.carrier.test']);
    } finally {
      await server.close();
    }
  });
});
