import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../../src/shared/index.js';
import { createResponse, parseNameAddr } from '../../../src/sip/message/index.js';
import type { SipRequest } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import type { ServerTransaction, TerminationReason } from '../../../src/sip/transaction/index.js';
import { FakeTransport, UAC_TCP, inviteText, requestText } from './fake-transport.js';

const TIMERS = { t1: 500, t2: 4000, t4: 5000 };

let clock: FakeClock;
let net: FakeTransport;
let layer: TransactionLayer;
let txs: ServerTransaction[];
let acks: SipRequest[];

beforeEach(() => {
  clock = new FakeClock();
  net = new FakeTransport(clock);
  layer = new TransactionLayer({ transport: net, clock, timers: TIMERS, logger: silentLogger() });
  txs = [];
  acks = [];
  layer.onRequest((tx) => txs.push(tx));
  layer.onAck((ack) => acks.push(ack));
});

afterEach(() => {
  layer.close();
  expect(clock.pendingCount()).toBe(0);
});

function only(): ServerTransaction {
  expect(txs).toHaveLength(1);
  return txs[0]!;
}

function terminations(tx: ServerTransaction): TerminationReason[] {
  const out: TerminationReason[] = [];
  tx.onTerminated((r) => out.push(r));
  return out;
}

/** ACK for a non-2xx: same branch as the INVITE (RFC 3261 §17.1.1.3). */
function ackText(branch: string, toTag: string, transport: 'UDP' | 'TCP' = 'UDP'): string {
  return requestText('ACK', { branch, toTag, transport });
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  it('passes a new INVITE to the TU once and absorbs retransmissions, re-sending the last provisional', () => {
    net.inject(inviteText());
    const tx = only();
    expect(tx.state).toBe('Proceeding');
    tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'uas1' }));
    net.clear();
    net.inject(inviteText());
    net.inject(inviteText());
    expect(txs).toHaveLength(1);
    expect(net.responses().map((r) => r.status)).toEqual([180, 180]);
  });

  it('sends 100 Trying after 200 ms when the TU has not answered (§17.2.1)', () => {
    net.inject(inviteText());
    clock.advance(199);
    expect(net.responses()).toHaveLength(0);
    clock.advance(1);
    expect(net.responses().map((r) => r.status)).toEqual([100]);
    expect(parseNameAddr(net.responses()[0]!.headers.get('to')!).params.has('tag')).toBe(false);
  });

  it('answers a retransmitted INVITE with 100 before the TU has said anything', () => {
    net.inject(inviteText());
    net.inject(inviteText());
    expect(txs).toHaveLength(1);
    expect(net.responses().map((r) => r.status)).toEqual([100]);
  });

  it('Timer G retransmits a non-2xx final at 500, 1000, 2000, 4000, 4000 ms (capped at T2) and Timer H ends it at 64*T1 with a timeout', () => {
    net.inject(inviteText());
    const tx = only();
    const ends = terminations(tx);
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    expect(tx.state).toBe('Completed');
    clock.advance(32_000 - 1);
    const times = net.sent.filter((s) => s.message.type === 'response' && s.message.status === 486).map((s) => s.at);
    expect(times.slice(0, 7)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! <= 4000)).toBe(true);
    expect(ends).toEqual([]);
    clock.advance(1);
    expect(tx.state).toBe('Terminated');
    expect(ends).toEqual(['timeout']);
    expect(layer.size).toBe(0);
  });

  it('absorbs the ACK for a non-2xx (Confirmed), then Timer I = T4 ends it; the TU never sees that ACK', () => {
    net.inject(inviteText());
    const tx = only();
    const ends = terminations(tx);
    tx.respond(createResponse(tx.request, 603, undefined, { toTag: 'uas1' }));
    clock.advance(500);
    net.inject(ackText('z9hG4bK776asdhds', 'uas1'));
    expect(tx.state).toBe('Confirmed');
    expect(acks).toHaveLength(0);
    net.clear();
    clock.advance(4000); // no more Timer G
    net.inject(ackText('z9hG4bK776asdhds', 'uas1')); // a retransmitted ACK: absorbed too
    net.inject(inviteText()); // a late INVITE retransmission: absorbed in Confirmed
    expect(net.sent).toHaveLength(0);
    expect(acks).toHaveLength(0);
    clock.advance(999);
    expect(tx.state).toBe('Confirmed');
    clock.advance(1);
    expect(tx.state).toBe('Terminated');
    expect(ends).toEqual(['normal']);
    expect(layer.size).toBe(0);
  });

  it('re-sends the final when the INVITE is retransmitted in Completed', () => {
    net.inject(inviteText());
    const tx = only();
    tx.respond(createResponse(tx.request, 404, undefined, { toTag: 'uas1' }));
    net.clear();
    net.inject(inviteText());
    expect(net.responses().map((r) => r.status)).toEqual([404]);
    expect(txs).toHaveLength(1);
  });

  it('2xx moves to Accepted: INVITE retransmissions absorbed, the TU retransmits the 2xx, the ACK for 2xx goes to onAck, Timer L ends it', () => {
    net.inject(inviteText());
    const tx = only();
    const ends = terminations(tx);
    const ok = createResponse(tx.request, 200, undefined, { toTag: 'uas1' });
    tx.respond(ok);
    expect(tx.state).toBe('Accepted');
    net.clear();
    net.inject(inviteText());
    expect(net.sent).toHaveLength(0); // RFC 6026 §7.1: absorbed, no retransmission by the transaction
    clock.advance(10_000);
    expect(net.sent).toHaveLength(0); // no Timer G for a 2xx
    tx.respond(ok); // the TU's own 2xx retransmission passes through
    expect(net.responses(200)).toHaveLength(1);
    net.inject(requestText('ACK', { branch: 'z9hG4bKnewbranch', toTag: 'uas1' })); // §13.2.2.4: new branch
    expect(acks).toHaveLength(1);
    clock.advance(22_000 - 1);
    expect(tx.state).toBe('Accepted');
    clock.advance(1);
    expect(tx.state).toBe('Terminated');
    expect(ends).toEqual(['normal']);
    expect(layer.size).toBe(0);
  });

  it('over TCP: no Timer G, ACK ends the transaction at once (Timer I = 0)', () => {
    net.inject(inviteText({ transport: 'TCP' }), UAC_TCP);
    const tx = only();
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    expect(net.sent[0]!.destination).toEqual({ protocol: 'tcp', host: '198.51.100.7', port: 5060, connectionId: 'tcp-1' });
    clock.advance(20_000);
    expect(net.responses(486)).toHaveLength(1);
    net.inject(ackText('z9hG4bK776asdhds', 'uas1', 'TCP'), UAC_TCP);
    expect(tx.state).toBe('Terminated');
    expect(layer.size).toBe(0);
  });

  it('over TCP: Timer H still fires at 64*T1 without an ACK', () => {
    net.inject(inviteText({ transport: 'TCP' }), UAC_TCP);
    const tx = only();
    const ends = terminations(tx);
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    clock.advance(32_000);
    expect(net.responses(486)).toHaveLength(1);
    expect(ends).toEqual(['timeout']);
  });

  it('rejects illegal TU moves: a second final, a provisional after a final', () => {
    net.inject(inviteText());
    const tx = only();
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    expect(() => tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'uas1' }))).toThrow(/illegal event 'tu2xx \(200\)' in state Completed/);
    expect(() => tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'uas1' }))).toThrow(/Completed/);
    net.inject(inviteText({ branch: 'z9hG4bKsecond', callId: 'other@x' }));
    const tx2 = txs[1]!;
    tx2.respond(createResponse(tx2.request, 200, undefined, { toTag: 'uas2' }));
    expect(() => tx2.respond(createResponse(tx2.request, 180, undefined, { toTag: 'uas2' }))).toThrow(/Accepted/);
    expect(() => tx2.respond(createResponse(tx2.request, 404, undefined, { toTag: 'uas2' }))).toThrow(/Accepted/);
  });

  it('reports a transport error on the final as onTerminated("transport-error")', async () => {
    net.inject(inviteText());
    const tx = only();
    const ends = terminations(tx);
    net.fail = new Error('ECONNREFUSED');
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    await Promise.resolve();
    await Promise.resolve();
    expect(tx.state).toBe('Terminated');
    expect(ends).toEqual(['transport-error']);
    expect(layer.size).toBe(0);
  });

  it('a throwing onTerminated listener does not break the layer', () => {
    net.inject(inviteText());
    const tx = only();
    tx.onTerminated(() => {
      throw new Error('boom');
    });
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    clock.advance(32_000);
    expect(layer.size).toBe(0);
  });
});

