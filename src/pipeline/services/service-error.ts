/** Which kind of service failed. */
export type ServiceKind = 'stt' | 'llm' | 'tts';

/**
 * A provider failure (agents-js `APIError`): `retryable` says whether the same request may succeed
 * if sent again (a timeout, a dropped connection, HTTP 408/409/429/5xx) or never will (bad key,
 * bad request, unknown model). Providers map their transport's errors onto this one type so the
 * agent's retry policy does not know any provider.
 */
export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceKind,
    readonly provider: string,
    message: string,
    readonly retryable: boolean,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(`${kind} ${provider}: ${message}`, options);
    this.name = 'ServiceError';
  }

  /** HTTP statuses worth retrying: timeouts, conflicts, rate limits and server errors. */
  static retryableStatus(status: number): boolean {
    return status === 408 || status === 409 || status === 429 || status >= 500;
  }

  /** Wraps anything thrown by a provider; an unknown error counts as retryable (a network fault). */
  static from(kind: ServiceKind, provider: string, err: unknown): ServiceError {
    if (err instanceof ServiceError) return err;
    const status = typeof (err as { status?: unknown } | null)?.status === 'number' ? (err as { status: number }).status : null;
    const message = err instanceof Error ? err.message : String(err);
    if ((err as { name?: unknown } | null)?.name === 'AbortError' || (err as { name?: unknown } | null)?.name === 'APIUserAbortError') {
      return new ServiceError(kind, provider, 'aborted', false, null, { cause: err });
    }
    return new ServiceError(kind, provider, message, status === null ? true : ServiceError.retryableStatus(status), status, { cause: err });
  }
}

/** Runs `attempt` up to `retries + 1` times while it fails with a retryable ServiceError. */
export async function withRetries<T>(retries: number, attempt: (n: number) => Promise<T>, onRetry?: (err: ServiceError, n: number) => void): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof ServiceError) || !err.retryable || n >= retries) throw err;
      onRetry?.(err, n);
    }
  }
}
