import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, systemClock } from '../../../src/shared/index.js';
import { createRequest, createResponse, generateTag } from '../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import type { ServerTransaction } from '../../../src/sip/transaction/index.js';
import { SipTransport } from '../../../src/sip/transport/index.js';
import type { TransportProtocol } from '../../../src/sip/transport/index.js';

/** Two of our own stacks on loopback sockets: client transactions against server transactions. */
const TIMERS = { t1: 500, t2: 4000, t4: 5000 };

interface Stack {
  transport: SipTransport;
  layer: TransactionLayer;
}

async function stack(): Promise<Stack> {
  const transport = new SipTransport({
    listen: { host: '127.0.0.1', port: 0 },
    protocols: ['udp', 'tcp'],
    maxMessageBytes: 65536,
    maxHeaders: 256,
    tcpIdleTimeoutMs: 30_000,
    clock: systemClock,
    logger: silentLogger(),
  });
  await transport.listen();
  return { transport, layer: new TransactionLayer({ transport, clock: systemClock, timers: TIMERS, logger: silentLogger() }) };
}

let uac: Stack;
let uas: Stack;
let serverTxs: ServerTransaction[];

beforeEach(async () => {
  uac = await stack();
  uas = await stack();
  serverTxs = [];
  uas.layer.onRequest((tx) => {
    serverTxs.push(tx);
    const toTag = generateTag();
    if (tx.request.method === 'INVITE') {
      tx.respond(createResponse(tx.request, 180, undefined, { toTag }));
      tx.respond(createResponse(tx.request, 486, undefined, { toTag }));
    } else {
      tx.respond(createResponse(tx.request, 200, undefined, { toTag }));
    }
  });
});

afterEach(async () => {
  for (const s of [uac, uas]) {
    s.layer.close();
    await s.transport.close();
  }
});

function request(method: string, port: number): SipRequest {
  return createRequest({
    method,
    uri: `sip:bot@127.0.0.1:${port}`,
    headers: [
      ['Max-Forwards', '70'],
      ['From', `<sip:uac@127.0.0.1>;tag=${generateTag()}`],
      ['To', `<sip:bot@127.0.0.1:${port}>`],
      ['Call-ID', `${generateTag()}@127.0.0.1`],
      ['CSeq', `1 ${method}`],
      ['Content-Length', '0'],
    ],
  });
}

function exchange(method: string, protocol: TransportProtocol): Promise<{ provisional: number[]; final: SipResponse }> {
  return new Promise((resolve, reject) => {
    const provisional: number[] = [];
    uac.layer.sendRequest(request(method, uas.transport.port), { protocol, host: '127.0.0.1', port: uas.transport.port }, {
      onProvisional: (r) => provisional.push(r.status),
      onFinal: (r) => resolve({ provisional, final: r }),
      onTimeout: () => reject(new Error('timeout')),
      onTransportError: reject,
    });
  });
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(cond()).toBe(true);
}

describe('our client transactions against our server transactions over real sockets', () => {
  for (const protocol of ['udp', 'tcp'] as const) {
    it(`${protocol}: OPTIONS → 200`, async () => {
      const { final } = await exchange('OPTIONS', protocol);
      expect(final.status).toBe(200);
      expect(serverTxs).toHaveLength(1);
    });

    it(`${protocol}: INVITE → 180, 486; the UAC layer's ACK confirms the UAS transaction`, async () => {
      const { provisional, final } = await exchange('INVITE', protocol);
      expect(provisional).toEqual([180]);
      expect(final.status).toBe(486);
      const tx = serverTxs[0]!;
      // UDP: Confirmed until Timer I; TCP: Timer I = 0, so straight to Terminated
      await until(() => tx.state === (protocol === 'udp' ? 'Confirmed' : 'Terminated'));
      expect(serverTxs).toHaveLength(1);
    });
  }
});
