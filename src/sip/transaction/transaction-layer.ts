import { createResponse, formatVia, generateBranch, generateTag, parseCSeq, parseNameAddr, parseVia } from '../message/index.js';
import type { CSeq, SipMessage, SipRequest, SipResponse, Via } from '../message/index.js';
import type { InboundMessage, SipEndpoint } from '../transport/index.js';
import type { Logger } from '../../shared/index.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { InviteServerTransaction, InviteServerState } from './invite-server-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { safeCall, type TransactionContext } from './transaction-context.js';
import { clientTransactionKey, mergedRequestKey, serverTransactionKey } from './transaction-key.js';
import type { ClientTransaction, ClientTransactionHandlers, ServerTransaction, TransactionLayerOptions } from './types.js';

type ClientTx = InviteClientTransaction | NonInviteClientTransaction;

/**
 * The TU's verdict on a new inbound request, asked BEFORE any server transaction exists:
 * 'accept' creates one as usual; 'drop' keeps no state and sends nothing (an unknown source with
 * unknownSource 'ignore', a scanner); a status is answered statelessly (§8.2.7 allows a UAS
 * core to act statelessly) so that refusing a sweep costs no transaction and no timers.
 */
export type RequestVerdict = 'accept' | 'drop' | { readonly status: number; readonly reason?: string };
export type RequestScreen = (request: SipRequest, source: SipEndpoint) => RequestVerdict;
type ServerTx = InviteServerTransaction | NonInviteServerTransaction;

/** The parts of a request every server-side decision needs, parsed once. */
interface RequestFacts {
  via: Via;
  cseq: CSeq;
  callId: string;
  fromTag: string;
  hasToTag: boolean;
}

/**
 * The transaction layer (RFC 3261 §17): matches inbound messages to transactions (§17.1.3,
 * §17.2.3), creates server transactions for new requests, answers CANCEL (§9.2) and merged
 * requests (§8.2.2.2) itself, and carries the stateless traffic of RFC 6026 (ACK for 2xx, 2xx
 * retransmissions) outside any transaction. It owns its transactions and their timers; it does
 * not own the transport.
 */
export class TransactionLayer {
  private readonly options: TransactionLayerOptions;
  private readonly logger: Logger;
  private readonly clients = new Map<string, ClientTx>();
  private readonly servers = new Map<string, ServerTx>();
  /** §8.2.2.2: From tag + Call-ID + CSeq of ongoing server transactions created by requests without To tag. */
  private readonly merged = new Map<string, ServerTx>();
  private readonly mergedKeyOf = new Map<ServerTx, string>();
  private requestHandler: ((tx: ServerTransaction) => void) | undefined = undefined;
  private ackHandler: ((ack: SipRequest, source: SipEndpoint) => void) | undefined = undefined;
  private strayHandler: ((r: SipResponse, source: SipEndpoint) => void) | undefined = undefined;
  private screenHook: RequestScreen | undefined = undefined;
  private closed = false;
  private readonly ctx: TransactionContext;

  constructor(options: TransactionLayerOptions) {
    this.options = options;
    this.logger = options.logger;
    const transport = options.transport;
    this.ctx = {
      clock: options.clock,
      timers: options.timers,
      logger: options.logger,
      send: (message, destination) => transport.send(message, destination),
      terminated: (id) => this.forget(id),
      startCancel: (cancel, destination) => this.startClient(cancel, destination, cancelHandlers(this.logger), false),
    };
    transport.onMessage((m) => this.receive(m));
  }

  onRequest(handler: (tx: ServerTransaction) => void): void {
    this.requestHandler = handler;
  }

  onAck(handler: (ack: SipRequest, source: SipEndpoint) => void): void {
    this.ackHandler = handler;
  }

  onStrayResponse(handler: (r: SipResponse, source: SipEndpoint) => void): void {
    this.strayHandler = handler;
  }

  /** Installs the screen every request that matches no transaction passes before one is created. */
  setScreen(screen: RequestScreen): void {
    this.screenHook = screen;
  }

  /** False when the request was dropped or answered statelessly by the screen. */
  private screened(req: SipRequest, source: SipEndpoint): boolean {
    const screen = this.screenHook;
    if (screen === undefined) return true;
    let verdict: RequestVerdict;
    try {
      verdict = screen(req, source);
    } catch (err) {
      this.logger.error({ err }, 'request screen threw: request dropped');
      return false;
    }
    if (verdict === 'accept') return true;
    // §17.1.1.3: an ACK is never answered.
    if (verdict !== 'drop' && req.method !== 'ACK') {
      const response = createResponse(req, verdict.status, verdict.reason, { toTag: generateTag() });
      const destination = this.options.transport.responseDestination(parseVia(req.headers.get('via') ?? ''), source);
      this.sendStateless(response, destination);
    }
    return false;
  }

