import type { Clock, InboundTrunkConfig, Logger, TrunklineConfig } from '../../shared/index.js';
import { createRequest, createResponse, formatUri, generateCallId, generateTag, parseUri, parseVia } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import { DigestServer, parseCredentials } from '../auth/index.js';
import { InboundTrunkTable } from '../trunk/index.js';
import type { TrunkMatch } from '../trunk/index.js';
import { ALLOW, DialogSet, HandlerList, SUPPORTED, negotiateAsUas, sendRequest, tagOf } from '../dialog/index.js';
import type { DialogContext, SipDialog } from '../dialog/index.js';
import { TransactionLayer } from '../transaction/index.js';
import type { ServerTransaction, SipTransportLike, TransactionTimers } from '../transaction/index.js';
import { SipTransport } from '../transport/index.js';
import type { TransportProtocol } from '../transport/index.js';
import { InboundCall } from './incoming-call.js';
import type { IncomingCall } from './incoming-call.js';
import { OutboundCall } from './outgoing-call.js';
import type { InviteOptions, OutgoingCall } from './outgoing-call.js';
import { checkRequest } from './request-policy.js';
import { resolveHop, systemDns, type HopDns } from './hop-resolver.js';
import { screenRequest, type ScreenCounts } from './request-screen.js';

/** A transport the UA can own: SipTransport, or an in-memory fake in tests. */
export type UaTransport = SipTransportLike & {
  listen?(): Promise<void>;
  close?(): Promise<void>;
  readonly rateLimitedRequests?: number;
  readonly malformedMessages?: number;
};

/** Inbound requests turned away before any transaction existed, since start (for /metrics). */
export interface RefusedRequests extends ScreenCounts {
  /** Over the per-source rate limit (dropped unread). */
  rateLimited: number;
  /** Unparseable (answered with 4xx/5xx when the headers allow, else dropped). */
  malformed: number;
}

export interface SipUserAgentOptions {
  config: TrunklineConfig;
  clock: Clock;
  logger: Logger;
  /** Tests inject a loopback; by default a SipTransport on config.sip.listen. */
  transport?: UaTransport;
  /** [0, 1) source for glare delays and CSeq starts; default Math.random. */
  random?: () => number;
  /** DNS for request targets (RFC 3263 SRV, then A/AAAA); default the system resolver. */
  dns?: HopDns;
}

const DEFAULT_REALM = 'trunkline';

/**
 * The SIP user agent core (RFC 3261 §8, §12-§15) on one transport: screens every request
 * (trunk source, method, Max-Forwards, Require, digest), routes in-dialog requests and ACKs to
 * their dialog, offers new INVITEs to the application, places calls and sends OPTIONS.
 */
export class SipUserAgent {
  private readonly config: TrunklineConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly dns: HopDns;
  private readonly trunks: InboundTrunkTable;
  private readonly digestServers = new Map<string, DigestServer>();
  private readonly dialogs = new DialogSet();
  private readonly incomingHandlers: HandlerList<[IncomingCall]>;
  private transport: UaTransport | undefined;
  private readonly screenCounts: ScreenCounts = { scanner: 0, unknownSource: 0, tooManyVias: 0 };
  private ownsTransport = false;
  private transactions: TransactionLayer | undefined;
  private ctx: DialogContext | undefined;
  private closed = false;

  constructor(options: SipUserAgentOptions) {
    this.config = options.config;
    this.clock = options.clock;
    this.logger = options.logger;
    this.random = options.random ?? Math.random;
    this.dns = options.dns ?? systemDns;
    this.trunks = new InboundTrunkTable(options.config.trunks.inbound);
    this.incomingHandlers = new HandlerList(options.logger, 'incomingCall');
    if (options.transport !== undefined) this.transport = options.transport;
  }

