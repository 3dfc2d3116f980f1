import type { OutboundTrunkConfig, TimerHandle } from '../../shared/index.js';
import { createRequest, formatUri, generateCallId, generateTag, parseCSeq, parseNameAddr, parseUri } from '../message/index.js';
import type { SipRequest, SipResponse, SipUri } from '../message/index.js';
import { DigestClient } from '../auth/index.js';
import { ALLOW, ClientRequest, HandlerList, RouteSet, SUPPORTED, SipDialog, minSEFrom422, negotiateAsUac, tagOf, uacRequestHeaders } from '../dialog/index.js';
import type { Dialog, DialogContext } from '../dialog/index.js';
import type { SipEndpoint } from '../transport/index.js';

export interface InviteOptions {
  trunk: OutboundTrunkConfig;
  /** E.164 number (+15551234567 or digits) or a SIP URI. */
  to: string;
  /** User part or SIP URI for From; default the trunk's fromNumber. */
  from?: string;
  /** Extra headers; only X- headers are allowed (the stack owns the rest). */
  headers?: Record<string, string>;
  /** Our SDP offer. */
  sdp: string;
  /** CANCEL after this long without a final response. */
  ringTimeoutMs?: number;
}

export type OutgoingCallResult = { dialog: Dialog; sdp: string } | { failed: true; status: number; reason: string };

/** A call we place (RFC 3261 §13.2). */
export interface OutgoingCall {
  readonly callId: string;
  /** 1xx responses (183 with SDP = early media). */
  onProgress(h: (status: number, sdp?: string) => void): void;
  readonly result: Promise<OutgoingCallResult>;
  /** §9.1 CANCEL; the result then fails with 487 (or succeeds if the 2xx won the race and is hung up). */
  cancel(): void;
}

function sdpOf(r: SipResponse): string | undefined {
  const type = r.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return r.body.length > 0 && type === 'application/sdp' ? r.body.toString('utf8') : undefined;
}