describe('CANCEL (RFC 3261 §9.2)', () => {
  it('matched INVITE in Proceeding: the layer answers 200 to the CANCEL, calls onCancel, the TU sends 487 and gets the ACK absorbed', () => {
    net.inject(inviteText());
    const tx = only();
    const cancels: SipRequest[] = [];
    tx.onCancel((c) => cancels.push(c));
    tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'uas1' }));
    net.clear();
    net.inject(requestText('CANCEL'));
    expect(txs).toHaveLength(1); // the CANCEL is not a new request for the TU
    expect(cancels).toHaveLength(1);
    const ok = net.responses(200)[0]!;
    expect(ok.headers.get('cseq')).toBe('314159 CANCEL');
    // §9.2: the To tag of the CANCEL's response SHOULD equal the one in the response to the INVITE
    expect(parseNameAddr(ok.headers.get('to')!).params.get('tag')).toBe('uas1');
    tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'uas1' }));
    net.inject(ackText('z9hG4bK776asdhds', 'uas1'));
    expect(acks).toHaveLength(0);
    expect(tx.state).toBe('Confirmed');
    // a retransmitted CANCEL gets the same 200 from its own transaction
    net.clear();
    net.inject(requestText('CANCEL'));
    expect(net.responses().map((r) => r.status)).toEqual([200]);
    expect(cancels).toHaveLength(1);
  });

  it('unmatched CANCEL gets 481', () => {
    net.inject(requestText('CANCEL', { branch: 'z9hG4bKnothing' }));
    expect(txs).toHaveLength(0);
    expect(net.responses().map((r) => [r.status, r.reason])).toEqual([[481, 'Call/Transaction Does Not Exist']]);
  });

  it('late CANCEL (INVITE already answered) gets 200 and nothing else', () => {
    net.inject(inviteText());
    const tx = only();
    let cancelled = 0;
    tx.onCancel(() => cancelled++);
    tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'uas1' }));
    net.clear();
    net.inject(requestText('CANCEL'));
    expect(net.responses().map((r) => r.status)).toEqual([200]);
    expect(cancelled).toBe(0);
    expect(tx.state).toBe('Accepted');
  });
});