  async start(): Promise<void> {
    const sip = this.config.sip;
    if (this.transport === undefined) {
      this.transport = new SipTransport({
        listen: sip.listen,
        protocols: sip.transports,
        ...(sip.externalAddress !== undefined ? { externalAddress: sip.externalAddress } : {}),
        maxMessageBytes: sip.maxMessageBytes,
        maxHeaders: sip.maxHeaders,
        tcpIdleTimeoutMs: sip.tcpIdleTimeoutMs,
        rateLimit: sip.rateLimit,
        clock: this.clock,
        logger: this.logger,
      });
      this.ownsTransport = true;
    }
    await this.transport.listen?.();
    const timers: TransactionTimers = { t1: sip.t1, t2: sip.t2, t4: sip.t4 };
    const transactions = new TransactionLayer({ transport: this.transport, clock: this.clock, timers, logger: this.logger });
    this.transactions = transactions;
    this.ctx = this.makeContext(transactions, this.transport, timers);
    // Screened before a server transaction exists: unknown sources, scanners, forged Via paths.
    const policy = { isKnownSource: (host: string) => this.trunks.match(host) !== undefined, unknownSource: sip.unknownSource, counts: this.screenCounts };
    transactions.setScreen((req, source) => screenRequest(req, source, policy));
    transactions.onRequest((tx) => this.receive(tx));
    transactions.onAck((ack) => this.receiveAck(ack));
    transactions.onStrayResponse((r) => this.receiveStray(r));
  }

  get port(): number {
    return this.transport?.port ?? 0;
  }

  /** Requests turned away before any transaction: rate limit, parse errors, the screen. */
  get refused(): RefusedRequests {
    return { ...this.screenCounts, rateLimited: this.transport?.rateLimitedRequests ?? 0, malformed: this.transport?.malformedMessages ?? 0 };
  }

  get stats(): { dialogs: number; transactions: number } {
    return { dialogs: this.dialogs.size, transactions: this.transactions?.size ?? 0 };
  }

  onIncomingCall(handler: (call: IncomingCall) => void): void {
    this.incomingHandlers.add(handler);
  }