/** The Request-URI for `to` on a trunk: SIP URIs as given, numbers at the trunk's host. */
export function requestUriFor(to: string, trunkUri: SipUri): SipUri {
  if (/^sips?:/i.test(to)) return parseUri(to);
  const number = to.startsWith('tel:') ? to.slice(4).split(';')[0] ?? '' : to;
  if (!/^\+?[0-9*#]{1,32}$/.test(number)) throw new TypeError(`not an E.164 number or SIP URI: ${to}`);
  const params = new Map<string, string | null>();
  // RFC 3261 §19.1.6: a telephone number in the user part is marked user=phone.
  if (number.startsWith('+')) params.set('user', 'phone');
  return { scheme: trunkUri.scheme, user: number, host: trunkUri.host, ...(trunkUri.port !== undefined ? { port: trunkUri.port } : {}), params, headers: new Map() };
}

/**
 * The UAC side of one INVITE (RFC 3261 §13.2): provisional responses, digest retry (§22.2),
 * 422 retry with a larger Session-Expires (RFC 4028 §7.4), CANCEL and ring timeout, the dialog
 * of the first 2xx with its ACK (§13.2.2.4), and ACK + BYE for 2xx from other forks.
 */
export class OutboundCall implements OutgoingCall {
  readonly callId: string;
  readonly result: Promise<OutgoingCallResult>;
  private resolveResult!: (r: OutgoingCallResult) => void;
  private readonly progress: HandlerList<[number, string | undefined]>;
  private request: ClientRequest | undefined;
  private cseq = 1;
  private settled = false;
  private cancelled = false;
  private ringTimedOut = false;
  private ringTimer: TimerHandle | undefined;
  private dialog: SipDialog | undefined;
  private retried422 = false;
  private readonly localTag = generateTag();
  private readonly digest: DigestClient | undefined;

  constructor(
    private readonly ctx: DialogContext,
    private readonly options: InviteOptions,
    private readonly register: (d: SipDialog) => void,
  ) {
    this.callId = generateCallId();
    this.progress = new HandlerList(ctx.logger, 'progress');
    this.result = new Promise((resolve) => {
      this.resolveResult = resolve;
    });
    const auth = options.trunk.auth;
    this.digest = auth === undefined ? undefined : new DigestClient({ username: auth.authUsername ?? auth.username, password: auth.password, ...(auth.realm !== undefined ? { realm: auth.realm } : {}) });
    for (const name of Object.keys(options.headers ?? {})) {
      if (!/^x-[A-Za-z0-9-]+$/i.test(name)) throw new TypeError(`only X- headers may be added to an INVITE, got ${name}`);
    }
    this.start().catch((err: unknown) => {
      ctx.logger.warn({ err, callId: this.callId }, 'outgoing call failed to start');
      this.fail(503, err instanceof Error ? err.message : 'Service Unavailable');
    });
  }

  onProgress(h: (status: number, sdp?: string) => void): void {
    this.progress.add(h);
  }

  cancel(): void {
    if (this.settled || this.cancelled) return;
    this.cancelled = true;
    if (this.request === undefined) {
      this.fail(487, 'Request Terminated');
      return;
    }
    this.request.cancel();
  }

  private fail(status: number, reason: string): void {
    if (this.settled) return;
    this.settled = true;
    this.ringTimer?.cancel();
    this.resolveResult({ failed: true, status, reason });
  }

  private async start(): Promise<void> {
    const { trunk } = this.options;
    const trunkUri = parseUri(trunk.uri);
    const requestUri = requestUriFor(this.options.to, trunkUri);
    const destination = await this.ctx.resolve(trunkUri, trunk.transport);
    if (this.settled) return;
    const fromUser = this.options.from ?? trunk.fromNumber ?? 'trunkline';
    const fromUri = /^sips?:/i.test(fromUser) ? fromUser : `sip:${fromUser}@${trunkUri.host}`;
    const headers: [string, string][] = [
      ['Max-Forwards', '70'],
      ['From', `<${fromUri}>;tag=${this.localTag}`],
      ['To', `<${formatUri(requestUri)}>`],
      ['Call-ID', this.callId],
      ['CSeq', `${this.cseq} INVITE`],
      ['Contact', this.ctx.contact(trunk.transport, destination.host)],
      ['Allow', ALLOW],
      ['Supported', SUPPORTED],
      ...uacRequestHeaders(this.ctx.sessionTimer),
      ['User-Agent', this.ctx.userAgent],
      ...Object.entries(this.options.headers ?? {}),
      ['Content-Type', 'application/sdp'],
    ];
    const invite = createRequest({ method: 'INVITE', uri: requestUri, headers, body: this.options.sdp });
    if (this.options.ringTimeoutMs !== undefined) {
      this.ringTimer = this.ctx.clock.setTimeout(() => {
        this.ringTimedOut = true;
        this.cancel();
      }, this.options.ringTimeoutMs);
    }
    this.send(invite, destination);
  }

  private send(invite: SipRequest, destination: SipEndpoint): void {
    const cr = new ClientRequest(
      this.ctx,
      invite,
      destination,
      {
        onProvisional: (r) => {
          if (r.status > 100) this.progress.emit(r.status, sdpOf(r));
        },
        onFinal: (r) => this.final(cr.request, r, destination),
        onRetransmitted2xx: (r) => this.retransmitted2xx(cr.request, r),
        onTimeout: () => this.fail(this.ringTimedOut ? 408 : 408, 'Request Timeout'),
        onTransportError: (err) => this.fail(503, `Transport error: ${err.message}`),
      },
      { digest: this.digest, nextCSeq: () => ++this.cseq },
    );
    this.request = cr;
    cr.start();
    if (this.cancelled) cr.cancel();
  }

  private final(invite: SipRequest, r: SipResponse, destination: SipEndpoint): void {
    if (r.status >= 200 && r.status < 300) {
      this.accept(invite, r);
      return;
    }
    // RFC 4028 §7.4: "the UAC MAY retry the request" with Session-Expires no lower than the 422's Min-SE.
    if (r.status === 422 && !this.retried422 && !this.cancelled) {
      const minSE = minSEFrom422(r.headers);
      if (minSE !== undefined) {
        this.retried422 = true;
        const next = createRequest({ method: 'INVITE', uri: invite.uri, headers: invite.headers.clone(), body: invite.body });
        next.headers.set('CSeq', `${++this.cseq} INVITE`);
        next.headers.set('Session-Expires', String(Math.max(minSE, this.ctx.sessionTimer.sessionExpires)));
        next.headers.set('Min-SE', String(minSE));
        this.send(next, destination);
        return;
      }
    }
    if (this.ringTimedOut && r.status === 487) this.fail(408, 'Ring Timeout');
    else this.fail(r.status, r.reason);
  }

  /** §13.2.2.4: the first 2xx makes the dialog; its ACK goes to the dialog's next hop. */
  private accept(invite: SipRequest, r: SipResponse): void {
    const seq = parseCSeq(invite.headers.get('cseq') ?? '').seq;
    const dialog = this.makeDialog(invite, r, seq);
    this.dialog = dialog;
    this.register(dialog);
    void dialog.sendInitialAck(seq);
    const answer = sdpOf(r);
    if (this.settled || this.cancelled || answer === undefined) {
      // The 2xx crossed our CANCEL (§9.1 race), or carries no answer to our offer: ACK, then BYE (§13.2.2.4).
      void dialog.bye(answer === undefined ? 'SIP;cause=488;text="No SDP answer"' : undefined);
      if (this.ringTimedOut) this.fail(408, 'Ring Timeout');
      else this.fail(answer === undefined ? 488 : 487, answer === undefined ? 'No SDP Answer' : 'Request Terminated');
      return;
    }
    const st = negotiateAsUac(r.headers);
    if (st !== undefined) dialog.startSessionTimer(st.interval, st.weRefresh);
    this.settled = true;
    this.ringTimer?.cancel();
    this.resolveResult({ dialog, sdp: answer });
  }

  private makeDialog(invite: SipRequest, r: SipResponse, seq: number): SipDialog {
    const answer = sdpOf(r);
    const contact = r.headers.get('contact');
    const to = parseNameAddr(r.headers.get('to') ?? '');
    return new SipDialog(this.ctx, {
      role: 'uac',
      state: 'confirmed',
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: to.params.get('tag') ?? '',
      local: parseNameAddr(invite.headers.get('from') ?? ''),
      remote: to,
      localSeq: seq,
      // §12.1.2: "The remote target MUST be set to the URI from the Contact header field of the response."
      remoteTarget: contact === undefined ? invite.uri : parseNameAddr(contact).uri,
      // §12.1.2: "The route set MUST be set to the list of URIs in the Record-Route header field from the response, taken in reverse order"
      routeSet: RouteSet.fromRecordRoute(r.headers.getAll('record-route'), 'uac'),
      protocol: this.options.trunk.transport,
      localSdp: this.options.sdp,
      ...(answer !== undefined ? { remoteSdp: answer } : {}),
      peerAllow: r.headers.getAll('allow').map((m) => m.trim().toUpperCase()),
      allowRefer: false,
      ...(this.digest !== undefined ? { digest: this.digest } : {}),
    });
  }

  /**
   * A 2xx retransmission (or a 2xx from another fork, RFC 6026 §7.2): re-send the ACK for ours;
   * §13.2.2.4 for others: "the UAC core MUST ... send an ACK ... [and] terminate the dialog with a BYE".
   */
  private retransmitted2xx(invite: SipRequest, r: SipResponse): void {
    const toTag = tagOf(r.headers.get('to'));
    if (this.dialog !== undefined && toTag === this.dialog.remoteTag) {
      this.dialog.resendAck();
      return;
    }
    const seq = parseCSeq(invite.headers.get('cseq') ?? '').seq;
    const other = this.makeDialog(invite, r, seq);
    void other.sendInitialAck(seq).then(() => other.bye());
  }
}
