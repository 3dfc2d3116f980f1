import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  SipParseError,
  createRequest,
  createResponse,
  formatVia,
  generateTag,
  parseMessage,
  parseVia,
  serializeMessage,
} from '../message/index.js';
import type { SipMessage, SipRequest, Via } from '../message/index.js';
import type { Logger } from '../../shared/index.js';
import { isWildcard, localAddressToward } from './local-address.js';
import { responseDestination } from './response-destination.js';
import { SourceRateLimiter } from './source-rate-limiter.js';
import { TcpTransport } from './tcp-transport.js';
import type { TcpConnection } from './tcp-connection.js';
import { normalizeAddress } from './tcp-connection.js';
import { UdpTransport } from './udp-transport.js';
import type { InboundMessage, SipEndpoint, SipTransportOptions, TransportProtocol } from './types.js';

const DEFAULT_MAX_CONNECTIONS = 10_000;
const TCP_CONNECT_TIMEOUT_MS = 10_000;
const LISTEN_ATTEMPTS = 20;

/**
 * The SIP transport layer (RFC 3261 §18): UDP and TCP on one port, parsing inbound bytes into
 * messages, stamping the top Via of requests (§18.2.1, RFC 3581 §4), answering unparseable
 * requests with 400/413/505 when their headers allow a response (§8.2, §21.4), and sending
 * messages to an endpoint. It owns its sockets, connections and timers; `close()` releases them.
 */
export class SipTransport {
  private readonly options: SipTransportOptions;
  private readonly logger: Logger;
  private readonly handlers: ((m: InboundMessage) => void)[] = [];
  private udp: UdpTransport | undefined = undefined;
  private tcp: TcpTransport | undefined = undefined;
  private boundPort = 0;
  private state: 'idle' | 'listening' | 'closed' = 'idle';
  private readonly limiter: SourceRateLimiter;

  constructor(options: SipTransportOptions) {
    this.options = options;
    this.logger = options.logger;
    this.limiter = new SourceRateLimiter({
      perSecond: options.rateLimit?.perSecond ?? 0,
      burst: options.rateLimit?.burst ?? 1,
      clock: options.clock,
      onLimited: (host) => this.logger.warn({ host }, 'SIP requests from this source exceed the per-source rate limit: dropping the excess'),
    });
  }

  private malformed = 0;

  /** Inbound requests dropped by the per-source rate limit since start. */
  get rateLimitedRequests(): number {
    return this.limiter.dropped;
  }

  /** The SIP UDP socket's receive buffer as the kernel reports it (0 without UDP). */
  get udpReceiveBufferBytes(): number {
    return this.udp?.receiveBufferBytes ?? 0;
  }

  /** Inbound messages that did not parse (answered with a 4xx/5xx when possible, else dropped) since start. */
  get malformedMessages(): number {
    return this.malformed;
  }

