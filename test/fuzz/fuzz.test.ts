import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_TARGETS, FuzzFailure, mutate, type FuzzTarget } from './targets.js';
import { SipParseError, parseMessage } from '../../src/sip/message/index.js';

/**
 * The short fuzz run of `npm test`: ~2,000 cases per target (the 1,000,000-case run is
 * `npm run fuzz`). A failure prints fast-check's seed and shrunk counterexample.
 */
const RUNS = 2000;

function run<T>(target: FuzzTarget<T>): void {
  fc.assert(
    fc.property(target.arbitrary, (input) => {
      target.check(input);
    }),
    { numRuns: RUNS },
  );
}

describe('fuzz (short run): hostile input only ever fails in its typed way', () => {
  it('covers the SIP parser and framer, SDP, RTP, RTCP and DTMF', () => {
    expect(ALL_TARGETS.map((t) => t.name.split(' ')[0])).toEqual(['sip-message', 'sip-stream', 'sdp', 'rtp', 'rtcp', 'dtmf']);
  });
  for (const target of ALL_TARGETS) {
    it(target.name, () => {
      run(target);
    });
  }
});

describe('the fuzz harness itself can fail', () => {
  it('a check that lets a non-typed error through is reported', () => {
    const broken: FuzzTarget<Buffer> = {
      name: 'broken',
      arbitrary: fc.constant(Buffer.from('INVITE sip:a@b SIP/2.0\r\n\r\n')),
      check: () => {
        throw new FuzzFailure('boom');
      },
    };
    expect(() => run(broken)).toThrow(/Property failed/);
  });

  it('mutations really change valid messages into SipParseErrors some of the time', () => {
    const base = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n');
    let errors = 0;
    for (let i = 0; i < 200; i++) {
      try {
        parseMessage(mutate(base, [{ kind: 'flip', at: i, value: 0x00 }]), { datagram: true });
      } catch (err) {
        expect(err).toBeInstanceOf(SipParseError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(50);
  });
});
