import { describe, expect, it } from 'vitest';
import { parseVia } from '../../../src/sip/message/index.js';
import { responseDestination } from '../../../src/sip/transport/index.js';

const udp = { protocol: 'udp' as const, host: '192.0.2.1', port: 9988 };

describe('responseDestination (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  it('RFC 3581 §4 example: received + rport', () => {
    // "Via: SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKkjshdyff"
    const via = parseVia('SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKkjshdyff');
    expect(responseDestination(via, udp)).toEqual({ protocol: 'udp', host: '192.0.2.1', port: 9988 });
  });

  it('received without rport uses the sent-by port', () => {
    const via = parseVia('SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;branch=z9hG4bKx');
    expect(responseDestination(via, udp)).toEqual({ protocol: 'udp', host: '192.0.2.1', port: 4540 });
  });

  it('maddr wins over received, with the sent-by port or 5060', () => {
    const via = parseVia('SIP/2.0/UDP 10.1.1.1;maddr=239.255.255.1;received=192.0.2.1;branch=z9hG4bKx');
    expect(responseDestination(via, udp)).toEqual({ protocol: 'udp', host: '239.255.255.1', port: 5060 });
  });

  it('plain sent-by, default port 5060', () => {
    const via = parseVia('SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKx');
    expect(responseDestination(via, udp)).toEqual({ protocol: 'udp', host: 'pc33.atlanta.com', port: 5060 });
  });

  it('TCP: the same connection, falling back to received and the sent-by port (rport ignored)', () => {
    const via = parseVia('SIP/2.0/TCP 10.1.1.1:5070;received=192.0.2.1;rport=40000;branch=z9hG4bKx');
    const tcp = { protocol: 'tcp' as const, host: '192.0.2.1', port: 40000, connectionId: 'tcp-9' };
    expect(responseDestination(via, tcp)).toEqual({ protocol: 'tcp', host: '192.0.2.1', port: 5070, connectionId: 'tcp-9' });
  });
});
