import type { InboundTrunkConfig } from '../../shared/index.js';
import { createResponse, parseCSeq, parseNameAddr } from '../message/index.js';
import type { NameAddr, SipRequest } from '../message/index.js';
import { ALLOW, HandlerList, RouteSet, SUPPORTED, SipDialog } from '../dialog/index.js';
import type { Dialog, DialogContext, UasNegotiation } from '../dialog/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import { requires100rel } from './request-policy.js';

/** A new INVITE offered to the application (RFC 3261 §13.3). */
export interface IncomingCall {
  readonly callId: string;
  readonly request: SipRequest;
  readonly trunk: InboundTrunkConfig;
  /** The SDP offer; undefined for a delayed offer (answer() then carries our offer). */
  readonly remoteSdp: string | undefined;
  readonly from: NameAddr;
  readonly to: NameAddr;
  /** The dialog this INVITE replaces (RFC 3891), when it carried a Replaces header we matched. */
  readonly replaces: Dialog | undefined;
  readonly state: IncomingCallState;
  header(name: string): string | undefined;
  /** 180 Ringing, or 183 Session Progress with SDP for early media. */
  ringing(sdp?: string): void;
  /** Sends 200 with `localSdp` and retransmits it until the ACK (§13.3.1.4). */
  answer(localSdp: string): Dialog;
  reject(status: number, reason?: string, headers?: Record<string, string>): void;
  /** The caller cancelled (§9.2): 487 has already been sent. */
  onCancel(h: () => void): void;
}

export type IncomingCallState = 'proceeding' | 'early' | 'answered' | 'rejected' | 'cancelled';

/**
 * The UAS side of one INVITE until its final response (RFC 3261 §13.3.1): provisional responses
 * (§13.3.1.1), CANCEL → 487 (§9.2), 2xx with the dialog it creates (§12.1.1), or a rejection.
 */
export class InboundCall implements IncomingCall {
  readonly callId: string;
  readonly request: SipRequest;
  readonly remoteSdp: string | undefined;
  readonly from: NameAddr;
  readonly to: NameAddr;
  private current: IncomingCallState = 'proceeding';
  private readonly localTag: string;
  private dialog: SipDialog | undefined;
  private readonly cancelHandlers: HandlerList<[]>;

  constructor(
    private readonly ctx: DialogContext,
    private readonly tx: ServerTransaction,
    readonly trunk: InboundTrunkConfig,
    private readonly sessionTimer: UasNegotiation,
    private readonly register: (d: SipDialog) => void,
    localTag: string,
    readonly replaces: Dialog | undefined,
  ) {
    this.request = tx.request;
    this.callId = this.request.headers.get('call-id') ?? '';
    this.from = parseNameAddr(this.request.headers.get('from') ?? '');
    this.to = parseNameAddr(this.request.headers.get('to') ?? '');
    this.localTag = localTag;
    const type = this.request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    this.remoteSdp = this.request.body.length > 0 && type === 'application/sdp' ? this.request.body.toString('utf8') : undefined;
    this.cancelHandlers = new HandlerList(ctx.logger, 'cancel');
    tx.onCancel(() => this.cancelled());
  }

  get state(): IncomingCallState {
    return this.current;
  }

  header(name: string): string | undefined {
    return this.request.headers.get(name);
  }

  onCancel(h: () => void): void {
    this.cancelHandlers.add(h);
  }

  /** The one transition function of the UAS INVITE session. */
  private move(next: IncomingCallState): void {
    const from = this.current;
    const legal = (from === 'proceeding' || from === 'early') && (next === 'early' || next === 'answered' || next === 'rejected' || next === 'cancelled');
    if (!legal) throw new Error(`incoming call ${this.callId}: cannot go from ${from} to ${next}`);
    this.current = next;
  }

