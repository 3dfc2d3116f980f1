/**
 * Injected time. Everything that waits (SIP transactions, jitter buffer, pacer, timeouts) takes a
 * Clock, so tests can run a 32-second SIP timeout in a millisecond and replay jitter exactly.
 *
 * `now()` is monotonic milliseconds (fractional allowed). Timers are owned by whoever set them and
 * must be cancelled by their owner on close.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic time in milliseconds; only differences are meaningful. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds unless cancelled. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** The process's monotonic clock (performance.now) and Node timers. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = setTimeout(fn, Math.max(0, ms));
    return {
      cancel: () => {
        clearTimeout(handle);
      },
    };
  }
}

export const systemClock: Clock = new SystemClock();

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A manual clock for tests: time moves only when `advance()` or `runUntil()` is called, and timers
 * fire in deadline order (ties in the order they were set). A timer set by a firing timer with a
 * deadline inside the advanced window fires in the same advance.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers still pending (not fired, not cancelled). */
  pendingCount(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** The earliest pending deadline, or undefined when nothing is pending (tests sync on it). */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers) if (!t.cancelled && (next === undefined || t.at < next)) next = t.at;
    return next;
  }

  /** Moves time forward by `ms`, firing every timer whose deadline falls inside, in order. */
  advance(ms: number): void {
    this.runUntil(this.current + ms);
  }

  runUntil(target: number): void {
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: PendingTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = Math.max(this.current, target);
  }
}