describe('merged requests (RFC 3261 §8.2.2.2)', () => {
  it('answers 482 to a request with the same From tag, Call-ID and CSeq but another branch, without telling the TU', () => {
    net.inject(inviteText());
    net.clear();
    net.inject(inviteText({ branch: 'z9hG4bKforked' }));
    expect(txs).toHaveLength(1);
    expect(net.responses().map((r) => [r.status, r.reason])).toEqual([[482, 'Loop Detected']]);
    // the 482's own transaction absorbs its retransmission
    net.clear();
    net.inject(inviteText({ branch: 'z9hG4bKforked' }));
    expect(net.responses().map((r) => r.status)).toEqual([482]);
    expect(txs).toHaveLength(1);
  });

  it('does not apply to a request with a To tag (in-dialog)', () => {
    net.inject(requestText('BYE', { toTag: 'x1' }));
    net.inject(requestText('BYE', { toTag: 'x1', branch: 'z9hG4bKother' }));
    expect(txs).toHaveLength(2);
  });
});

describe('RFC 2543 fallback matching (§17.2.3)', () => {
  it('absorbs a retransmitted INVITE without a z9hG4bK branch and matches its ACK', () => {
    net.inject(inviteText({ branch: 'oldstyle1' }));
    const tx = only();
    net.inject(inviteText({ branch: 'oldstyle1' }));
    expect(txs).toHaveLength(1);
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas1' }));
    net.inject(ackText('oldstyle1', 'uas1'));
    expect(tx.state).toBe('Confirmed');
    expect(acks).toHaveLength(0);
  });

  it('matches a CANCEL without cookie to its INVITE', () => {
    const noBranch = (s: string): string => s.replace(/;branch=[^\n]*/, '');
    net.inject(noBranch(inviteText()));
    const tx = only();
    let cancelled = 0;
    tx.onCancel(() => cancelled++);
    net.inject(noBranch(requestText('CANCEL')));
    expect(cancelled).toBe(1);
  });
});

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('absorbs retransmissions in Trying, re-sends the provisional in Proceeding and the final in Completed; Timer J = 64*T1 over UDP', () => {
    net.inject(requestText('OPTIONS'));
    const tx = only();
    const ends = terminations(tx);
    net.inject(requestText('OPTIONS'));
    expect(net.sent).toHaveLength(0);
    tx.respond(createResponse(tx.request, 183, undefined, { toTag: 'u' }));
    net.inject(requestText('OPTIONS'));
    expect(net.responses().map((r) => r.status)).toEqual([183, 183]);
    tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'u' }));
    expect(tx.state).toBe('Completed');
    net.inject(requestText('OPTIONS'));
    expect(net.responses().map((r) => r.status)).toEqual([183, 183, 200, 200]);
    expect(txs).toHaveLength(1);
    expect(() => tx.respond(createResponse(tx.request, 500, undefined, { toTag: 'u' }))).toThrow(/Completed/);
    clock.advance(32_000 - 1);
    expect(tx.state).toBe('Completed');
    clock.advance(1);
    expect(ends).toEqual(['normal']);
    expect(layer.size).toBe(0);
  });

  it('over TCP Timer J is zero: the final ends it', () => {
    net.inject(requestText('OPTIONS', { transport: 'TCP' }), UAC_TCP);
    const tx = only();
    tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'u' }));
    expect(tx.state).toBe('Terminated');
    expect(layer.size).toBe(0);
  });

  it('answers 503 when no TU handler is registered', () => {
    const bare = new TransactionLayer({ transport: net, clock, timers: TIMERS, logger: silentLogger() });
    net.inject(requestText('OPTIONS'));
    // both layers listen to the same fake transport; the bare one answers 503
    expect(net.responses(503)).toHaveLength(1);
    bare.close();
  });
});