  /** UDP and TCP on the same port; with port 0 a port free for both is picked (retrying on EADDRINUSE). */
  async listen(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`SipTransport.listen() in state ${this.state}`);
    const { host, port } = this.options.listen;
    const protocols = [...new Set(this.options.protocols)];
    if (protocols.length === 0) throw new Error('SipTransport: no protocol to listen on');
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bindAll(protocols, host, port);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (port !== 0 || code !== 'EADDRINUSE' || attempt >= LISTEN_ATTEMPTS) throw err;
      }
    }
    if (this.isClosed()) {
      // close() ran while binding: release what was just bound.
      await Promise.all([this.udp?.close(), this.tcp?.close()]);
      this.udp = undefined;
      this.tcp = undefined;
      throw new Error('SipTransport closed while listening');
    }
    this.state = 'listening';
    this.logger.info({ host, port: this.boundPort, protocols }, 'SIP transport listening');
  }

  get port(): number {
    return this.boundPort;
  }

  /** A method, not a field read, so that TypeScript does not narrow it across an await. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /**
   * The host to advertise in Via sent-by and Contact (host only; the port is `port`):
   * externalAddress if set, else the listen host, else (wildcard listen) the local address the OS
   * would use toward `toward`.
   */
  advertisedHost(toward?: string): string {
    if (this.options.externalAddress !== undefined && this.options.externalAddress !== '') return this.options.externalAddress;
    const host = this.options.listen.host;
    if (!isWildcard(host)) return host;
    return localAddressToward(toward, host === '::');
  }

  onMessage(handler: (m: InboundMessage) => void): void {
    this.handlers.push(handler);
  }

  async send(message: SipMessage, destination: SipEndpoint): Promise<void> {
    if (this.state === 'closed') throw new Error('SIP transport closed');
    const data = serializeMessage(message);
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ proto: destination.protocol, to: `${destination.host}:${destination.port}`, bytes: data.length, ...summary(message) }, 'SIP out');
    }
    if (destination.protocol === 'udp') {
      if (this.udp === undefined) throw new Error('UDP transport not enabled');
      return this.udp.send(data, destination.host, destination.port);
    }
    if (this.tcp === undefined) throw new Error('TCP transport not enabled');
    return this.tcp.send(data, destination);
  }

  responseDestination(via: Via, source: SipEndpoint): SipEndpoint {
    return responseDestination(via, source);
  }

  /** Open TCP connections (inbound + outbound). */
  get tcpConnectionCount(): number {
    return this.tcp?.connectionCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([udp?.close(), tcp?.close()]);
  }

  // ---- binding -------------------------------------------------------------------------

  private async bindAll(protocols: TransportProtocol[], host: string, port: number): Promise<void> {
    const udp = protocols.includes('udp') ? new UdpTransport(this.logger, (d, h, p) => this.receiveDatagram(d, h, p)) : undefined;
    const tcp = protocols.includes('tcp') ? this.createTcp() : undefined;
    let bound = port;
    try {
      if (udp !== undefined) bound = await udp.bind(host, bound);
      if (tcp !== undefined) bound = await tcp.listen(host, bound);
    } catch (err) {
      await Promise.all([udp?.close(), tcp?.close()]);
      throw err;
    }
    this.udp = udp;
    this.tcp = tcp;
    this.boundPort = bound;
  }

  private createTcp(): TcpTransport {
    const o = this.options;
    return new TcpTransport({
      maxMessageBytes: o.maxMessageBytes,
      maxHeaders: o.maxHeaders,
      idleTimeoutMs: o.tcpIdleTimeoutMs,
      maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      connectTimeoutMs: TCP_CONNECT_TIMEOUT_MS,
      clock: o.clock,
      logger: o.logger,
      onMessage: (data, c) => this.receiveBytes(data, endpointOf(c), false),
      onFramingError: (err, c) => {
        this.logger.debug({ conn: c.id, status: err.status, reason: err.reason }, 'TCP stream unframeable: closing connection');
      },
    });
  }

  // ---- inbound -------------------------------------------------------------------------

  private receiveDatagram(data: Buffer, host: string, port: number): void {
    // A datagram of CR/LF only is a keep-alive (RFC 5626 §4.4.1 uses STUN on UDP; CRLF is common practice): ignored.
    if (isOnlyCrlf(data)) return;
    this.receiveBytes(data, { protocol: 'udp', host: normalizeAddress(host), port }, true);
  }

  private receiveBytes(data: Buffer, source: SipEndpoint, datagram: boolean): void {
    if (this.state !== 'listening') return;
    // Requests only (a response answers something we sent); checked before parsing, so a flood costs a lookup.
    // Responses and ACKs are never limited: a response answers our own request, and an ACK
    // creates no transaction (RFC 3261 §17.1.1.3) while dropping one would end a live call.
    if (this.limiter.enabled && !isResponseStart(data) && !isAckStart(data) && !this.limiter.allow(source.host)) return;
    let message: SipMessage;
    try {
      message = parseMessage(data, { datagram, maxBytes: this.options.maxMessageBytes, maxHeaders: this.options.maxHeaders });
    } catch (err) {
      this.malformed++;
      this.rejectUnparseable(err, source);
      return;
    }
    if (message.type === 'request' ? !this.stampVia(message, source) : !this.isOurSentBy(message.headers.get('via'))) return;
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ proto: source.protocol, from: `${source.host}:${source.port}`, bytes: data.length, ...summary(message) }, 'SIP in');
    }
    const inbound: InboundMessage = { message, source, receivedAt: this.options.clock.now() };
    for (const h of this.handlers) {
      try {
        h(inbound);
      } catch (err) {
        this.logger.error({ err }, 'SIP message handler threw');
      }
    }
  }

  /**
   * §18.2.1: "When the server transport receives a request over any transport, it MUST examine the
   * value of the "sent-by" parameter in the top Via header field value. If the host portion of the
   * "sent-by" parameter contains a domain name, or if it contains an IP address that differs from
   * the packet source address, the server MUST add a "received" parameter".
   * RFC 3581 §4: with an empty rport "the server MUST insert a "received" parameter containing the
   * source IP address ... and an "rport" parameter with the source port".
   * Returns false when the top Via cannot be read (no response could be routed: dropped).
   */
  private stampVia(req: SipRequest, source: SipEndpoint): boolean {
    const vias = req.headers.getAll('via');
    const top = vias[0];
    if (top === undefined) {
      this.logger.debug({ from: source.host, method: req.method }, 'request without Via dropped');
      return false;
    }
    let via: Via;
    try {
      via = parseVia(top);
    } catch (err) {
      this.logger.debug({ err, from: source.host }, 'request with unparseable Via dropped');
      return false;
    }
    let changed = false;
    if (!sameHost(via.host, source.host)) {
      via.params.set('received', source.host);
      changed = true;
    }
    if (via.params.has('rport') && via.params.get('rport') === null) {
      via.params.set('rport', String(source.port));
      via.params.set('received', source.host);
      changed = true;
    }
    if (changed) {
      vias[0] = formatVia(via);
      req.headers.set('Via', vias);
    }
    return true;
  }

  /**
   * §18.1.2: "If the value of the "sent-by" parameter in that header field does not match a value
   * that the transport layer has inserted into requests, the response MUST be silently
   * discarded." We insert our port and an address of this host (or externalAddress).
   */
  private isOurSentBy(top: string | undefined): boolean {
    let ok = false;
    try {
      const via = top === undefined ? undefined : parseVia(top);
      ok = via !== undefined && (via.port ?? 5060) === this.boundPort && this.ownHosts().has(via.host.toLowerCase());
    } catch {
      ok = false;
    }
    if (!ok) this.logger.debug({ via: top }, 'response whose Via sent-by is not ours discarded');
    return ok;
  }

  private ownHostSet: Set<string> | undefined = undefined;

  /** Addresses this host may have put in a Via sent-by: interfaces, listen host, externalAddress. */
  private ownHosts(): Set<string> {
    if (this.ownHostSet !== undefined) return this.ownHostSet;
    const set = new Set<string>(['127.0.0.1', '::1', 'localhost', this.options.listen.host.toLowerCase()]);
    if (this.options.externalAddress !== undefined) set.add(this.options.externalAddress.toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(a.address.toLowerCase());
    this.ownHostSet = set;
    return set;
  }

  /**
   * §8.2 / §21.4: a request whose headers are readable gets 400 (or 413, 505) with the defect as
   * the reason phrase; anything else — and an ACK, which is never answered (§17.1.1.3) — is
   * dropped. The response is built from the headers parsed so far (§8.2.6.2).
   */
  private rejectUnparseable(err: unknown, source: SipEndpoint): void {
    if (!(err instanceof SipParseError)) {
      this.logger.warn({ err, from: `${source.host}:${source.port}` }, 'SIP parser failed unexpectedly');
      return;
    }
    const partial = err.partial;
    const method = partial?.method;
    if (partial === undefined || method === undefined || method === 'ACK') {
      this.logger.debug({ from: `${source.host}:${source.port}`, status: err.status, reason: err.reason }, 'malformed SIP message dropped');
      return;
    }
    try {
      const req = createRequest({ method, uri: 'sip:invalid.invalid', headers: partial.headers });
      if (!this.stampVia(req, source)) return;
      const response = createResponse(req, err.status, err.reason, { toTag: generateTag() });
      const dest = responseDestination(parseVia(req.headers.get('via') ?? ''), source);
      this.logger.debug({ from: `${source.host}:${source.port}`, status: err.status, reason: err.reason, method }, 'malformed SIP request answered');
      this.send(response, dest).catch((e: unknown) => this.logger.debug({ err: e }, 'sending the error response failed'));
    } catch (e) {
      this.logger.debug({ err: e, reason: err.reason }, 'malformed SIP request dropped (no response possible)');
    }
  }
}