  /** The dialog (early, then confirmed) this INVITE creates; §12.1.1 gives its state. */
  private ensureDialog(): SipDialog {
    if (this.dialog !== undefined) return this.dialog;
    const req = this.request;
    const contact = req.headers.get('contact');
    const target = contact === undefined ? this.from.uri : parseNameAddr(contact).uri;
    const init = {
      role: 'uas' as const,
      state: 'early' as const,
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: this.from.params.get('tag') ?? '',
      local: this.to,
      remote: this.from,
      remoteSeq: parseCSeq(req.headers.get('cseq') ?? '').seq,
      remoteTarget: target,
      // §12.1.1: "The route set MUST be set to the list of URIs in the Record-Route header field from the request, taken in order"
      routeSet: RouteSet.fromRecordRoute(req.headers.getAll('record-route'), 'uas'),
      protocol: this.tx.source.protocol,
      sourceHost: this.tx.source.host,
      peerAllow: req.headers.getAll('allow').map((m) => m.trim().toUpperCase()),
      allowRefer: this.trunk.allowRefer,
      ...(this.tx.source.connectionId !== undefined ? { connectionId: this.tx.source.connectionId } : {}),
      ...(this.remoteSdp !== undefined ? { remoteSdp: this.remoteSdp } : {}),
    };
    this.dialog = new SipDialog(this.ctx, init);
    this.register(this.dialog);
    this.dialog.onTerminated((cause) => {
      // A BYE in the early dialog (§15.1.2: the UAS "MUST generate a 487" for the pending INVITE).
      if (cause === 'remote-bye' && (this.current === 'proceeding' || this.current === 'early')) {
        this.move('cancelled');
        this.tx.respond(this.response(487));
        this.cancelHandlers.emit();
      }
    });
    return this.dialog;
  }

  private response(status: number, opts: { reason?: string | undefined; headers?: [string, string][]; sdp?: string } = {}): ReturnType<typeof createResponse> {
    const headers: [string, string][] = [];
    // §12.1.1: "the UAS MUST copy all Record-Route header field values from the request into the response"
    if (status > 100 && status < 300) {
      for (const rr of this.request.headers.getAll('record-route')) headers.push(['Record-Route', rr]);
      headers.push(['Contact', this.ctx.contact(this.tx.source.protocol, this.tx.source.host)]);
    }
    if (status >= 200 && status < 300) headers.push(['Allow', ALLOW], ['Supported', SUPPORTED]);
    headers.push(['User-Agent', this.ctx.userAgent]);
    for (const h of opts.headers ?? []) headers.push(h);
    if (opts.sdp !== undefined) headers.push(['Content-Type', 'application/sdp']);
    return createResponse(this.request, status, opts.reason, { toTag: this.localTag, headers, ...(opts.sdp !== undefined ? { body: opts.sdp } : {}) });
  }

  ringing(sdp?: string): void {
    if (this.current !== 'proceeding' && this.current !== 'early') return;
    // RFC 3262 §3: with Require: 100rel a 18x would have to be reliable (PRACK); none is sent.
    if (requires100rel(this.request)) return;
    const dialog = this.ensureDialog();
    if (this.current === 'proceeding') this.move('early');
    if (sdp !== undefined && dialog.localSdp === undefined) dialog.localSdp = sdp;
    this.tx.respond(sdp === undefined ? this.response(180) : this.response(183, { sdp }));
  }

  answer(localSdp: string): Dialog {
    if (this.current !== 'proceeding' && this.current !== 'early') throw new Error(`cannot answer a call that is ${this.current}`);
    const dialog = this.ensureDialog();
    this.move('answered');
    const timerHeaders = this.sessionTimer.kind === 'timer' ? this.sessionTimer.responseHeaders : [];
    const response = this.response(200, { sdp: localSdp, headers: timerHeaders });
    dialog.localSdp = localSdp;
    // §12.1.1: the dialog is confirmed when the 2xx is sent; it is retransmitted until its ACK.
    dialog.confirm();
    dialog.expectAck(parseCSeq(this.request.headers.get('cseq') ?? '').seq, response, this.tx, this.remoteSdp === undefined);
    this.tx.respond(response);
    if (this.sessionTimer.kind === 'timer') dialog.startSessionTimer(this.sessionTimer.interval, this.sessionTimer.weRefresh);
    return dialog;
  }

  reject(status: number, reason?: string, headers?: Record<string, string>): void {
    if (status < 300 || status > 699) throw new RangeError(`reject needs a 3xx-6xx status, got ${status}`);
    if (this.current !== 'proceeding' && this.current !== 'early') return;
    this.move('rejected');
    this.tx.respond(this.response(status, { reason, headers: Object.entries(headers ?? {}) }));
    this.dialog?.terminate('error');
  }

  /** §9.2: "the UAS ... SHOULD immediately respond to the INVITE with a 487 (Request Terminated)". */
  private cancelled(): void {
    if (this.current !== 'proceeding' && this.current !== 'early') return;
    this.move('cancelled');
    this.tx.respond(this.response(487));
    this.dialog?.terminate('cancel');
    this.cancelHandlers.emit();
  }
}
