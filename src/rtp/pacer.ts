import type { Clock, Logger, TimerHandle } from '../shared/index.js';

/**
 * The media clock of one thread: a single scheduler drives every session's 20 ms tick from the
 * monotonic clock with absolute deadlines — tick k of slot s is due at
 * `start + k·periodMs + s·(periodMs / slots)` — so errors never accumulate (no setInterval, no
 * "now + 20"). Sessions are spread over `slots` phases of the period so that 1,500 sessions
 * cost `slots` wakeups per period, not 1,500 timers, and their packets leave in small bursts
 * instead of one big one. Lateness (actual − deadline) is recorded in a histogram.
 *
 * If the process stalls (GC, suspended VM), missed ticks are replayed up to `maxCatchUp`
 * at once; beyond that the slot jumps to the current period and `skippedTicks` counts what was
 * dropped. Tasks get the tick index, so RTP timestamps derived from it stay on the wall clock.
 */
export interface PacedTask {
  /** Runs once per period. `tick` is the index on the pacer's grid; `deadlineMs` its due time. */
  onTick(tick: number, deadlineMs: number, nowMs: number): void;
}

export interface PacerRegistration {
  readonly slot: number;
  /** Tick index of the first tick the task will receive. */
  readonly firstTick: number;
  cancel(): void;
}

export interface PacerOptions {
  clock: Clock;
  logger?: Logger;
  periodMs?: number;
  slots?: number;
  /** Wake up this many ms before a deadline (timers fire late by ~1 ms). 0 with FakeClock. */
  wakeEarlyMs?: number;
  maxCatchUp?: number;
}

export interface LatencyStats {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Lateness histogram: 0.1 ms buckets up to 100 ms, plus overflow. */
const BUCKET_MS = 0.1;
const BUCKETS = 1000;

class Slot {
  readonly tasks: PacedTask[] = [];
  /** Next tick index this slot will run. */
  nextTick = 0;
  constructor(readonly index: number) {}
}

export class Pacer {
  readonly periodMs: number;
  readonly slotCount: number;
  /** Counters. */
  ticks = 0;
  wakeups = 0;
  skippedTicks = 0;
  taskErrors = 0;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly wakeEarlyMs: number;
  private readonly maxCatchUp: number;
  private readonly slots: Slot[] = [];
  private readonly histogram = new Uint32Array(BUCKETS + 1);
  private latenessCount = 0;
  private latenessSum = 0;
  private latenessMax = 0;
  private startMs = 0;
  private running = false;
  private timer: TimerHandle | null = null;
  private taskCount = 0;
  private readonly wake = (): void => {
    this.timer = null;
    this.runDue();
  };

  constructor(options: PacerOptions) {
    this.clock = options.clock;
    this.logger = options.logger;
    this.periodMs = options.periodMs ?? 20;
    this.slotCount = options.slots ?? 10;
    this.wakeEarlyMs = options.wakeEarlyMs ?? 0;
    this.maxCatchUp = options.maxCatchUp ?? 5;
    for (let i = 0; i < this.slotCount; i++) this.slots.push(new Slot(i));
  }

  get size(): number {
    return this.taskCount;
  }

  /** Adds a task to the least loaded slot; it first runs at that slot's next deadline. */
  add(task: PacedTask): PacerRegistration {
    if (!this.running) {
      this.running = true;
      this.startMs = this.clock.now();
      // Every slot's first tick is the first whose deadline is not in the past.
      for (const slot of this.slots) slot.nextTick = 0;
    }
    let best = this.slots[0]!;
    for (const slot of this.slots) if (slot.tasks.length < best.tasks.length) best = slot;
    const slot = best;
    if (slot.tasks.length === 0) {
      // An idle slot's grid position may be stale: move it to the next future deadline.
      const now = this.clock.now();
      const k = Math.ceil((now - this.startMs - this.slotOffset(slot)) / this.periodMs);
      slot.nextTick = Math.max(slot.nextTick, k, 0);
    }
    slot.tasks.push(task);
    this.taskCount++;
    this.schedule();
    let cancelled = false;
    return {
      slot: slot.index,
      firstTick: slot.nextTick,
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        const i = slot.tasks.indexOf(task);
        if (i >= 0) {
          slot.tasks.splice(i, 1);
          this.taskCount--;
        }
        if (this.taskCount === 0) this.stop();
      },
    };
  }

