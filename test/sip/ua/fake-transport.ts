/**
 * An in-memory SipTransportLike: what the UA sends is serialized and parsed back (so tests see
 * the wire form), and tests deliver raw SIP text as if it came from a peer.
 */
import { parseMessage, serializeMessage } from '../../../src/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message/index.js';
import { responseDestination } from '../../../src/sip/transport/index.js';
import type { InboundMessage, SipEndpoint } from '../../../src/sip/transport/index.js';
import type { UaTransport } from '../../../src/sip/ua/index.js';

export const PEER: SipEndpoint = { protocol: 'udp', host: '192.0.2.10', port: 5060 };

export class FakeTransport implements UaTransport {
  readonly port = 5080;
  sent: { message: SipMessage; dest: SipEndpoint; wire: string }[] = [];
  private handler: ((m: InboundMessage) => void) | undefined;

  onMessage(h: (m: InboundMessage) => void): void {
    this.handler = h;
  }

  send(m: SipMessage, d: SipEndpoint): Promise<void> {
    const wire = serializeMessage(m);
    this.sent.push({ message: parseMessage(wire), dest: d, wire: wire.toString('utf8') });
    return Promise.resolve();
  }

  responseDestination = responseDestination;

  advertisedHost(): string {
    return '198.51.100.1';
  }

  /** Delivers SIP text (LF or CRLF line ends; Content-Length is computed). */
  deliver(text: string, source: SipEndpoint = PEER): void {
    const [head = '', body = ''] = text.replace(/\r\n/g, '\n').split('\n\n');
    const lines = head.trim().split('\n').map((l) => l.trim()).filter((l) => !/^content-length:/i.test(l));
    lines.push(`Content-Length: ${Buffer.byteLength(body.replace(/\n/g, '\r\n'))}`);
    const wire = `${lines.join('\r\n')}\r\n\r\n${body.replace(/\n/g, '\r\n')}`;
    this.handler?.({ message: parseMessage(Buffer.from(wire)), source, receivedAt: 0 });
  }

  responses(status?: number): SipResponse[] {
    return this.sent.map((s) => s.message).filter((m): m is SipResponse => m.type === 'response' && (status === undefined || m.status === status));
  }

  requests(method?: string): SipRequest[] {
    return this.sent.map((s) => s.message).filter((m): m is SipRequest => m.type === 'request' && (method === undefined || m.method === method));
  }

  clear(): void {
    this.sent = [];
  }
}

export const OFFER = `v=0
o=- 1 1 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 30000 RTP/AVP 0 8
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=sendrecv
`;

export const ANSWER = `v=0
o=- 2 1 IN IP4 198.51.100.1
s=-
c=IN IP4 198.51.100.1
t=0 0
m=audio 40000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
`;

export function invite(o: { callId?: string; branch?: string; cseq?: number; headers?: string[]; body?: string | null; toTag?: string } = {}): string {
  const body = o.body === null ? '' : (o.body ?? OFFER);
  return [
    `INVITE sip:bot@198.51.100.1:5080 SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${o.branch ?? 'z9hG4bK-inv1'}`,
    `Max-Forwards: 70`,
    `From: "Alice" <sip:alice@192.0.2.10>;tag=alice1`,
    `To: <sip:bot@198.51.100.1>${o.toTag !== undefined ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId ?? 'call-1@192.0.2.10'}`,
    `CSeq: ${o.cseq ?? 1} INVITE`,
    `Contact: <sip:alice@192.0.2.10:5060>`,
    ...(o.headers ?? []),
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    '',
    body,
  ].join('\n');
}

/** An in-dialog request from the peer, given our tag. */
export function inDialog(method: string, toTag: string, o: { cseq: number; branch?: string; callId?: string; headers?: string[]; body?: string; contentType?: string }): string {
  return [
    `${method} sip:trunkline@198.51.100.1:5080 SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${o.branch ?? `z9hG4bK-${method.toLowerCase()}-${o.cseq}`}`,
    `Max-Forwards: 70`,
    `From: "Alice" <sip:alice@192.0.2.10>;tag=alice1`,
    `To: <sip:bot@198.51.100.1>;tag=${toTag}`,
    `Call-ID: ${o.callId ?? 'call-1@192.0.2.10'}`,
    `CSeq: ${o.cseq} ${method}`,
    `Contact: <sip:alice@192.0.2.10:5060>`,
    ...(o.headers ?? []),
    ...(o.body !== undefined ? [`Content-Type: ${o.contentType ?? 'application/sdp'}`] : []),
    '',
    o.body ?? '',
  ].join('\n');
}
