import type { Clock, Logger } from '../../shared/index.js';
import type { SipMessage } from '../message/index.js';

/** RFC 3261 §18: the transports Trunkline speaks. TLS/WS are left to a front proxy. */
export type TransportProtocol = 'udp' | 'tcp';

/** A peer address as seen by the transport. */
export interface SipEndpoint {
  protocol: TransportProtocol;
  host: string;
  port: number;
  /** TCP: the connection it arrived on, to reply on the same one (RFC 3261 §18.2.2). */
  connectionId?: string;
}

export interface InboundMessage {
  message: SipMessage;
  source: SipEndpoint;
  /** Clock milliseconds at receipt. */
  receivedAt: number;
}

export interface SipTransportOptions {
  listen: { host: string; port: number };
  protocols: readonly TransportProtocol[];
  externalAddress?: string;
  maxMessageBytes: number;
  maxHeaders: number;
  tcpIdleTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** Upper bound on simultaneous TCP connections (inbound + outbound); default 10 000. */
  maxConnections?: number;
  /** Per-source token bucket on inbound requests (SourceRateLimiter); absent or perSecond 0: off. */
  rateLimit?: { perSecond: number; burst: number };
}