  /** Deadline of tick `tick` in `slot`. */
  deadline(slot: number, tick: number): number {
    return this.startMs + tick * this.periodMs + (slot * this.periodMs) / this.slotCount;
  }

  lateness(): LatencyStats {
    return {
      count: this.latenessCount,
      p50Ms: this.percentile(0.5),
      p99Ms: this.percentile(0.99),
      maxMs: this.latenessMax,
      meanMs: this.latenessCount === 0 ? 0 : this.latenessSum / this.latenessCount,
    };
  }

  resetLateness(): void {
    this.histogram.fill(0);
    this.latenessCount = 0;
    this.latenessSum = 0;
    this.latenessMax = 0;
  }

  /** Stops the timer; tasks stay registered (for shutdown after every session closed). */
  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.running = false;
  }

  private slotOffset(slot: Slot): number {
    return (slot.index * this.periodMs) / this.slotCount;
  }

  private percentile(p: number): number {
    if (this.latenessCount === 0) return 0;
    const target = Math.ceil(p * this.latenessCount);
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      seen += this.histogram[i]!;
      if (seen >= target) return i === BUCKETS ? this.latenessMax : (i + 1) * BUCKET_MS;
    }
    return this.latenessMax;
  }

  private record(lateMs: number): void {
    const late = lateMs < 0 ? 0 : lateMs;
    const bucket = Math.min(BUCKETS, Math.floor(late / BUCKET_MS));
    this.histogram[bucket]!++;
    this.latenessCount++;
    this.latenessSum += late;
    if (late > this.latenessMax) this.latenessMax = late;
  }

  private runDue(): void {
    if (!this.running) return;
    this.wakeups++;
    // One slot-tick at a time in deadline order, re-reading the clock after each: a slot that
    // fell due while earlier ones ran goes next, without waiting for another timer (which costs
    // at least a millisecond). Bounded, so a stalled process still yields to I/O between wakes.
    const slots = this.slots;
    for (let budget = this.slotCount * this.maxCatchUp; budget > 0; budget--) {
      const horizon = this.clock.now() + this.wakeEarlyMs;
      let slot: Slot | null = null;
      let due = Infinity;
      for (let s = 0; s < slots.length; s++) {
        const candidate = slots[s]!;
        if (candidate.tasks.length === 0) continue;
        const d = this.deadline(candidate.index, candidate.nextTick);
        if (d < due) {
          due = d;
          slot = candidate;
        }
      }
      if (slot === null || due > horizon) break;
      // Stalled beyond the catch-up budget: jump to the current period.
      const behind = Math.floor((horizon - due) / this.periodMs);
      if (behind >= this.maxCatchUp) {
        const skip = behind - this.maxCatchUp + 1;
        slot.nextTick += skip;
        this.skippedTicks += skip * slot.tasks.length;
        due = this.deadline(slot.index, slot.nextTick);
      }
      const tasks = slot.tasks;
      for (let i = 0; i < tasks.length; i++) {
        const now = this.clock.now();
        this.record(now - due);
        try {
          tasks[i]!.onTick(slot.nextTick, due, now);
        } catch (err) {
          this.taskErrors++;
          this.logger?.error({ err }, 'paced task failed');
        }
        this.ticks++;
      }
      slot.nextTick++;
      if (!this.running) return;
    }
    this.schedule();
  }

  private schedule(): void {
    if (!this.running || this.taskCount === 0) return;
    let next = Infinity;
    for (const slot of this.slots) {
      if (slot.tasks.length === 0) continue;
      const d = this.deadline(slot.index, slot.nextTick);
      if (d < next) next = d;
    }
    if (next === Infinity) return;
    const delay = Math.max(0, next - this.wakeEarlyMs - this.clock.now());
    if (this.timer !== null) {
      // Re-arm only if the new deadline is earlier than the armed one.
      if (this.armedAt <= next) return;
      this.timer.cancel();
    }
    this.armedAt = next;
    this.timer = this.clock.setTimeout(this.wake, delay);
  }

  private armedAt = Infinity;
}
