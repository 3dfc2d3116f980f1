import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import { createRequest, createResponse, parseNameAddr, parseVia } from '../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import type { ClientTransactionHandlers } from '../../../src/sip/transaction/index.js';
import { FakeTransport, PEER_TCP, PEER_UDP, branchOf } from './fake-transport.js';

const TIMERS = { t1: 500, t2: 4000, t4: 5000 };

let clock: FakeClock;
let net: FakeTransport;
let layer: TransactionLayer;
let strays: SipResponse[];

beforeEach(() => {
  clock = new FakeClock();
  net = new FakeTransport(clock);
  layer = new TransactionLayer({ transport: net, clock, timers: TIMERS, logger: silentLogger() });
  strays = [];
  layer.onStrayResponse((r) => strays.push(r));
});

afterEach(() => {
  layer.close();
  expect(clock.pendingCount()).toBe(0);
});

interface Recorder extends ClientTransactionHandlers {
  log: string[];
}

function recorder(): Recorder {
  const log: string[] = [];
  return {
    log,
    onProvisional: (r) => log.push(`1xx:${r.status}`),
    onFinal: (r) => log.push(`final:${r.status}`),
    onRetransmitted2xx: (r) => log.push(`re2xx:${r.status}`),
    onTimeout: () => log.push('timeout'),
    onTransportError: (e) => log.push(`error:${e.message}`),
  };
}

function request(method: string): SipRequest {
  return createRequest({
    method,
    uri: 'sip:carrier@198.51.100.20',
    headers: [
      ['Max-Forwards', '70'],
      ['From', '<sip:bot@192.0.2.10>;tag=abc'],
      ['To', '<sip:+15551234567@198.51.100.20>'],
      ['Call-ID', 'call-1@192.0.2.10'],
      ['CSeq', `7 ${method}`],
      ['Route', '<sip:proxy.example.com;lr>'],
      ['Content-Length', '0'],
    ],
  });
}

/** A response as the peer would send it to the request the layer put on the wire. */
function reply(req: SipRequest, status: number, toTag = 'peer1'): SipResponse {
  return createResponse(req, status, undefined, status > 100 ? { toTag } : undefined);
}

