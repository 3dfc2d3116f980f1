import type { Clock, TimerHandle } from '../../../shared/index.js';
import { ServiceError, type ServiceKind } from '../../services/service-error.js';

/**
 * Passes a provider's stream through, failing it with a retryable ServiceError ("stalled") when no
 * item arrives for `stallMs` of clock time — a provider that stops talking must not leave the call
 * silent. `onStall` aborts the provider's request.
 */
export async function* guardStream<T>(source: AsyncIterable<T>, clock: Clock, stallMs: number, kind: ServiceKind, provider: string, onStall: () => void): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let timer: TimerHandle | null = null;
      const stall = new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => {
          onStall();
          reject(new ServiceError(kind, provider, `stalled: nothing for ${stallMs} ms`, true));
        }, stallMs);
      });
      let r: IteratorResult<T>;
      try {
        r = await Promise.race([it.next(), stall]);
      } finally {
        (timer as TimerHandle | null)?.cancel();
      }
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}
