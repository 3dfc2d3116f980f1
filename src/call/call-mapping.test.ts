import { describe, expect, it } from 'vitest';
import { TrunklineError } from '../shared/index.js';
import { dialOutcome, referTarget } from './call.js';

describe('dialOutcome: the issue’s mapping of a dial-out that did not answer', () => {
  it.each([
    [486, false, false, 'busy', 'busy'],
    [600, false, false, 'busy', 'busy'],
    [603, false, false, 'rejected', 'rejected'],
    [487, true, false, 'no-answer', 'no-answer'],
    [408, true, false, 'no-answer', 'no-answer'],
    [404, false, false, 'failed', 'failed'],
    [480, false, false, 'failed', 'failed'],
    [503, false, false, 'failed', 'failed'],
    [487, false, true, 'cancelled', 'api-hangup'],
    [487, false, false, 'failed', 'failed'],
  ] as const)('%i (ring timeout %s, cancelled by us %s) → %s', (status, ringTimedOut, cancelled, outcome, cause) => {
    expect(dialOutcome(status, ringTimedOut, cancelled)).toEqual({ outcome, cause });
  });
});

describe('referTarget: Refer-To per the trunk’s scheme (RFC 3515 §2.1)', () => {
  it('a number becomes tel: (RFC 3966) or sip:number@host;user=phone (RFC 3261 §19.1.6)', () => {
    expect(referTarget('+15551112222', 'tel', 'carrier.example')).toBe('tel:+15551112222');
    expect(referTarget('+15551112222', 'sip', 'carrier.example')).toBe('sip:+15551112222@carrier.example;user=phone');
    expect(referTarget('1000', 'sip', '10.0.0.1')).toBe('sip:1000@10.0.0.1');
  });

  it('a URI is kept as given', () => {
    expect(referTarget('sip:op@pbx.example', 'tel', 'x')).toBe('sip:op@pbx.example');
    expect(referTarget('tel:+4930123', 'sip', 'x')).toBe('tel:+4930123');
  });

  it('anything else is NUMBER_INVALID', () => {
    expect(() => referTarget('operator', 'sip', 'x')).toThrow(TrunklineError);
    try {
      referTarget('operator', 'sip', 'x');
    } catch (err) {
      expect((err as TrunklineError).code).toBe('NUMBER_INVALID');
    }
  });
});
