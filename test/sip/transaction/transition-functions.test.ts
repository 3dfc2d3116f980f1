import { describe, expect, it } from 'vitest';
import { nextInviteClientState } from '../../../src/sip/transaction/invite-client-transaction.js';
import { nextInviteServerState } from '../../../src/sip/transaction/invite-server-transaction.js';
import { nextNonInviteClientState } from '../../../src/sip/transaction/non-invite-client-transaction.js';
import { nextNonInviteServerState } from '../../../src/sip/transaction/non-invite-server-transaction.js';

/** The transition functions alone: legal moves per RFC 3261 §17 + RFC 6026, and rejected ones. */
describe('transaction transition functions', () => {
  it('INVITE client (Figure 5 + RFC 6026)', () => {
    expect(nextInviteClientState('Calling', '1xx')).toBe('Proceeding');
    expect(nextInviteClientState('Calling', '2xx')).toBe('Accepted');
    expect(nextInviteClientState('Proceeding', '300-699')).toBe('Completed');
    expect(nextInviteClientState('Accepted', 'timerM')).toBe('Terminated');
    expect(nextInviteClientState('Completed', 'timerD')).toBe('Terminated');
    // illegal: Timer A only runs in Calling, Timer B never after Calling, nothing leaves Terminated
    expect(nextInviteClientState('Proceeding', 'timerA')).toBeUndefined();
    expect(nextInviteClientState('Proceeding', 'timerB')).toBeUndefined();
    expect(nextInviteClientState('Accepted', 'timerD')).toBeUndefined();
    expect(nextInviteClientState('Completed', 'timerM')).toBeUndefined();
    expect(nextInviteClientState('Terminated', '2xx')).toBeUndefined();
  });

  it('non-INVITE client (Figure 6)', () => {
    expect(nextNonInviteClientState('Trying', '1xx')).toBe('Proceeding');
    expect(nextNonInviteClientState('Trying', '200-699')).toBe('Completed');
    expect(nextNonInviteClientState('Proceeding', 'timerF')).toBe('Terminated');
    expect(nextNonInviteClientState('Completed', 'timerK')).toBe('Terminated');
    expect(nextNonInviteClientState('Completed', 'timerE')).toBeUndefined();
    expect(nextNonInviteClientState('Completed', 'timerF')).toBeUndefined();
    expect(nextNonInviteClientState('Trying', 'timerK')).toBeUndefined();
    expect(nextNonInviteClientState('Terminated', '1xx')).toBeUndefined();
  });

  it('INVITE server (Figure 7 + RFC 6026)', () => {
    expect(nextInviteServerState('Proceeding', 'tu2xx')).toBe('Accepted');
    expect(nextInviteServerState('Proceeding', 'tu300-699')).toBe('Completed');
    expect(nextInviteServerState('Completed', 'ack')).toBe('Confirmed');
    expect(nextInviteServerState('Confirmed', 'timerI')).toBe('Terminated');
    expect(nextInviteServerState('Accepted', 'timerL')).toBe('Terminated');
    expect(nextInviteServerState('Accepted', 'tu2xx')).toBe('Accepted');
    expect(nextInviteServerState('Accepted', 'tu300-699')).toBeUndefined();
    expect(nextInviteServerState('Completed', 'tu2xx')).toBeUndefined();
    expect(nextInviteServerState('Confirmed', 'timerG')).toBeUndefined();
    expect(nextInviteServerState('Proceeding', 'ack')).toBeUndefined();
    expect(nextInviteServerState('Terminated', 'request')).toBeUndefined();
  });

  it('non-INVITE server (Figure 8)', () => {
    expect(nextNonInviteServerState('Trying', 'tu1xx')).toBe('Proceeding');
    expect(nextNonInviteServerState('Proceeding', 'tu200-699')).toBe('Completed');
    expect(nextNonInviteServerState('Completed', 'timerJ')).toBe('Terminated');
    expect(nextNonInviteServerState('Completed', 'tu200-699')).toBeUndefined();
    expect(nextNonInviteServerState('Completed', 'tu1xx')).toBeUndefined();
    expect(nextNonInviteServerState('Trying', 'timerJ')).toBeUndefined();
  });
});