function endpointOf(c: TcpConnection): SipEndpoint {
  return { protocol: 'tcp', host: c.remoteHost, port: c.remotePort, connectionId: c.id };
}

/** "SIP/2.0 " at the start: a Status-Line (RFC 3261 §7.2). */
function isResponseStart(data: Buffer): boolean {
  return data.length > 8 && data[0] === 0x53 && data[1] === 0x49 && data[2] === 0x50 && data[3] === 0x2f && data[7] === 0x20;
}

function isAckStart(data: Buffer): boolean {
  return data.length > 4 && data[0] === 0x41 && data[1] === 0x43 && data[2] === 0x4b && data[3] === 0x20;
}

function isOnlyCrlf(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}

function sameHost(viaHost: string, sourceHost: string): boolean {
  if (viaHost === sourceHost) return true;
  // IPv6 text forms differ in case and zero compression; compare loosely on lower case.
  return isIPv6(viaHost) && isIPv6(sourceHost) && viaHost.toLowerCase() === sourceHost.toLowerCase();
}

function summary(m: SipMessage): { method?: string; status?: number; callId?: string } {
  const callId = m.headers.get('call-id');
  const base = callId === undefined ? {} : { callId };
  return m.type === 'request' ? { ...base, method: m.method } : { ...base, status: m.status };
}