  /** Idempotent. Dialogs end locally (no BYE: draining calls is the call layer's job). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const d of [...this.dialogs.values()]) d.terminate('error');
    this.transactions?.close();
    if (this.ownsTransport) await this.transport?.close?.();
  }

  private makeContext(transactions: TransactionLayer, transport: UaTransport, timers: TransactionTimers): DialogContext {
    const sip = this.config.sip;
    return {
      transactions,
      clock: this.clock,
      logger: this.logger,
      timers,
      random: this.random,
      userAgent: sip.userAgent,
      sessionTimer: { sessionExpires: sip.sessionExpires, minSE: sip.minSessionExpires },
      contact: (protocol, toward) => {
        const host = transport.advertisedHost(toward);
        const h = host.includes(':') ? `[${host}]` : host;
        return `<sip:trunkline@${h}:${transport.port}${protocol === 'tcp' ? ';transport=tcp' : ''}>`;
      },
      resolve: (uri, protocol, connectionId) => resolveHop(uri, protocol, connectionId, this.dns),
      responseDestination: (topVia, source) => transport.responseDestination(parseVia(topVia), source),
      forget: (id) => this.dialogs.delete(id),
    };
  }

  private context(): DialogContext {
    if (this.ctx === undefined) throw new Error('SipUserAgent not started');
    return this.ctx;
  }

  // ---- inbound -------------------------------------------------------------------------

  private receive(tx: ServerTransaction): void {
    const req = tx.request;
    const match = this.trunks.match(tx.source.host);
    if (match === undefined) {
      // Unknown source: never reaches the app. 'ignore' answers nothing (no amplification, no fingerprint).
      if (this.config.sip.unknownSource === 'ignore') {
        this.logger.debug({ host: tx.source.host, method: req.method }, 'request from unknown source ignored');
        return;
      }
      tx.respond(createResponse(req, 403, undefined, { toTag: generateTag() }));
      return;
    }
    const toTag = tagOf(req.headers.get('to'));
    // §13.3.1.1 / §17.2.1: a 100 Trying at once, so the caller's INVITE transaction stops retransmitting.
    if (req.method === 'INVITE' && toTag === undefined) tx.respond(createResponse(req, 100));
    const refusal = checkRequest(req);
    if (refusal !== undefined) {
      tx.respond(refusal);
      return;
    }
    if (toTag !== undefined) {
      const dialog = this.dialogs.forRequest(req.headers.get('call-id') ?? '', toTag, tagOf(req.headers.get('from')) ?? '');
      if (dialog === undefined) {
        // §12.2.2: "If the UAS wishes to reject the request because it does not wish to recreate the dialog, it MUST respond to the request with a 481"
        tx.respond(createResponse(req, 481));
        return;
      }
      dialog.handleRequest(tx);
      return;
    }
    switch (req.method) {
      case 'INVITE':
        this.receiveInvite(tx, match);
        return;
      case 'OPTIONS':
        // §11.2: the 200 to OPTIONS carries Allow, Accept, Supported.
        tx.respond(
          createResponse(req, 200, undefined, {
            toTag: generateTag(),
            headers: [['Allow', ALLOW], ['Accept', 'application/sdp'], ['Supported', SUPPORTED], ['User-Agent', this.config.sip.userAgent]],
          }),
        );
        return;
      case 'REFER':
        // RFC 3515 §2.4.2: refusing a REFER outside any dialog we have is a policy decision.
        tx.respond(createResponse(req, 403, 'Out-of-dialog REFER Not Allowed', { toTag: generateTag() }));
        return;
      default:
        // BYE, UPDATE, INFO, NOTIFY outside a dialog.
        tx.respond(createResponse(req, 481, undefined, { toTag: generateTag() }));
    }
  }

  private digestServer(realm: string): DigestServer {
    let s = this.digestServers.get(realm);
    if (s === undefined) {
      // MD5 is offered first: carriers and SIPp read only the first WWW-Authenticate and many know
      // no other algorithm; SHA-256 (RFC 8760) is offered too for clients that prefer it.
      s = new DigestServer({ realm, clock: this.clock, algorithms: ['MD5', 'SHA-256'] });
      this.digestServers.set(realm, s);
    }
    return s;
  }

  /**
   * §22.1/§22.3 for trunks with credentials: 401 with WWW-Authenticate; a retry with valid
   * credentials proceeds, a stale nonce earns a fresh challenge, wrong credentials get 403.
   * Returns the trunk when the request may proceed.
   */
  private authenticate(tx: ServerTransaction, match: TrunkMatch): InboundTrunkConfig | undefined {
    const req = tx.request;
    if (!match.needsAuth) return match.trunk;
    const authorization = req.headers.get('authorization');
    let trunk = match.trunk;
    if (authorization !== undefined && match.authOnly) {
      try {
        const username = parseCredentials(authorization).username;
        trunk = (username !== undefined ? this.trunks.byUsername(username) : undefined) ?? trunk;
      } catch {
        // fall through to the challenge
      }
    }
    const creds = trunk.auth;
    if (creds === undefined) return trunk;
    const server = this.digestServer(creds.realm ?? DEFAULT_REALM);
    if (authorization === undefined) {
      this.challenge(tx, server, false);
      return undefined;
    }
    // digest-uri is not compared with the Request-URI (RFC 7616 §3.4.6 SHOULD): SIPp and some
    // carrier SBCs put the host URI there. Replay is still refused by the server's nonce-count check.
    const verdict = server.verify(authorization, { method: req.method }, creds);
    if (verdict === 'ok') return trunk;
    if (verdict === 'stale') {
      this.challenge(tx, server, true);
      return undefined;
    }
    this.logger.info({ host: tx.source.host, trunk: trunk.name }, 'digest authentication failed');
    tx.respond(createResponse(req, 403, 'Authentication Failed', { toTag: generateTag() }));
    return undefined;
  }

  private challenge(tx: ServerTransaction, server: DigestServer, stale: boolean): void {
    const headers: [string, string][] = server.challenge(stale).map((c) => ['WWW-Authenticate', c]);
    tx.respond(createResponse(tx.request, 401, undefined, { toTag: generateTag(), headers }));
  }