  /**
   * Adds the top Via (advertised host, port, transport, fresh branch, rport) and sends; timers per
   * transport. §8.1.1.7: "When the UAC creates a request, it MUST insert a Via into that request."
   * Any Via already present is replaced (this is a user agent, not a proxy), except on a CANCEL,
   * whose Via "MUST ... match the top Via value in the request being cancelled" (§9.1).
   */
  sendRequest(request: SipRequest, destination: SipEndpoint, handlers: ClientTransactionHandlers): ClientTransaction {
    if (request.method === 'ACK') throw new TypeError('ACK is not sent in a client transaction: use sendStateless (RFC 3261 §17.1.1.3, §13.2.2.4)');
    if (this.closed) throw new Error('transaction layer closed');
    const keepVia = request.method === 'CANCEL' && request.headers.has('via');
    return this.startClient(request, destination, handlers, !keepVia);
  }

  /**
   * Outside any transaction: the ACK for a 2xx (§13.2.2.4) and the TU's 2xx retransmissions
   * (§13.3.1.4). An ACK without Via gets one with a new branch (§17.1.1.3: the ACK for a 2xx "is
   * a new transaction"... it "MUST" carry its own branch). Transport errors are logged.
   */
  sendStateless(message: SipMessage, destination: SipEndpoint): void {
    if (this.closed) return;
    if (message.type === 'request' && !message.headers.has('via')) message.headers.prepend('Via', this.viaFor(destination, generateBranch()));
    this.options.transport.send(message, destination).catch((err: unknown) => {
      this.logger.warn({ err, host: destination.host, port: destination.port }, 'stateless send failed');
    });
  }

  /** Live transactions (client + server). */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  /** Idempotent: drops every transaction and cancels its timers without calling the TU. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of this.clients.values()) tx.dispose();
    for (const tx of this.servers.values()) tx.dispose();
    this.clients.clear();
    this.servers.clear();
    this.merged.clear();
    this.mergedKeyOf.clear();
  }

  // ---- client side ---------------------------------------------------------------------

  private startClient(request: SipRequest, destination: SipEndpoint, handlers: ClientTransactionHandlers, addVia: boolean): ClientTx {
    let branch: string;
    if (addVia) {
      branch = generateBranch();
      request.headers.delete('via');
      request.headers.prepend('Via', this.viaFor(destination, branch));
    } else {
      branch = parseVia(request.headers.get('via') ?? '').params.get('branch') ?? generateBranch();
    }
    const id = clientTransactionKey(branch, request.method);
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(id, request, destination, handlers, this.ctx)
        : new NonInviteClientTransaction(id, request, destination, handlers, this.ctx);
    this.clients.get(id)?.dispose();
    this.clients.set(id, tx);
    tx.start();
    return tx;
  }

  private viaFor(destination: SipEndpoint, branch: string): string {
    const transport = this.options.transport;
    return formatVia({
      protocol: 'SIP/2.0',
      transport: destination.protocol.toUpperCase(),
      host: transport.advertisedHost(destination.host),
      port: transport.port,
      // RFC 3581 §3: "A client implementing this specification MAY include an rport parameter ... with no value"
      params: new Map<string, string | null>([['branch', branch], ['rport', null]]),
    });
  }

  // ---- inbound -------------------------------------------------------------------------

  private receive(m: InboundMessage): void {
    if (this.closed) return;
    try {
      if (m.message.type === 'response') this.receiveResponse(m.message, m.source);
      else this.receiveRequest(m.message, m.source);
    } catch (err) {
      this.logger.warn({ err, host: m.source.host, port: m.source.port }, 'inbound message dropped');
    }
  }

  private receiveResponse(res: SipResponse, source: SipEndpoint): void {
    const vias = res.headers.getAll('via');
    // §8.1.3.3: "If more than one Via header field value is present in a response, the UAC SHOULD discard the message."
    if (vias.length !== 1) {
      this.logger.debug({ vias: vias.length, status: res.status }, 'response with other than one Via discarded');
      return;
    }
    const branch = parseVia(vias[0] ?? '').params.get('branch');
    const cseq = parseCSeq(res.headers.get('cseq') ?? '');
    const tx = branch === undefined || branch === null ? undefined : this.clients.get(clientTransactionKey(branch, cseq.method));
    if (tx !== undefined) {
      tx.receiveResponse(res);
      return;
    }
    // RFC 6026 §7.1.2 ("responses that do not match a transaction") go to the TU, which decides (2xx to INVITE re-ACKed by a dialog, else dropped).
    if (this.strayHandler !== undefined) {
      const h = this.strayHandler;
      safeCall(this.logger, 'onStrayResponse', () => h(res, source));
    } else {
      this.logger.debug({ status: res.status, method: cseq.method }, 'stray response dropped');
    }
  }

  private receiveRequest(req: SipRequest, source: SipEndpoint): void {
    const facts = this.factsOf(req);
    const keyInput = { via: facts.via, requestUri: req.rawUri, callId: facts.callId, fromTag: facts.fromTag, cseq: facts.cseq };

    if (req.method === 'ACK') {
      const invite = this.servers.get(serverTransactionKey({ ...keyInput, method: 'INVITE' }));
      if (invite instanceof InviteServerTransaction && invite.receiveAck() === 'absorbed') return;
      if (!this.screened(req, source)) return;
      // §17.2.3 / RFC 6026: an ACK for a 2xx matches no transaction and goes to the TU (the dialog).
      if (this.ackHandler !== undefined) {
        const h = this.ackHandler;
        safeCall(this.logger, 'onAck', () => h(req, source));
      }
      return;
    }

    const key = serverTransactionKey({ ...keyInput, method: req.method });
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      // A retransmission: absorbed by its transaction, never passed to the TU twice (§17.2.1, §17.2.2).
      existing.receiveRequest();
      return;
    }
    if (!this.screened(req, source)) return;

    if (req.method === 'CANCEL') {
      this.receiveCancel(req, source, key, serverTransactionKey({ ...keyInput, method: 'INVITE' }));
      return;
    }

    const tx = this.createServer(key, req, source, facts.via);
    if (!facts.hasToTag) {
      const mkey = mergedRequestKey(facts.callId, facts.fromTag, facts.cseq);
      if (this.merged.has(mkey)) {
        // §8.2.2.2: "If the From tag, Call-ID, and CSeq exactly match those associated with an ongoing transaction, but the request does not match that transaction ... the UAS core SHOULD generate a 482 (Loop Detected) response"
        tx.respond(createResponse(req, 482, undefined, { toTag: generateTag() }));
        return;
      }
      this.merged.set(mkey, tx);
      this.mergedKeyOf.set(tx, mkey);
    }
    if (this.requestHandler === undefined) {
      tx.respond(createResponse(req, 503, undefined, { toTag: generateTag() }));
      return;
    }
    const h = this.requestHandler;
    safeCall(this.logger, 'onRequest', () => h(tx));
  }

  /**
   * §9.2: "If the UAS did not find a matching transaction for the CANCEL according to the
   * procedure above, it SHOULD respond to the CANCEL with a 481 (Call Leg/Transaction Does Not
   * Exist)." Otherwise "a UAS ... responds to the CANCEL with a 200"; the TU answers the INVITE
   * with 487 when it was still pending. A late CANCEL gets the 200 and changes nothing.
   */
  private receiveCancel(cancel: SipRequest, source: SipEndpoint, key: string, inviteKey: string): void {
    const cancelTx = this.createServer(key, cancel, source, parseVia(cancel.headers.get('via') ?? ''));
    const invite = this.servers.get(inviteKey);
    if (!(invite instanceof InviteServerTransaction)) {
      cancelTx.respond(createResponse(cancel, 481, undefined, { toTag: generateTag() }));
      return;
    }
    // §9.2: "The To tag of the response to the CANCEL and the To tag in the response to the original request SHOULD be the same."
    const lastTo = invite.lastTo;
    const toTag = (lastTo === undefined ? undefined : tagOf(lastTo)) ?? generateTag();
    cancelTx.respond(createResponse(cancel, 200, undefined, { toTag }));
    if (invite.state === InviteServerState.Proceeding) invite.receiveCancel(cancel);
  }

