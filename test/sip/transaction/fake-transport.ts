import type { Clock } from '../../../src/shared/index.js';
import { parseMessage, parseVia } from '../../../src/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse, Via } from '../../../src/sip/message/index.js';
import { responseDestination } from '../../../src/sip/transport/index.js';
import type { InboundMessage, SipEndpoint } from '../../../src/sip/transport/index.js';
import type { SipTransportLike } from '../../../src/sip/transaction/index.js';

export interface Sent {
  message: SipMessage;
  destination: SipEndpoint;
  at: number;
}

/** An in-memory transport: records what the layer sends, injects what the network would deliver. */
export class FakeTransport implements SipTransportLike {
  readonly port = 5080;
  readonly sent: Sent[] = [];
  /** When set, every send rejects with it (a transport error, RFC 3261 §17.1.4). */
  fail: Error | undefined = undefined;
  private handler: ((m: InboundMessage) => void) | undefined = undefined;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  onMessage(h: (m: InboundMessage) => void): void {
    this.handler = h;
  }

  send(message: SipMessage, destination: SipEndpoint): Promise<void> {
    this.sent.push({ message, destination, at: this.clock.now() });
    return this.fail === undefined ? Promise.resolve() : Promise.reject(this.fail);
  }

  responseDestination(via: Via, source: SipEndpoint): SipEndpoint {
    return responseDestination(via, source);
  }

  advertisedHost(): string {
    return '192.0.2.10';
  }

  inject(message: SipMessage | string, source: SipEndpoint = UAC_UDP): void {
    const m = typeof message === 'string' ? parseMessage(Buffer.from(message.replace(/\n/g, '\r\n'))) : message;
    this.handler?.({ message: m, source, receivedAt: this.clock.now() });
  }

  requests(method?: string): SipRequest[] {
    return this.sent.map((s) => s.message).filter((m): m is SipRequest => m.type === 'request' && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.sent.map((s) => s.message).filter((m): m is SipResponse => m.type === 'response' && (status === undefined || m.status === status));
  }

  clear(): void {
    this.sent.length = 0;
  }
}

export const UAC_UDP: SipEndpoint = { protocol: 'udp', host: '198.51.100.7', port: 5060 };
export const UAC_TCP: SipEndpoint = { protocol: 'tcp', host: '198.51.100.7', port: 40123, connectionId: 'tcp-1' };
export const PEER_UDP: SipEndpoint = { protocol: 'udp', host: '198.51.100.20', port: 5060 };
export const PEER_TCP: SipEndpoint = { protocol: 'tcp', host: '198.51.100.20', port: 5060 };

export function branchOf(m: SipMessage): string {
  return parseVia(m.headers.get('via') ?? '').params.get('branch') ?? '';
}

/** RFC 3261 §24.2-style INVITE as a UAC at 198.51.100.7 would send it. */
export function inviteText(opts: { branch?: string; transport?: 'UDP' | 'TCP'; cseq?: number; fromTag?: string; toTag?: string; callId?: string } = {}): string {
  const t = opts.transport ?? 'UDP';
  return `INVITE sip:bot@192.0.2.10 SIP/2.0
Via: SIP/2.0/${t} 198.51.100.7:5060;branch=${opts.branch ?? 'z9hG4bK776asdhds'}
Max-Forwards: 70
To: <sip:bot@192.0.2.10>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}
From: Alice <sip:alice@198.51.100.7>;tag=${opts.fromTag ?? '1928301774'}
Call-ID: ${opts.callId ?? 'a84b4c76e66710@198.51.100.7'}
CSeq: ${opts.cseq ?? 314159} INVITE
Contact: <sip:alice@198.51.100.7>
Content-Length: 0

`;
}

export function requestText(method: string, opts: { branch?: string; transport?: 'UDP' | 'TCP'; cseq?: number; fromTag?: string; toTag?: string; callId?: string } = {}): string {
  return inviteText(opts).replace(/^INVITE/, method).replace(/ INVITE\n/, ` ${method}\n`);
}
