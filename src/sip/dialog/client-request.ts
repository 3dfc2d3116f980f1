import { createRequest, parseCSeq } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { DigestClient } from '../auth/index.js';
import type { ClientTransaction } from '../transaction/index.js';
import type { SipEndpoint } from '../transport/index.js';
import type { DialogContext } from './dialog-context.js';

export interface ClientRequestHandlers {
  onProvisional?(r: SipResponse): void;
  onFinal(r: SipResponse): void;
  onRetransmitted2xx?(r: SipResponse): void;
  onTimeout(): void;
  onTransportError(err: Error): void;
}

export type RequestOutcome =
  | { kind: 'response'; response: SipResponse }
  | { kind: 'timeout' }
  | { kind: 'transport-error'; error: Error };

/**
 * One request as the UAC core sees it: the client transaction, plus the digest retry of RFC 3261
 * §22.2 ("the client SHOULD retry the request with ... credentials") when the peer answers
 * 401/407 and we have credentials. The retry is a new request in the same dialog or call: same
 * Call-ID, From tag, To; "the CSeq ... MUST be incremented" (§8.1.3.5) — `nextCSeq` gives it.
 * DigestClient refuses to loop: one answer per challenge, one more on stale=TRUE.
 */
export class ClientRequest {
  private tx: ClientTransaction | undefined;
  private cancelled: string | null | undefined = undefined;

  constructor(
    private readonly ctx: DialogContext,
    public request: SipRequest,
    private readonly destination: SipEndpoint,
    private readonly handlers: ClientRequestHandlers,
    private readonly options: { digest?: DigestClient | undefined; nextCSeq: () => number },
  ) {}

  start(): void {
    this.send();
  }

  /** §9.1 CANCEL (INVITE only); deferred by the transaction until a provisional arrived. */
  cancel(reasonHeader?: string): void {
    this.cancelled = reasonHeader ?? null;
    this.tx?.cancel(reasonHeader);
  }

  private send(): void {
    const request = this.request;
    try {
      this.tx = this.ctx.transactions.sendRequest(request, this.destination, {
        onProvisional: (r) => this.handlers.onProvisional?.(r),
        onFinal: (r) => this.final(r),
        onRetransmitted2xx: (r) => this.handlers.onRetransmitted2xx?.(r),
        onTimeout: () => this.handlers.onTimeout(),
        onTransportError: (err) => this.handlers.onTransportError(err),
      });
    } catch (err) {
      this.handlers.onTransportError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private final(r: SipResponse): void {
    const digest = this.options.digest;
    if ((r.status === 401 || r.status === 407) && digest !== undefined && this.cancelled === undefined) {
      const challenges = r.headers.getAll(r.status === 401 ? 'www-authenticate' : 'proxy-authenticate');
      const authorization = challenges.length === 0 ? undefined : digest.authorize(challenges, { method: this.request.method, uri: this.request.rawUri, body: this.request.body });
      if (authorization !== undefined) {
        const next = createRequest({ method: this.request.method, uri: this.request.uri, headers: this.request.headers.clone(), body: this.request.body });
        const method = parseCSeq(this.request.headers.get('cseq') ?? '1 ' + this.request.method).method;
        next.headers.set('CSeq', `${this.options.nextCSeq()} ${method}`);
        next.headers.set(r.status === 401 ? 'Authorization' : 'Proxy-Authorization', authorization);
        this.request = next;
        this.send();
        return;
      }
    } else if (digest !== undefined && r.status !== 401 && r.status !== 407) {
      digest.accepted();
    }
    this.handlers.onFinal(r);
  }
}

/** Sends a non-INVITE request and resolves with its final response, timeout or transport error. */
export function sendRequest(
  ctx: DialogContext,
  request: SipRequest,
  destination: SipEndpoint,
  options: { digest?: DigestClient | undefined; nextCSeq: () => number },
): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    new ClientRequest(ctx, request, destination, {
      onFinal: (response) => resolve({ kind: 'response', response }),
      onTimeout: () => resolve({ kind: 'timeout' }),
      onTransportError: (error) => resolve({ kind: 'transport-error', error }),
    }, options).start();
  });
}
