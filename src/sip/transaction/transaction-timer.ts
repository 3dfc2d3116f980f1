import type { Clock, TimerHandle } from '../../shared/index.js';

/**
 * One named RFC 3261 §17 timer (A, B, D, E, F, G, H, I, J, K, L, M) owned by one transaction.
 * Restarting cancels the previous deadline; the owner cancels it on termination.
 */
export class TransactionTimer {
  private handle: TimerHandle | undefined = undefined;
  private readonly clock: Clock;
  private readonly fire: () => void;

  constructor(clock: Clock, fire: () => void) {
    this.clock = clock;
    this.fire = fire;
  }

  get running(): boolean {
    return this.handle !== undefined;
  }

  start(ms: number): void {
    this.handle?.cancel();
    // The callback is made per start, not kept per instance: a transaction owns up to five of
    // these, most never started, and outlives its call by up to 64*T1 (RFC 3261 §17).
    this.handle = this.clock.setTimeout(() => this.onFire(), ms);
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
  }

  private onFire(): void {
    this.handle = undefined;
    this.fire();
  }
}