describe('no leaks', () => {
  it('200 transactions of every kind leave no transaction and no timer behind once their timers have run', () => {
    for (let i = 0; i < 50; i++) {
      net.inject(requestText('OPTIONS', { branch: `z9hG4bKo${i}`, callId: `o${i}` }));
      net.inject(inviteText({ branch: `z9hG4bKi${i}`, callId: `i${i}` }));
      net.inject(inviteText({ branch: `z9hG4bKr${i}`, callId: `r${i}` }));
      net.inject(requestText('BYE', { branch: `z9hG4bKb${i}`, callId: `b${i}`, toTag: 't' }), UAC_TCP);
    }
    expect(layer.size).toBe(200);
    for (const tx of txs) {
      const status = tx.request.method === 'INVITE' && tx.request.headers.get('call-id')!.startsWith('r') ? 486 : 200;
      tx.respond(createResponse(tx.request, status, undefined, { toTag: 'u' }));
    }
    for (let i = 0; i < 50; i++) net.inject(ackText(`z9hG4bKr${i}`, 'u').replace('a84b4c76e66710@198.51.100.7', `r${i}`));
    clock.advance(64 * TIMERS.t1);
    expect(layer.size).toBe(0);
    expect(clock.pendingCount()).toBe(0);
  });
});

describe('layer close', () => {
  it('cancels every timer and is idempotent', () => {
    net.inject(inviteText());
    only().respond(createResponse(only().request, 486, undefined, { toTag: 'u' }));
    net.inject(requestText('OPTIONS', { branch: 'z9hG4bKo', callId: 'o@x' }));
    expect(layer.size).toBe(2);
    layer.close();
    layer.close();
    expect(layer.size).toBe(0);
    expect(clock.pendingCount()).toBe(0);
  });
});
