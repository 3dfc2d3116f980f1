import { createRequest, createResponse, formatNameAddr, formatUri, parseCSeq, parseNameAddr } from '../message/index.js';
import type { NameAddr, SipRequest, SipResponse, SipUri } from '../message/index.js';
import type { DigestClient } from '../auth/index.js';
import { SdpError } from '../sdp/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import type { SipEndpoint, TransportProtocol } from '../transport/index.js';
import type { TimerHandle } from '../../shared/index.js';
import { ClientRequest, sendRequest } from './client-request.js';
import { ALLOW, SUPPORTED } from './dialog-context.js';
import type { DialogContext } from './dialog-context.js';
import { parseDtmfInfo } from './dtmf-relay.js';
import type { DtmfDigit } from './dtmf-relay.js';
import { glareRetryDelayMs } from './glare.js';
import { HandlerList } from './handler-list.js';
import { InviteServerSession } from './invite-server-session.js';
import type { RouteSet } from './route-set.js';
import { SessionTimer, hasOptionTag, negotiateAsUac, negotiateAsUas, uacRequestHeaders } from './session-timer.js';
import { parseSipfragStatus, subscriptionState } from './sipfrag.js';

/** RFC 3261 §12: a dialog is early (after a 1xx with To tag), confirmed (2xx), or gone. */
export type DialogState = 'early' | 'confirmed' | 'terminated';

export type TerminationCause = 'bye' | 'remote-bye' | 'cancel' | 'ack-timeout' | 'session-expired' | 'transport-error' | 'error';

/** Reports progress of a REFER we accepted (RFC 3515 §2.4.4) as NOTIFY message/sipfrag. */
export interface ReferProgress {
  /** Sends NOTIFY with `SIP/2.0 <status> <reason>`; a final status (≥ 200) ends the subscription. */
  notify(status: number, reason?: string): void;
}

export interface ReferDecision {
  accept: boolean;
  /** The refusal status (default 603 Decline). */
  status?: number;
}

export interface ReferResult {
  status: number;
  final: 'success' | 'failure' | 'timeout';
}

/** The public face of a dialog for the layers above. */
export interface Dialog {
  readonly id: string;
  readonly callId: string;
  readonly state: DialogState;
  /** The latest SDP the peer sent (offer or answer); undefined until it sent one. */
  readonly remoteSdp: string | undefined;
  /** The latest SDP we sent. */
  readonly localSdp: string | undefined;
  /** The peer ended the dialog with BYE. */
  onBye(h: (req: SipRequest) => void): void;
  /**
   * An offer arrived in a re-INVITE or UPDATE (undefined for an offerless re-INVITE, when we must
   * offer). Return the SDP to send; throw SdpError to refuse it (488 with Warning).
   */
  onReinvite(h: (offerSdp: string | undefined) => string): void;
  /** The ACK for our 2xx arrived (with the answer SDP when the 2xx carried our offer). */
  onAck(h: (sdp: string | undefined) => void): void;
  /** The remote SDP changed (answer to our re-INVITE, or ACK answer). */
  onRemoteSdp(h: (sdp: string) => void): void;
  onInfo(h: (req: SipRequest) => void): void;
  /** INFO application/dtmf-relay or application/dtmf (RFC 6086 legacy INFO). */
  onDtmf(h: (dtmf: DtmfDigit) => void): void;
  onRefer(h: (refer: SipRequest, progress: ReferProgress) => ReferDecision): void;
  onNotify(h: (req: SipRequest) => void): void;
  onTerminated(h: (cause: TerminationCause) => void): void;
  bye(reason?: string): Promise<void>;
  reinvite(sdp: string): Promise<string>;
  refer(target: string, options?: { replaces?: string; timeoutMs?: number }): Promise<ReferResult>;
  info(contentType: string, body: string): Promise<SipResponse>;
}

export interface DialogInit {
  /** Who created the dialog: 'uac' we sent the INVITE (and own the Call-ID), 'uas' we received it. */
  role: 'uac' | 'uas';
  state: DialogState;
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From (uac) / To (uas) without tag. */
  local: NameAddr;
  remote: NameAddr;
  localSeq?: number;
  remoteSeq?: number;
  remoteTarget: SipUri;
  routeSet: RouteSet;
  protocol: TransportProtocol;
  /** TCP connection the dialog was set up on (reused for requests to the same host). */
  connectionId?: string;
  sourceHost?: string;
  localSdp?: string;
  remoteSdp?: string;
  /** Methods from the peer's Allow (upper case); empty when it sent none. */
  peerAllow: readonly string[];
  allowRefer: boolean;
  digest?: DigestClient;
}

/** Methods whose requests refresh the remote target (RFC 3261 §12.2, RFC 3311 §5.2). */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE']);
const MAX_GLARE_RETRIES = 3;