function sendTimes(method: string): number[] {
  return net.sent.filter((s) => s.message.type === 'request' && s.message.method === method).map((s) => s.at);
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('adds a Via with advertised host, port, transport, z9hG4bK branch and rport', () => {
    layer.sendRequest(request('OPTIONS'), PEER_UDP, recorder());
    const via = parseVia(net.requests('OPTIONS')[0]!.headers.get('via')!);
    expect(via).toMatchObject({ transport: 'UDP', host: '192.0.2.10', port: 5080 });
    expect(via.params.get('branch')).toMatch(/^z9hG4bK./);
    expect(via.params.has('rport')).toBe(true);
    expect(net.requests('OPTIONS')[0]!.headers.getAll('via')).toHaveLength(1);
  });

  it('Timer E retransmits at T1 doubling up to T2 (500, 1000, 2000, 4000, 4000...) and Timer F times out at 64*T1', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('OPTIONS'), PEER_UDP, h);
    clock.advance(32_000 - 1);
    expect(sendTimes('OPTIONS')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(h.log).toEqual([]);
    clock.advance(1);
    expect(h.log).toEqual(['timeout']);
    expect(tx.state).toBe('Terminated');
    expect(layer.size).toBe(0);
  });

  it('in Proceeding, Timer E fires every T2', () => {
    const h = recorder();
    layer.sendRequest(request('REGISTER'), PEER_UDP, h);
    clock.advance(600); // one retransmission at 500; next due at 1500
    net.inject(reply(net.requests()[0]!, 100), PEER_UDP);
    expect(h.log).toEqual(['1xx:100']);
    clock.advance(12_000);
    expect(sendTimes('REGISTER')).toEqual([0, 500, 1500, 5500, 9500]);
  });

  it('final → Completed: retransmitted finals absorbed, Timer K = T4 over UDP', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('BYE'), PEER_UDP, h);
    const sent = net.requests()[0]!;
    net.inject(reply(sent, 200), PEER_UDP);
    net.inject(reply(sent, 200), PEER_UDP);
    expect(h.log).toEqual(['final:200']);
    expect(tx.state).toBe('Completed');
    clock.advance(10_000);
    expect(sendTimes('BYE')).toEqual([0]); // no retransmission after the final
    expect(tx.state).toBe('Terminated');
    expect(strays).toHaveLength(0);
  });

  it('Timer K fires at exactly T4', () => {
    const tx = layer.sendRequest(request('BYE'), PEER_UDP, recorder());
    net.inject(reply(net.requests()[0]!, 200), PEER_UDP);
    clock.advance(4999);
    expect(tx.state).toBe('Completed');
    clock.advance(1);
    expect(tx.state).toBe('Terminated');
  });

  it('over TCP: no retransmission, Timer F still times out, Timer K = 0', () => {
    const h = recorder();
    layer.sendRequest(request('OPTIONS'), PEER_TCP, h);
    clock.advance(32_000);
    expect(sendTimes('OPTIONS')).toEqual([0]);
    expect(h.log).toEqual(['timeout']);
    const h2 = recorder();
    const tx2 = layer.sendRequest(request('OPTIONS'), PEER_TCP, h2);
    expect(parseVia(tx2.request.headers.get('via')!).transport).toBe('TCP');
    net.inject(reply(tx2.request, 200), PEER_TCP);
    expect(tx2.state).toBe('Terminated');
    expect(layer.size).toBe(0);
  });

  it('reports a transport error and terminates', async () => {
    const h = recorder();
    net.fail = new Error('ECONNREFUSED');
    layer.sendRequest(request('OPTIONS'), PEER_TCP, h);
    await Promise.resolve();
    await Promise.resolve();
    expect(h.log).toEqual(['error:ECONNREFUSED']);
    expect(layer.size).toBe(0);
  });

  it('responses matching no transaction go to onStrayResponse; responses with two Vias are discarded (§8.1.3.3)', () => {
    const tx = layer.sendRequest(request('OPTIONS'), PEER_UDP, recorder());
    const wrongMethod = reply(tx.request, 200);
    wrongMethod.headers.set('CSeq', '7 INFO'); // §17.1.3: the CSeq method must match too
    net.inject(wrongMethod, PEER_UDP);
    expect(strays).toHaveLength(1);
    const twoVias = reply(tx.request, 200);
    twoVias.headers.append('Via', 'SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKx');
    net.inject(twoVias, PEER_UDP);
    expect(strays).toHaveLength(1);
    expect(tx.state).toBe('Trying');
  });
});

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  it('Timer A retransmits at 500, 1000, 2000, 4000, 8000, 16000 ms and Timer B times out at 64*T1', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, h);
    expect(tx.state).toBe('Calling');
    clock.advance(32_000 - 1);
    expect(sendTimes('INVITE')).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(h.log).toEqual([]);
    clock.advance(1);
    expect(h.log).toEqual(['timeout']);
    expect(tx.state).toBe('Terminated');
    expect(layer.size).toBe(0);
  });

  it('over TCP: no Timer A, Timer B still fires', () => {
    const h = recorder();
    layer.sendRequest(request('INVITE'), PEER_TCP, h);
    clock.advance(32_000);
    expect(sendTimes('INVITE')).toEqual([0]);
    expect(h.log).toEqual(['timeout']);
  });

  it('a provisional stops Timers A and B (Proceeding has no timeout of its own)', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, h);
    net.inject(reply(tx.request, 180), PEER_UDP);
    clock.advance(60_000);
    expect(sendTimes('INVITE')).toEqual([0]);
    expect(h.log).toEqual(['1xx:180']);
    expect(tx.state).toBe('Proceeding');
  });

  it('non-2xx final: the layer sends the ACK (same branch, To from the response, CSeq ACK, Routes), re-sends it for retransmissions, Timer D = 32 s', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, h);
    net.inject(reply(tx.request, 183), PEER_UDP);
    const busy = reply(tx.request, 486, 'busy1');
    net.inject(busy, PEER_UDP);
    expect(h.log).toEqual(['1xx:183', 'final:486']);
    const ack = net.requests('ACK')[0]!;
    expect(branchOf(ack)).toBe(branchOf(tx.request));
    expect(ack.headers.getAll('via')).toEqual([tx.request.headers.get('via')]);
    expect(parseNameAddr(ack.headers.get('to')!).params.get('tag')).toBe('busy1');
    expect(ack.headers.get('cseq')).toBe('7 ACK');
    expect(ack.headers.get('call-id')).toBe('call-1@192.0.2.10');
    expect(ack.headers.get('route')).toBe('<sip:proxy.example.com;lr>');
    expect(ack.rawUri).toBe(tx.request.rawUri);
    net.inject(busy, PEER_UDP);
    expect(net.requests('ACK')).toHaveLength(2);
    expect(h.log).toEqual(['1xx:183', 'final:486']);
    clock.advance(31_999);
    expect(tx.state).toBe('Completed');
    clock.advance(1);
    expect(tx.state).toBe('Terminated');
    expect(layer.size).toBe(0);
  });

  it('non-2xx final over TCP: ACK sent, Timer D = 0', () => {
    const tx = layer.sendRequest(request('INVITE'), PEER_TCP, recorder());
    net.inject(reply(tx.request, 503), PEER_TCP);
    expect(net.requests('ACK')).toHaveLength(1);
    expect(tx.state).toBe('Terminated');
  });

  it('2xx → Accepted: retransmissions forwarded with onRetransmitted2xx, no ACK from the layer, Timer M = 64*T1', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, h);
    const ok = reply(tx.request, 200);
    net.inject(ok, PEER_UDP);
    expect(tx.state).toBe('Accepted');
    net.inject(ok, PEER_UDP);
    net.inject(reply(tx.request, 200, 'fork2'), PEER_UDP); // a forked 2xx reaches the TU too (RFC 6026 §8.4)
    expect(h.log).toEqual(['final:200', 're2xx:200', 're2xx:200']);
    expect(net.requests('ACK')).toHaveLength(0); // §13.2.2.4: the TU acknowledges a 2xx
    clock.advance(31_999);
    expect(tx.state).toBe('Accepted');
    clock.advance(1);
    expect(tx.state).toBe('Terminated');
    expect(layer.size).toBe(0);
    net.inject(ok, PEER_UDP);
    expect(strays).toHaveLength(1); // after Timer M a 2xx is stray (RFC 6026 §7.1.2)
  });

  it('cancel() before a provisional is deferred (§9.1), then sent with the INVITE branch when a provisional arrives', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, h);
    tx.cancel('SIP;cause=487;text="gone"');
    expect(net.requests('CANCEL')).toHaveLength(0);
    net.inject(reply(tx.request, 180), PEER_UDP);
    const cancel = net.requests('CANCEL')[0]!;
    expect(branchOf(cancel)).toBe(branchOf(tx.request));
    expect(cancel.headers.get('cseq')).toBe('7 CANCEL');
    expect(cancel.headers.get('to')).toBe(tx.request.headers.get('to'));
    expect(cancel.headers.get('reason')).toBe('SIP;cause=487;text="gone"');
    expect(cancel.headers.get('route')).toBe('<sip:proxy.example.com;lr>');
    tx.cancel(); // a second cancel does nothing
    expect(net.requests('CANCEL')).toHaveLength(1);
    expect(layer.size).toBe(2);
    // the 200 to the CANCEL matches the CANCEL's transaction (same branch, CSeq method CANCEL)
    net.inject(reply(cancel, 200), PEER_UDP);
    expect(strays).toHaveLength(0);
    net.inject(reply(tx.request, 487), PEER_UDP);
    expect(h.log).toEqual(['1xx:180', 'final:487']);
    expect(net.requests('ACK')).toHaveLength(1);
    clock.advance(32_000);
    expect(layer.size).toBe(0);
  });

  it('CANCEL retransmits on its own Timer E, and the INVITE is given up 64*T1 after the CANCEL without a final (§9.1)', () => {
    const h = recorder();
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, h);
    net.inject(reply(tx.request, 180), PEER_UDP);
    tx.cancel();
    clock.advance(600);
    expect(net.requests('CANCEL')).toHaveLength(2);
    clock.advance(32_000);
    expect(h.log).toEqual(['1xx:180', 'timeout']);
    expect(layer.size).toBe(0);
  });

  it('cancel() after a final does nothing', () => {
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, recorder());
    net.inject(reply(tx.request, 200), PEER_UDP);
    tx.cancel();
    expect(net.requests('CANCEL')).toHaveLength(0);
  });

  it('refuses to send an ACK in a transaction', () => {
    expect(() => layer.sendRequest(request('ACK'), PEER_UDP, recorder())).toThrow(/sendStateless/);
  });
});

describe('sendStateless (RFC 3261 §13.2.2.4, §13.3.1.4)', () => {
  it('adds a Via with a fresh branch to an ACK without one and sends it outside any transaction', () => {
    const tx = layer.sendRequest(request('INVITE'), PEER_UDP, recorder());
    const ack = request('ACK');
    layer.sendStateless(ack, PEER_UDP);
    expect(layer.size).toBe(1);
    const sent = net.requests('ACK')[0]!;
    expect(branchOf(sent)).toMatch(/^z9hG4bK/);
    expect(branchOf(sent)).not.toBe(branchOf(tx.request));
  });

  it('sends a response as given', () => {
    const r = createResponse(request('INVITE'), 200, undefined, { toTag: 'x' });
    layer.sendStateless(r, PEER_UDP);
    expect(net.responses(200)).toHaveLength(1);
    expect(layer.size).toBe(0);
  });
});