  private receiveInvite(tx: ServerTransaction, match: TrunkMatch): void {
    const req = tx.request;
    const trunk = this.authenticate(tx, match);
    if (trunk === undefined) return;
    const type = req.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (req.body.length > 0 && type !== 'application/sdp') {
      // §8.2.3: "If a UAS does not understand the body ... it MUST respond with a 415 ... [listing] Accept".
      tx.respond(createResponse(req, 415, undefined, { toTag: generateTag(), headers: [['Accept', 'application/sdp']] }));
      return;
    }
    let replaces: SipDialog | undefined;
    const replacesHeader = req.headers.get('replaces');
    if (replacesHeader !== undefined) {
      replaces = this.dialogs.forReplaces(replacesHeader);
      // RFC 3891 §3: "If no match is found, the UAS rejects the INVITE and returns a 481 Call/Transaction Does Not Exist".
      if (replaces === undefined || replaces.state === 'terminated') {
        tx.respond(createResponse(req, 481, undefined, { toTag: generateTag() }));
        return;
      }
    }
    const timer = negotiateAsUas(req.headers, this.context().sessionTimer);
    if (timer.kind === 'reject') {
      // RFC 4028 §9: "the UAS MUST reject the request with a 422 ... [which] MUST contain a Min-SE header field"
      tx.respond(createResponse(req, 422, undefined, { toTag: generateTag(), headers: [['Min-SE', String(timer.minSE)]] }));
      return;
    }
    if (this.incomingHandlers.size === 0) {
      tx.respond(createResponse(req, 480, undefined, { toTag: generateTag() }));
      return;
    }
    const call = new InboundCall(this.context(), tx, trunk, timer, (d) => this.dialogs.add(d), generateTag(), replaces);
    this.incomingHandlers.emit(call);
  }

  private receiveAck(ack: SipRequest): void {
    const toTag = tagOf(ack.headers.get('to'));
    if (toTag === undefined) return;
    this.dialogs.forRequest(ack.headers.get('call-id') ?? '', toTag, tagOf(ack.headers.get('from')) ?? '')?.handleAck(ack);
  }

  /** RFC 6026 §7.1: a 2xx to INVITE outliving its transaction is re-ACKed by its dialog. */
  private receiveStray(r: SipResponse): void {
    if (r.status < 200 || r.status >= 300 || !/\bINVITE\s*$/i.test(r.headers.get('cseq') ?? '')) return;
    const fromTag = tagOf(r.headers.get('from'));
    const toTag = tagOf(r.headers.get('to'));
    if (fromTag === undefined || toTag === undefined) return;
    this.dialogs.forResponse(r.headers.get('call-id') ?? '', fromTag, toTag)?.resendAck();
  }

  // ---- outbound ------------------------------------------------------------------------

  /** Places a call on an outbound trunk (RFC 3261 §13.2). */
  invite(options: InviteOptions): OutgoingCall {
    return new OutboundCall(this.context(), options, (d) => this.dialogs.add(d));
  }

  /** OPTIONS outside a dialog (§11): resolves with the final response, rejects on timeout. */
  async options(target: string): Promise<SipResponse> {
    const ctx = this.context();
    const uri = parseUri(/^sips?:/i.test(target) ? target : `sip:${target}`);
    const protocol: TransportProtocol = uri.params.get('transport')?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
    const destination = await resolveHop(uri, protocol, undefined, this.dns);
    const request = createRequest({
      method: 'OPTIONS',
      uri,
      headers: [
        ['Max-Forwards', '70'],
        ['From', `<sip:trunkline@${this.transport?.advertisedHost(destination.host) ?? 'localhost'}>;tag=${generateTag()}`],
        ['To', `<${formatUri(uri)}>`],
        ['Call-ID', generateCallId()],
        ['CSeq', '1 OPTIONS'],
        ['Contact', ctx.contact(protocol, destination.host)],
        ['Accept', 'application/sdp'],
        ['User-Agent', this.config.sip.userAgent],
      ],
    });
    const outcome = await sendRequest(ctx, request, destination, { nextCSeq: () => 2 });
    if (outcome.kind === 'response') return outcome.response;
    throw outcome.kind === 'timeout' ? new Error(`OPTIONS to ${target} timed out`) : outcome.error;
  }
}