  private createServer(key: string, req: SipRequest, source: SipEndpoint, via: Via): ServerTx {
    const destination = this.options.transport.responseDestination(via, source);
    const tx =
      req.method === 'INVITE'
        ? new InviteServerTransaction(key, req, source, destination, this.ctx)
        : new NonInviteServerTransaction(key, req, source, destination, this.ctx);
    this.servers.set(key, tx);
    return tx;
  }

  private factsOf(req: SipRequest): RequestFacts {
    const h = req.headers;
    const via = parseVia(h.get('via') ?? '');
    const cseq = parseCSeq(h.get('cseq') ?? '');
    const fromTag = tagOf(h.get('from') ?? '') ?? '';
    const to = h.get('to');
    return { via, cseq, callId: h.get('call-id') ?? '', fromTag, hasToTag: to !== undefined && tagOf(to) !== undefined };
  }

  private forget(id: string): void {
    const c = this.clients.get(id);
    if (c !== undefined && c.state === 'Terminated') this.clients.delete(id);
    const s = this.servers.get(id);
    if (s !== undefined && s.state === 'Terminated') {
      this.servers.delete(id);
      const mkey = this.mergedKeyOf.get(s);
      if (mkey !== undefined) {
        this.mergedKeyOf.delete(s);
        if (this.merged.get(mkey) === s) this.merged.delete(mkey);
      }
    }
  }
}

function tagOf(value: string): string | undefined {
  try {
    const tag = parseNameAddr(value).params.get('tag');
    return tag === null ? undefined : tag;
  } catch {
    return undefined;
  }
}

/** The CANCEL's own client transaction reports nothing to the TU: the INVITE's 487 (or 2xx) is what matters (§9.1). */
function cancelHandlers(logger: Logger): ClientTransactionHandlers {
  return {
    onFinal: (r) => logger.debug({ status: r.status }, 'CANCEL answered'),
    onTimeout: () => logger.debug('CANCEL timed out'),
    onTransportError: (err) => logger.debug({ err }, 'CANCEL transport error'),
  };
}