/** The tag param of a To/From value. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseNameAddr(value).params.get('tag') ?? undefined;
  } catch {
    return undefined;
  }
}

/** Dialog ID (RFC 3261 §12): Call-ID, local tag, remote tag. */
export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId};${localTag};${remoteTag}`;
}

function withoutTag(n: NameAddr): NameAddr {
  const params = new Map(n.params);
  params.delete('tag');
  return { ...n, params };
}

function sdpOf(msg: SipRequest | SipResponse): string | undefined {
  if (msg.body.length === 0) return undefined;
  const type = msg.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return type === 'application/sdp' ? msg.body.toString('utf8') : undefined;
}

/**
 * An INVITE dialog (RFC 3261 §12-§15) with its usages: re-INVITE and UPDATE (RFC 3311) with
 * glare, session timers (RFC 4028), INFO (RFC 6086), REFER/NOTIFY (RFC 3515) and BYE. Owned by the
 * user agent, which routes requests and ACKs with this dialog's ID here.
 */
export class SipDialog implements Dialog {
  readonly id: string;
  readonly callId: string;
  readonly role: 'uac' | 'uas';
  readonly localTag: string;
  readonly remoteTag: string;
  readonly local: NameAddr;
  readonly remote: NameAddr;
  private current: DialogState;
  private localSeq: number | undefined;
  private remoteSeq: number | undefined;
  remoteTarget: SipUri;
  readonly routeSet: RouteSet;
  readonly protocol: TransportProtocol;
  private readonly connectionId: string | undefined;
  private readonly sourceHost: string | undefined;
  remoteSdp: string | undefined;
  localSdp: string | undefined;
  private peerAllow: readonly string[];
  private readonly allowRefer: boolean;
  private readonly digest: DigestClient | undefined;
  private readonly ctx: DialogContext;

  /** Our 2xx awaiting its ACK (initial INVITE or re-INVITE). */
  private pendingAck: InviteServerSession | undefined;
  /** The 2xx awaiting ACK carried our offer: the ACK carries the answer. */
  private offerInPendingAck = false;
  /** Our re-INVITE or UPDATE with an offer is in progress (§14.1 / RFC 3311 §5.1 glare). */
  private offerOutstanding = false;
  /** The ACK we sent for the last 2xx to our INVITE, re-sent on retransmitted 2xx (§13.2.2.4). */
  private lastAck: { cseq: number; ack: SipRequest; destination: SipEndpoint } | undefined;
  /** A BYE waiting for the ACK of our 2xx (§15); every bye() call meanwhile shares its promise. */
  private byeAfterAck: { reason: string | undefined; promise: Promise<void>; resolve: () => void } | undefined;
  /** The ACK for the 2xx of the dialog-creating INVITE arrived (UAS). */
  private initialAckSeen = false;
  private readonly sessionTimer: SessionTimer;
  private readonly referWaits = new Map<string, { resolve: (r: ReferResult) => void; timer: TimerHandle; lastStatus: number }>();

  private readonly byeHandlers: HandlerList<[SipRequest]>;
  private readonly ackHandlers: HandlerList<[string | undefined]>;
  private readonly remoteSdpHandlers: HandlerList<[string]>;
  private readonly infoHandlers: HandlerList<[SipRequest]>;
  private readonly dtmfHandlers: HandlerList<[DtmfDigit]>;
  private readonly notifyHandlers: HandlerList<[SipRequest]>;
  private readonly terminatedHandlers: HandlerList<[TerminationCause]>;
  private reinviteHandler: ((offer: string | undefined) => string) | undefined;
  private referHandler: ((refer: SipRequest, progress: ReferProgress) => ReferDecision) | undefined;

  constructor(ctx: DialogContext, init: DialogInit) {
    this.ctx = ctx;
    this.role = init.role;
    this.current = init.state;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.id = dialogId(init.callId, init.localTag, init.remoteTag);
    this.local = withoutTag(init.local);
    this.remote = withoutTag(init.remote);
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.protocol = init.protocol;
    this.connectionId = init.connectionId;
    this.sourceHost = init.sourceHost;
    this.localSdp = init.localSdp;
    this.remoteSdp = init.remoteSdp;
    this.peerAllow = init.peerAllow;
    this.allowRefer = init.allowRefer;
    this.digest = init.digest;
    const log = ctx.logger;
    this.byeHandlers = new HandlerList(log, 'bye');
    this.ackHandlers = new HandlerList(log, 'ack');
    this.remoteSdpHandlers = new HandlerList(log, 'remoteSdp');
    this.infoHandlers = new HandlerList(log, 'info');
    this.dtmfHandlers = new HandlerList(log, 'dtmf');
    this.notifyHandlers = new HandlerList(log, 'notify');
    this.terminatedHandlers = new HandlerList(log, 'terminated');
    this.sessionTimer = new SessionTimer(
      ctx.clock,
      () => this.refreshSession(),
      () => {
        this.ctx.logger.info({ callId: this.callId }, 'session expired without refresh (RFC 4028 §10): BYE');
        void this.sendByeAndTerminate('session-expired', 'SIP;cause=408;text="Session expired"');
      },
    );
  }

  get state(): DialogState {
    return this.current;
  }

  /** Seconds of the running session timer, 0 when none. */
  get sessionInterval(): number {
    return this.sessionTimer.running ? this.sessionTimer.interval : 0;
  }

  get weRefresh(): boolean {
    return this.sessionTimer.running && this.sessionTimer.weRefresh;
  }

  onBye(h: (req: SipRequest) => void): void {
    if (this.current !== 'terminated') this.byeHandlers.add(h);
  }
  onReinvite(h: (offerSdp: string | undefined) => string): void {
    if (this.current !== 'terminated') this.reinviteHandler = h;
  }
  onAck(h: (sdp: string | undefined) => void): void {
    if (this.current !== 'terminated') this.ackHandlers.add(h);
  }
  onRemoteSdp(h: (sdp: string) => void): void {
    if (this.current !== 'terminated') this.remoteSdpHandlers.add(h);
  }
  onInfo(h: (req: SipRequest) => void): void {
    if (this.current !== 'terminated') this.infoHandlers.add(h);
  }
  onDtmf(h: (dtmf: DtmfDigit) => void): void {
    if (this.current !== 'terminated') this.dtmfHandlers.add(h);
  }
  onRefer(h: (refer: SipRequest, progress: ReferProgress) => ReferDecision): void {
    if (this.current !== 'terminated') this.referHandler = h;
  }
  onNotify(h: (req: SipRequest) => void): void {
    if (this.current !== 'terminated') this.notifyHandlers.add(h);
  }
  onTerminated(h: (cause: TerminationCause) => void): void {
    if (this.current !== 'terminated') this.terminatedHandlers.add(h);
  }

  // ---- state ---------------------------------------------------------------------------

  /** The one transition function: early → confirmed → terminated; early → terminated. */
  private move(next: DialogState): void {
    const from = this.current;
    const legal = (from === 'early' && (next === 'confirmed' || next === 'terminated')) || (from === 'confirmed' && next === 'terminated');
    if (!legal) throw new Error(`dialog ${this.id}: illegal move ${from} -> ${next}`);
    this.current = next;
  }

  /** The 2xx to the dialog-creating INVITE was sent or received. */
  confirm(): void {
    if (this.current === 'early') this.move('confirmed');
  }

  /** Ends the dialog without sending anything (idempotent). */
  terminate(cause: TerminationCause): void {
    if (this.current === 'terminated') return;
    this.move('terminated');
    this.sessionTimer.stop();
    this.pendingAck?.stop();
    this.pendingAck = undefined;
    for (const w of this.referWaits.values()) {
      w.timer.cancel();
      w.resolve({ status: w.lastStatus, final: 'failure' });
    }
    this.referWaits.clear();
    const pendingBye = this.byeAfterAck;
    this.byeAfterAck = undefined;
    pendingBye?.resolve();
    this.ctx.forget(this.id);
    this.ctx.logger.debug({ callId: this.callId, cause }, 'dialog terminated');
    this.terminatedHandlers.emit(cause);
    this.releaseHandlers();
  }

  /**
   * A terminated dialog raises no more events, so it lets go of its listeners: the application
   * call behind them can be collected even while something (a transaction absorbing
   * retransmissions, the API's list of recent calls) still holds the dialog.
   */
  private releaseHandlers(): void {
    this.byeHandlers.clear();
    this.ackHandlers.clear();
    this.remoteSdpHandlers.clear();
    this.infoHandlers.clear();
    this.dtmfHandlers.clear();
    this.notifyHandlers.clear();
    this.terminatedHandlers.clear();
    this.reinviteHandler = undefined;
    this.referHandler = undefined;
  }

  /** Starts the RFC 4028 timer (from the negotiation of the dialog-creating INVITE). */
  startSessionTimer(interval: number, weRefresh: boolean): void {
    if (this.current !== 'terminated') this.sessionTimer.start(interval, weRefresh);
  }

  // ---- request building (§12.2.1.1) ---------------------------------------------------

  private nextCSeq(): number {
    // §12.2.1.1: "If the local sequence number is empty, an initial value MUST be chosen"; §8.1.1.5: < 2^31.
    this.localSeq = this.localSeq === undefined ? 1 + Math.floor(this.ctx.random() * 0x7fff) : this.localSeq + 1;
    return this.localSeq;
  }

  private contactHeader(): string {
    return this.ctx.contact(this.protocol, this.remoteTarget.host);
  }

  private build(method: string, opts: { cseq?: number; body?: string; contentType?: string; headers?: [string, string][] } = {}): { request: SipRequest; nextHop: SipUri } {
    const routed = this.routeSet.apply(this.remoteTarget);
    const headers: [string, string][] = [];
    for (const r of routed.route) headers.push(['Route', r]);
    headers.push(['Max-Forwards', '70']);
    headers.push(['From', formatNameAddr({ ...this.local, params: new Map([...this.local.params, ['tag', this.localTag]]) })]);
    headers.push(['To', formatNameAddr({ ...this.remote, params: new Map([...this.remote.params, ['tag', this.remoteTag]]) })]);
    headers.push(['Call-ID', this.callId]);
    const seq = opts.cseq ?? this.nextCSeq();
    headers.push(['CSeq', `${seq} ${method}`]);
    if (method === 'INVITE' || method === 'UPDATE' || method === 'REFER' || method === 'NOTIFY') headers.push(['Contact', this.contactHeader()]);
    if (method === 'INVITE' || method === 'UPDATE') {
      headers.push(['Allow', ALLOW]);
      headers.push(['Supported', SUPPORTED]);
    }
    headers.push(['User-Agent', this.ctx.userAgent]);
    for (const h of opts.headers ?? []) headers.push(h);
    if (opts.body !== undefined) headers.push(['Content-Type', opts.contentType ?? 'application/sdp']);
    const request = createRequest({ method, uri: routed.requestUri, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    return { request, nextHop: routed.nextHop };
  }

  private destination(nextHop: SipUri): Promise<SipEndpoint> {
    const sameHost = this.sourceHost !== undefined && nextHop.host === this.sourceHost;
    return this.ctx.resolve(nextHop, this.protocol, sameHost ? this.connectionId : undefined);
  }

  private requestOptions(): { digest: DigestClient | undefined; nextCSeq: () => number } {
    return { digest: this.digest, nextCSeq: () => this.nextCSeq() };
  }

  // ---- inbound requests (§12.2.2) -----------------------------------------------------

  /** A request whose To tag, From tag and Call-ID name this dialog (the UA has done §8.2 checks). */
  handleRequest(tx: ServerTransaction): void {
    const req = tx.request;
    const cseq = parseCSeq(req.headers.get('cseq') ?? '');
    // §12.2.2: "If the remote sequence number was not empty, but the sequence number of the request is lower than the remote sequence number, the request is out of order and MUST be rejected with a 500"
    if (this.remoteSeq !== undefined && cseq.seq < this.remoteSeq) {
      tx.respond(createResponse(req, 500, 'CSeq Out of Order'));
      return;
    }
    this.remoteSeq = cseq.seq;
    switch (req.method) {
      case 'BYE':
        this.receiveBye(tx);
        return;
      case 'INVITE':
        this.receiveReinvite(tx, cseq.seq);
        return;
      case 'UPDATE':
        this.receiveUpdate(tx);
        return;
      case 'INFO':
        this.receiveInfo(tx);
        return;
      case 'REFER':
        this.receiveRefer(tx);
        return;
      case 'NOTIFY':
        this.receiveNotify(tx);
        return;
      case 'OPTIONS':
        tx.respond(this.respond(req, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp'], ['Supported', SUPPORTED]] }));
        return;
      default:
        tx.respond(createResponse(req, 405, undefined, { headers: [['Allow', ALLOW]] }));
    }
  }

  private respond(req: SipRequest, status: number, opts: { reason?: string; headers?: [string, string][]; sdp?: string } = {}): SipResponse {
    const headers: [string, string][] = [];
    if (status >= 200 && status < 300 && (req.method === 'INVITE' || req.method === 'UPDATE')) {
      headers.push(['Contact', this.contactHeader()], ['Allow', ALLOW], ['Supported', SUPPORTED]);
    }
    headers.push(['User-Agent', this.ctx.userAgent]);
    for (const h of opts.headers ?? []) headers.push(h);
    if (opts.sdp !== undefined) headers.push(['Content-Type', 'application/sdp']);
    return createResponse(req, status, opts.reason, { toTag: this.localTag, headers, ...(opts.sdp !== undefined ? { body: opts.sdp } : {}) });
  }

  private receiveBye(tx: ServerTransaction): void {
    // Read before responding: once final, the transaction keeps only the request's key fields.
    const req = tx.request;
    tx.respond(this.respond(req, 200));
    this.byeHandlers.emit(req);
    this.terminate('remote-bye');
  }

  /** §12.2.2: "If the request is a target refresh ... the remote target URI MUST be replaced by the URI from the Contact header field of that request, if present." */
  private refreshTarget(msg: SipRequest | SipResponse): void {
    const contact = msg.headers.get('contact');
    if (contact === undefined) return;
    try {
      this.remoteTarget = parseNameAddr(contact).uri;
    } catch {
      // keep the old target
    }
    const allow = msg.headers.getAll('allow');
    if (allow.length > 0) this.peerAllow = allow.map((m) => m.trim().toUpperCase());
  }

  /** Negotiates an offer through the app; returns the SDP to send or an error response. */
  private answerOffer(req: SipRequest, offer: string | undefined): { sdp: string } | { error: SipResponse } {
    const handler = this.reinviteHandler;
    if (handler === undefined) {
      if (offer === undefined && this.localSdp !== undefined) return { sdp: this.localSdp };
      return { error: this.respond(req, 488, { headers: [['Warning', '399 trunkline "no offer handler"']] }) };
    }
    try {
      return { sdp: handler(offer) };
    } catch (err) {
      if (err instanceof SdpError) return { error: this.respond(req, err.status, { headers: [['Warning', err.warning]] }) };
      this.ctx.logger.error({ err, callId: this.callId }, 're-INVITE handler threw');
      return { error: this.respond(req, 500) };
    }
  }

  private receiveReinvite(tx: ServerTransaction, seq: number): void {
    const req = tx.request;
    if (this.current !== 'confirmed') {
      tx.respond(this.respond(req, 491));
      return;
    }
    // §14.2: "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that dialog is in progress MUST return a 491 (Request Pending)"
    if (this.offerOutstanding) {
      tx.respond(this.respond(req, 491));
      return;
    }
    // §14.2: "A UAS that receives a second INVITE before it sends the final response to a first INVITE with a lower CSeq ... MUST return a 500 (Server Internal Error) response and MUST include a Retry-After header field with a randomly chosen value of between 0 and 10 seconds."
    if (this.pendingAck?.state === 'waiting') {
      tx.respond(this.respond(req, 500, { headers: [['Retry-After', String(Math.floor(this.ctx.random() * 11))]] }));
      return;
    }
    const timer = negotiateAsUas(req.headers, this.ctx.sessionTimer);
    if (timer.kind === 'reject') {
      // RFC 4028 §9: 422 "MUST contain a Min-SE header field with the minimum timer for that server"
      tx.respond(this.respond(req, 422, { headers: [['Min-SE', String(timer.minSE)]] }));
      return;
    }
    const offer = sdpOf(req);
    const result = this.answerOffer(req, offer);
    if ('error' in result) {
      tx.respond(result.error);
      return;
    }
    this.refreshTarget(req);
    if (offer !== undefined) {
      this.remoteSdp = offer;
      this.remoteSdpHandlers.emit(offer);
    }
    this.localSdp = result.sdp;
    const response = this.respond(req, 200, { sdp: result.sdp, headers: timer.kind === 'timer' ? timer.responseHeaders : [] });
    tx.respond(response);
    this.expectAck(seq, response, tx, offer === undefined);
    if (timer.kind === 'timer') this.sessionTimer.start(timer.interval, timer.weRefresh);
    else if (this.sessionTimer.running) this.sessionTimer.start(this.sessionTimer.interval, this.sessionTimer.weRefresh);
  }

  /**
   * Retransmits a 2xx we sent until its ACK (§13.3.1.4). `offerInResponse`: the 2xx carried our
   * offer, so the ACK carries the answer (delayed offer, RFC 3261 §13.2.1).
   */
  expectAck(cseq: number, response: SipResponse, tx: ServerTransaction, offerInResponse: boolean): void {
    this.pendingAck?.stop();
    this.offerInPendingAck = offerInResponse;
    const destination = this.ctx.responseDestination(tx.request.headers.get('via') ?? '', tx.source);
    this.pendingAck = new InviteServerSession(
      cseq,
      response,
      this.ctx.clock,
      this.ctx.timers,
      (r) => this.ctx.transactions.sendStateless(r, destination),
      () => {
        this.ctx.logger.warn({ callId: this.callId, cseq }, 'no ACK for 2xx after 64*T1 (RFC 3261 §13.3.1.4): BYE');
        void this.sendByeAndTerminate('ack-timeout', 'SIP;cause=408;text="ACK timeout"');
      },
    );
  }

  /** An ACK for a 2xx of ours (the transaction layer passed it up, RFC 6026). */
  handleAck(ack: SipRequest): void {
    const pending = this.pendingAck;
    const seq = parseCSeq(ack.headers.get('cseq') ?? '').seq;
    if (pending?.cseq !== seq || !pending.ack()) return; // retransmitted or stray ACK: absorbed
    // §13.3.1.4: "Response retransmissions cease when an ACK request for the response is received": the 2xx (with our SDP) is no longer needed.
    this.pendingAck = undefined;
    this.confirm();
    this.initialAckSeen = true;
    let sdp: string | undefined;
    if (this.offerInPendingAck) {
      sdp = sdpOf(ack);
      if (sdp !== undefined) {
        this.remoteSdp = sdp;
        this.remoteSdpHandlers.emit(sdp);
      }
    }
    this.ackHandlers.emit(sdp);
    const bye = this.byeAfterAck;
    if (bye !== undefined) {
      this.byeAfterAck = undefined;
      void this.bye(bye.reason).then(bye.resolve);
    }
  }

  private receiveUpdate(tx: ServerTransaction): void {
    const req = tx.request;
    const offer = sdpOf(req);
    // RFC 3311 §5.2: "If an UPDATE is received that contains an offer, and the UAS has generated an offer (in an UPDATE, PRACK or INVITE) to which it has not yet received an answer, the UAS MUST reject the UPDATE with a 491 response."
    if (offer !== undefined && this.offerOutstanding) {
      tx.respond(this.respond(req, 491));
      return;
    }
    // RFC 3311 §5.2: an offer while an offer/answer of an INVITE we received is still open: "MUST reject the UPDATE with a 500 response, and MUST include a Retry-After"
    if (offer !== undefined && this.pendingAck?.state === 'waiting' && this.offerInPendingAck) {
      tx.respond(this.respond(req, 500, { headers: [['Retry-After', String(Math.floor(this.ctx.random() * 11))]] }));
      return;
    }
    const timer = negotiateAsUas(req.headers, this.ctx.sessionTimer);
    if (timer.kind === 'reject') {
      tx.respond(this.respond(req, 422, { headers: [['Min-SE', String(timer.minSE)]] }));
      return;
    }
    let answer: string | undefined;
    if (offer !== undefined) {
      const result = this.answerOffer(req, offer);
      if ('error' in result) {
        tx.respond(result.error);
        return;
      }
      answer = result.sdp;
      this.remoteSdp = offer;
      this.localSdp = answer;
      this.remoteSdpHandlers.emit(offer);
    }
    this.refreshTarget(req);
    tx.respond(this.respond(req, 200, { ...(answer !== undefined ? { sdp: answer } : {}), headers: timer.kind === 'timer' ? timer.responseHeaders : [] }));
    if (timer.kind === 'timer') this.sessionTimer.start(timer.interval, timer.weRefresh);
    else if (this.sessionTimer.running) this.sessionTimer.start(this.sessionTimer.interval, this.sessionTimer.weRefresh);
  }

  private receiveInfo(tx: ServerTransaction): void {
    const req = tx.request;
    const type = req.headers.get('content-type');
    if (req.body.length === 0 || type === undefined) {
      tx.respond(this.respond(req, 200));
      return;
    }
    const dtmf = parseDtmfInfo(type, req.body.toString('utf8'));
    if (dtmf !== undefined) {
      tx.respond(this.respond(req, 200));
      this.dtmfHandlers.emit(dtmf);
      this.infoHandlers.emit(req);
      return;
    }
    if (this.infoHandlers.size === 0) {
      // RFC 6086 §4.2.2: a body the UAS does not understand is refused with 415 listing what it accepts.
      tx.respond(this.respond(req, 415, { headers: [['Accept', 'application/dtmf-relay, application/dtmf']] }));
      return;
    }
    tx.respond(this.respond(req, 200));
    this.infoHandlers.emit(req);
  }

  /** RFC 3515 §2.4.2: "A UA accepting a REFER request ... responds with 202"; refusal by policy (allowRefer=false) is 403. */
  private receiveRefer(tx: ServerTransaction): void {
    const req = tx.request;
    const referTo = req.headers.getAll('refer-to');
    // RFC 3515 §2.4.1: "A REFER request MUST contain exactly one Refer-To header field value."
    if (referTo.length !== 1) {
      tx.respond(this.respond(req, 400, { reason: 'Exactly One Refer-To Required' }));
      return;
    }
    const handler = this.referHandler;
    if (!this.allowRefer || handler === undefined) {
      tx.respond(this.respond(req, 403, { reason: 'Transfer Not Allowed' }));
      return;
    }
    const eventId = parseCSeq(req.headers.get('cseq') ?? '').seq;
    let ended = false;
    const progress: ReferProgress = {
      notify: (status, reason) => {
        if (ended || this.current === 'terminated') return;
        ended = status >= 200;
        const frag = `SIP/2.0 ${status} ${reason ?? (status >= 200 && status < 300 ? 'OK' : status < 200 ? 'Trying' : 'Failed')}\r\n`;
        void this.sendNotify(eventId, frag, ended ? 'terminated;reason=noresource' : 'active;expires=60');
      },
    };
    let decision: ReferDecision;
    try {
      decision = handler(req, progress);
    } catch (err) {
      this.ctx.logger.error({ err, callId: this.callId }, 'REFER handler threw');
      decision = { accept: false, status: 500 };
    }
    if (!decision.accept) {
      tx.respond(this.respond(req, decision.status ?? 603));
      return;
    }
    tx.respond(this.respond(req, 202));
    // RFC 3515 §2.4.4: the REFER creates an implicit subscription; the first NOTIFY reports 100 Trying unless the app already reported.
    if (!ended) progress.notify(100, 'Trying');
  }

  private async sendNotify(eventId: number, body: string, state: string): Promise<void> {
    if (this.current === 'terminated') return;
    const { request, nextHop } = this.build('NOTIFY', {
      body,
      contentType: 'message/sipfrag;version=2.0',
      headers: [
        ['Event', `refer;id=${eventId}`],
        ['Subscription-State', state],
      ],
    });
    try {
      const dest = await this.destination(nextHop);
      await sendRequest(this.ctx, request, dest, this.requestOptions());
    } catch (err) {
      this.ctx.logger.warn({ err, callId: this.callId }, 'NOTIFY failed');
    }
  }

  private receiveNotify(tx: ServerTransaction): void {
    const req = tx.request;
    const event = req.headers.get('event') ?? '';
    const [pkg, ...params] = event.split(';').map((s) => s.trim());
    if (pkg?.toLowerCase() === 'refer') {
      const idParam = params.find((p) => p.toLowerCase().startsWith('id='));
      const id = idParam?.slice(3);
      const wait = (id !== undefined ? this.referWaits.get(id) : undefined) ?? (this.referWaits.size === 1 ? this.referWaits.values().next().value : undefined);
      tx.respond(this.respond(req, 200));
      this.notifyHandlers.emit(req);
      if (wait === undefined) return;
      const frag = parseSipfragStatus(req.body.toString('utf8'));
      if (frag !== undefined) wait.lastStatus = frag.status;
      const terminated = subscriptionState(req.headers.get('subscription-state')) === 'terminated';
      if ((frag !== undefined && frag.status >= 200) || terminated) {
        for (const [k, v] of this.referWaits) if (v === wait) this.referWaits.delete(k);
        wait.timer.cancel();
        const status = frag?.status ?? wait.lastStatus;
        wait.resolve({ status, final: status >= 200 && status < 300 ? 'success' : 'failure' });
      }
      return;
    }
    if (this.notifyHandlers.size === 0) {
      // RFC 6665 §4.1.3: a NOTIFY that matches no subscription gets 481.
      tx.respond(this.respond(req, 481));
      return;
    }
    tx.respond(this.respond(req, 200));
    this.notifyHandlers.emit(req);
  }

  // ---- outbound requests --------------------------------------------------------------

  /**
   * §15.1.1: "The UAC MUST consider the session terminated ... as soon as the BYE request is
   * passed to the client transaction." §15: the callee "MUST NOT send a BYE on a confirmed
   * dialog until it has received an ACK for its 2xx response or until the server transaction
   * times out": such a BYE waits for the ACK.
   */
  bye(reason?: string): Promise<void> {
    if (this.current === 'terminated') return Promise.resolve();
    if (this.role === 'uas' && !this.initialAckSeen && this.pendingAck?.state === 'waiting') {
      // A second hang-up (shutdown drain after an RTP timeout, say) joins the first: replacing
      // it would leave the first caller's promise unresolved forever.
      if (this.byeAfterAck !== undefined) return this.byeAfterAck.promise;
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.byeAfterAck = { reason, promise, resolve };
      return promise;
    }
    return this.sendByeAndTerminate('bye', reason);
  }

  private sendByeAndTerminate(cause: TerminationCause, reason?: string): Promise<void> {
    if (this.current === 'terminated') return Promise.resolve();
    const { request, nextHop } = this.build('BYE', { headers: reason === undefined ? [] : [['Reason', reason]] });
    this.terminate(cause);
    return this.destination(nextHop)
      .then((dest) => sendRequest(this.ctx, request, dest, this.requestOptions()))
      .then((outcome) => {
        if (outcome.kind !== 'response') this.ctx.logger.info({ callId: this.callId, outcome: outcome.kind }, 'BYE got no response');
      })
      .catch((err: unknown) => {
        this.ctx.logger.warn({ err, callId: this.callId }, 'BYE could not be sent');
      });
  }

  /**
   * Sends a re-INVITE with `sdp` as the offer and resolves with the answer. §14.1: "a UAC MUST NOT
   * initiate a re-INVITE transaction while another INVITE transaction is in progress in either
   * direction"; a 491 is retried after the glare timer (§14.1, up to 3 times).
   */
  reinvite(sdp: string, extraHeaders: [string, string][] = []): Promise<string> {
    if (this.current !== 'confirmed') return Promise.reject(new Error('re-INVITE needs a confirmed dialog'));
    if (this.offerOutstanding || this.pendingAck?.state === 'waiting') return Promise.reject(new Error('an offer/answer exchange is in progress (RFC 3261 §14.1)'));
    this.offerOutstanding = true;
    return this.sendReinvite(sdp, extraHeaders, 0).finally(() => {
      this.offerOutstanding = false;
    });
  }

  private async sendReinvite(sdp: string, extraHeaders: [string, string][], attempt: number): Promise<string> {
    const timerHeaders = uacRequestHeaders(this.ctx.sessionTimer, this.sessionTimer.running ? { interval: this.sessionTimer.interval, weRefresh: this.sessionTimer.weRefresh } : undefined);
    const { request, nextHop } = this.build('INVITE', { body: sdp, headers: [...timerHeaders, ...extraHeaders] });
    const dest = await this.destination(nextHop);
    const response = await new Promise<SipResponse | Error>((resolve) => {
      const cr = new ClientRequest(this.ctx, request, dest, {
        onFinal: (r) => {
          if (r.status >= 200 && r.status < 300) this.ackInviteResponse(cr.request, r, dest);
          resolve(r);
        },
        onRetransmitted2xx: (r) => this.ackInviteResponse(cr.request, r, dest),
        onTimeout: () => resolve(new Error('re-INVITE timed out')),
        onTransportError: (err) => resolve(err),
      }, this.requestOptions());
      cr.start();
    });
    if (response instanceof Error) {
      // §12.2.1.2: "If ... the request ... generates ... a 481 or 408 ... the UAC SHOULD terminate the dialog"; a timeout counts as 408.
      this.sendByeAndTerminate('error').catch(() => undefined);
      throw response;
    }
    if (response.status >= 200 && response.status < 300) {
      this.localSdp = sdp;
      this.refreshTarget(response);
      const answer = sdpOf(response);
      if (answer !== undefined) {
        this.remoteSdp = answer;
        this.remoteSdpHandlers.emit(answer);
      }
      const st = negotiateAsUac(response.headers);
      if (st !== undefined) this.sessionTimer.start(st.interval, st.weRefresh);
      else if (this.sessionTimer.running) this.sessionTimer.start(this.sessionTimer.interval, this.sessionTimer.weRefresh);
      if (answer === undefined) throw new Error('2xx to re-INVITE without SDP answer');
      return answer;
    }
    if (response.status === 491 && attempt < MAX_GLARE_RETRIES) {
      const delay = glareRetryDelayMs(this.role === 'uac', this.ctx.random);
      await new Promise<void>((resolve) => this.ctx.clock.setTimeout(resolve, delay));
      if (this.current !== 'confirmed') throw new Error('dialog ended during glare back-off');
      return this.sendReinvite(sdp, extraHeaders, attempt + 1);
    }
    if (response.status === 481 || response.status === 408) {
      this.terminate('error');
    }
    // §14.1: "If a UA receives a non-2xx final response to a re-INVITE, the session parameters MUST remain unchanged".
    throw Object.assign(new Error(`re-INVITE failed: ${response.status} ${response.reason}`), { status: response.status });
  }

  /** §13.2.2.4: ACK each 2xx (and each retransmission of it) to our INVITE. */
  private ackInviteResponse(invite: SipRequest, r: SipResponse, dest: SipEndpoint): void {
    const seq = parseCSeq(invite.headers.get('cseq') ?? '').seq;
    if (this.lastAck?.cseq !== seq) {
      const { request } = this.build('ACK', { cseq: seq });
      for (const h of ['authorization', 'proxy-authorization']) {
        const v = invite.headers.get(h);
        if (v !== undefined) request.headers.append(h === 'authorization' ? 'Authorization' : 'Proxy-Authorization', v);
      }
      this.lastAck = { cseq: seq, ack: request, destination: dest };
    }
    void r;
    this.ctx.transactions.sendStateless(this.lastAck.ack, this.lastAck.destination);
  }

  /** The UA saw a 2xx retransmission for the dialog-creating INVITE: re-send our ACK. */
  resendAck(): void {
    if (this.lastAck !== undefined) this.ctx.transactions.sendStateless(this.lastAck.ack, this.lastAck.destination);
  }

  /** Sends the ACK for the 2xx of the dialog-creating INVITE (§13.2.2.4) and keeps it for re-sending. */
  async sendInitialAck(cseq: number): Promise<void> {
    const { request, nextHop } = this.build('ACK', { cseq });
    try {
      const destination = await this.destination(nextHop);
      this.lastAck = { cseq, ack: request, destination };
      this.ctx.transactions.sendStateless(request, destination);
    } catch (err) {
      this.ctx.logger.warn({ err, callId: this.callId }, 'ACK could not be sent');
    }
  }

  /** RFC 4028 §10: refresh at half the interval: UPDATE when the peer allows it, else re-INVITE. */
  private refreshSession(): void {
    if (this.current !== 'confirmed') return;
    if (this.offerOutstanding || this.pendingAck?.state === 'waiting') {
      // Another exchange is running and will refresh the session when it completes.
      return;
    }
    const interval = this.sessionTimer.interval;
    if (this.peerAllow.includes('UPDATE') || this.localSdp === undefined) {
      const { request, nextHop } = this.build('UPDATE', { headers: uacRequestHeaders(this.ctx.sessionTimer, { interval, weRefresh: true }) });
      this.destination(nextHop)
        .then((dest) => sendRequest(this.ctx, request, dest, this.requestOptions()))
        .then((outcome) => {
          if (outcome.kind !== 'response') return this.sendByeAndTerminate('error');
          const r = outcome.response;
          if (r.status >= 200 && r.status < 300) {
            this.refreshTarget(r);
            const st = negotiateAsUac(r.headers);
            this.sessionTimer.start(st?.interval ?? interval, st?.weRefresh ?? true);
          } else if (r.status === 481 || r.status === 408) {
            this.terminate('error');
          }
          return undefined;
        })
        .catch((err: unknown) => this.ctx.logger.warn({ err, callId: this.callId }, 'session refresh failed'));
      return;
    }
    this.reinvite(this.localSdp).catch((err: unknown) => {
      this.ctx.logger.warn({ err, callId: this.callId }, 'session refresh re-INVITE failed');
    });
  }

  /**
   * RFC 3515 §2.4: sends REFER and follows the implicit subscription's NOTIFYs to a final
   * status. `replaces` (RFC 3891) is embedded as a header of the Refer-To URI for attended
   * transfer: `<sip:target?Replaces=callid%3Bto-tag%3D..%3Bfrom-tag%3D..>`.
   */
  async refer(target: string, options: { replaces?: string; timeoutMs?: number } = {}): Promise<ReferResult> {
    if (this.current !== 'confirmed') return { status: 0, final: 'failure' };
    let uri = target.startsWith('<') ? target.slice(1, target.lastIndexOf('>')) : target;
    if (options.replaces !== undefined) uri += `${uri.includes('?') ? '&' : '?'}Replaces=${encodeURIComponent(options.replaces)}`;
    const { request, nextHop } = this.build('REFER', {
      headers: [
        ['Refer-To', `<${uri}>`],
        ['Referred-By', `<${formatUri(this.local.uri)}>`],
      ],
    });
    // RFC 3515 §2.4.6: the NOTIFYs of this REFER carry Event: refer;id=<CSeq of the REFER>.
    const seq = String(parseCSeq(request.headers.get('cseq') ?? '').seq);
    const result = new Promise<ReferResult>((resolve) => {
      const timer = this.ctx.clock.setTimeout(() => {
        const lastStatus = this.referWaits.get(seq)?.lastStatus ?? 0;
        this.referWaits.delete(seq);
        resolve({ status: lastStatus, final: 'timeout' });
      }, options.timeoutMs ?? 60_000);
      this.referWaits.set(seq, { resolve, timer, lastStatus: 0 });
    });
    const dest = await this.destination(nextHop);
    const outcome = await sendRequest(this.ctx, request, dest, this.requestOptions());
    if (outcome.kind !== 'response' || outcome.response.status >= 300) {
      const wait = this.referWaits.get(seq);
      wait?.timer.cancel();
      this.referWaits.delete(seq);
      return { status: outcome.kind === 'response' ? outcome.response.status : 408, final: 'failure' };
    }
    return result;
  }

  /** RFC 6086: INFO within the dialog; resolves with the final response. */
  async info(contentType: string, body: string): Promise<SipResponse> {
    if (this.current === 'terminated') throw new Error('dialog terminated');
    const { request, nextHop } = this.build('INFO', { body, contentType });
    const dest = await this.destination(nextHop);
    const outcome = await sendRequest(this.ctx, request, dest, this.requestOptions());
    if (outcome.kind === 'response') {
      if (outcome.response.status === 481 || outcome.response.status === 408) this.terminate('error');
      return outcome.response;
    }
    throw outcome.kind === 'timeout' ? new Error('INFO timed out') : outcome.error;
  }

  /** True when the peer's Require lists `timer` support or its Supported does. */
  static peerSupportsTimer(msg: SipRequest | SipResponse): boolean {
    return hasOptionTag(msg.headers, 'supported', 'timer');
  }

  /** The Replaces value (RFC 3891 §6.1) naming this dialog, for an attended transfer by the peer. */
  replacesValue(): string {
    return `${this.callId};to-tag=${this.remoteTag};from-tag=${this.localTag}`;
  }

  isTargetRefresh(method: string): boolean {
    return TARGET_REFRESH.has(method);
  }
}
