import type { SipRequest, SipResponse } from '../message/index.js';
import type { SipEndpoint } from '../transport/index.js';
import { NO_HANDLERS, RequestKey, isReliable, safeCall, type TransactionContext } from './transaction-context.js';
import type { ClientTransactionHandlers, TerminationReason } from './types.js';

/** Both client and server machines end in this state (RFC 3261 Figures 5–8, RFC 6026). */
const TERMINATED = 'Terminated';

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * What the two client transactions (§17.1.1, §17.1.2) share: where the request goes, the TU's
 * handlers, the transport's reliability and leaving the layer once Terminated. Each subclass
 * keeps its own state machine (a pure transition function) and timers.
 */
export abstract class ClientTransactionBase<S extends string> {
  readonly id: string;
  readonly request: SipRequest;
  readonly destination: SipEndpoint;
  protected current: S;
  protected readonly ctx: TransactionContext;
  protected handlers: ClientTransactionHandlers;
  /** TCP (or another stream): no retransmission timers, zero-length wait states. */
  protected readonly reliable: boolean;

  protected constructor(id: string, request: SipRequest, destination: SipEndpoint, handlers: ClientTransactionHandlers, ctx: TransactionContext, initial: S) {
    this.id = id;
    this.request = request;
    this.destination = destination;
    this.handlers = handlers;
    this.ctx = ctx;
    this.reliable = isReliable(destination);
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** Releases timers without calling the TU (layer close). */
  dispose(): void {
    this.stopTimers();
    this.current = TERMINATED as S;
    this.handlers = NO_HANDLERS;
  }

  protected abstract stopTimers(): void;

  /** The transport refused a send: the machine's transportError event (§17.1.4). */
  protected abstract transportFailed(err: Error): void;

  /** Sends a request (the original, its ACK); a failure becomes transportFailed. */
  protected transmit(message: SipRequest): void {
    this.ctx.send(message, this.destination).catch((err: unknown) => this.transportFailed(asError(err)));
  }

  /** Entered Terminated: stop the timers, drop the TU and leave the layer. */
  protected terminated(): void {
    this.stopTimers();
    this.handlers = NO_HANDLERS;
    this.ctx.terminated(this.id);
  }
}

/**
 * What the two server transactions (§17.2.1, §17.2.2) share: the request until the final
 * response and then only its key (RequestKey: a transaction absorbing retransmissions for 64·T1
 * must not hold the request's body or the TU's objects), the last response for retransmission,
 * the TU's termination handlers and leaving the layer once Terminated.
 */
export abstract class ServerTransactionBase<S extends string> {
  readonly id: string;
  readonly source: SipEndpoint;
  /** Where responses go (§18.2.2), computed once from the top Via. */
  readonly responseDestination: SipEndpoint;
  /** The request until the final response; then only its response key (see RequestKey). */
  private req: SipRequest | undefined;
  private key: RequestKey | undefined = undefined;
  protected current: S;
  protected readonly ctx: TransactionContext;
  protected readonly reliable: boolean;
  /** The response a retransmitted request or a retransmission timer re-sends. */
  protected last: SipResponse | undefined = undefined;
  protected terminationReason: TerminationReason = 'normal';
  private terminatedHandlers: ((reason: TerminationReason) => void)[] = [];

  protected constructor(id: string, request: SipRequest, source: SipEndpoint, responseDestination: SipEndpoint, ctx: TransactionContext, initial: S) {
    this.id = id;
    this.req = request;
    this.source = source;
    this.responseDestination = responseDestination;
    this.ctx = ctx;
    this.reliable = isReliable(responseDestination);
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** The request; after the final response only the fields a response copies (Via, From, To, Call-ID, CSeq). */
  get request(): SipRequest {
    return this.req ?? (this.key as RequestKey).toRequest();
  }

  onTerminated(handler: (reason: TerminationReason) => void): void {
    if (this.current !== TERMINATED) this.terminatedHandlers.push(handler);
  }

  /** Releases timers, handlers and messages without calling the TU (layer close). */
  dispose(): void {
    this.stopTimers();
    this.current = TERMINATED as S;
    this.release();
    this.terminatedHandlers = [];
    this.last = undefined;
  }

  protected abstract stopTimers(): void;

  /** The transport refused a send: the machine's transportError event (§17.2.4). */
  protected abstract transportFailed(err: Error): void;

  /** Keeps only the request's key from now on (and, in subclasses, drops what only the request needed). */
  protected release(): void {
    if (this.req === undefined) return;
    this.key = new RequestKey(this.req);
    this.req = undefined;
  }

  /** Sends a response; a failure becomes transportFailed. */
  protected sendResponse(response: SipResponse): void {
    this.ctx.send(response, this.responseDestination).catch((err: unknown) => this.transportFailed(asError(err)));
  }

  /** Entered Terminated: stop the timers, leave the layer and tell the TU why, once. */
  protected terminated(): void {
    this.stopTimers();
    this.ctx.terminated(this.id);
    const reason = this.terminationReason;
    const handlers = this.terminatedHandlers;
    this.terminatedHandlers = [];
    this.last = undefined;
    for (const h of handlers) safeCall(this.ctx.logger, 'onTerminated', () => h(reason));
  }
}
