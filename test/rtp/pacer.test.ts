import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/shared/index.js';
import { Pacer, type PacedTask } from '../../src/rtp/index.js';

class Recorder implements PacedTask {
  readonly ticks: number[] = [];
  readonly times: number[] = [];
  onTick(tick: number, deadlineMs: number, nowMs: number): void {
    this.ticks.push(tick);
    this.times.push(nowMs);
    expect(nowMs).toBe(deadlineMs);
  }
}

describe('Pacer', () => {
  it('runs one tick per 20 ms on absolute deadlines: no drift over 10 simulated minutes', () => {
    const clock = new FakeClock(1234.5);
    const pacer = new Pacer({ clock });
    const r = new Recorder();
    const reg = pacer.add(r);
    clock.advance(10 * 60 * 1000);
    // Deadlines start at the add time (slot 0) → 30,000 periods plus the tick at t = 0.
    expect(r.ticks.length).toBe(30_001);
    expect(r.ticks.every((t, i) => t === i)).toBe(true);
    const first = r.times[0]!;
    const last = r.times[r.times.length - 1]!;
    expect((last - first) / (r.times.length - 1)).toBe(20);
    expect(r.times.every((t, i) => t === first + i * 20)).toBe(true);
    expect(pacer.lateness().p99Ms).toBeLessThanOrEqual(0.1);
    reg.cancel();
    expect(clock.pendingCount()).toBe(0);
  });

  it('spreads sessions over slots and batches their wakeups', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock, slots: 10 });
    const recorders = Array.from({ length: 1500 }, () => new Recorder());
    const regs = recorders.map((r) => pacer.add(r));
    const perSlot = new Array<number>(10).fill(0);
    for (const reg of regs) perSlot[reg.slot]!++;
    expect(perSlot).toEqual(new Array<number>(10).fill(150));
    pacer.wakeups = 0;
    clock.advance(1000);
    // 50 periods × 10 slots, whatever the number of sessions
    expect(pacer.wakeups).toBeLessThanOrEqual(10 * 51);
    for (const r of recorders) expect(r.ticks.length).toBeGreaterThanOrEqual(50);
    // Slot phase: slot s ticks at k·20 + 2·s
    const slot3 = recorders[regs.findIndex((g) => g.slot === 3)]!;
    expect(slot3.times.slice(0, 3)).toEqual([6, 26, 46]);
    for (const reg of regs) reg.cancel();
    expect(pacer.size).toBe(0);
    expect(clock.pendingCount()).toBe(0);
  });

  it('a late wakeup is measured; a long stall skips ticks beyond the catch-up budget', () => {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const clock = {
      now: () => now,
      setTimeout: (fn: () => void, ms: number) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return { cancel: () => timers.splice(timers.indexOf(t), 1) };
      },
    };
    const pacer = new Pacer({ clock, slots: 1, maxCatchUp: 5 });
    const ticks: number[] = [];
    pacer.add({ onTick: (tick) => ticks.push(tick) });
    const fire = (at: number): void => {
      now = at;
      timers.shift()!.fn();
    };
    fire(0);
    fire(23); // 3 ms late
    expect(ticks).toEqual([0, 1]);
    expect(pacer.lateness().maxMs).toBe(3);
    fire(1000); // stalled ~1 s: ticks 2..50 due; only the last 5 run
    expect(ticks.slice(2)).toEqual([46, 47, 48, 49, 50]);
    expect(pacer.skippedTicks).toBe(44);
    const l = pacer.lateness();
    expect(l.count).toBe(7);
    expect(l.p50Ms).toBeGreaterThan(0);
  });

  it('a throwing task is counted and does not stop the others', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock, slots: 1 });
    const good = new Recorder();
    const a = pacer.add({ onTick: () => { throw new Error('boom'); } });
    const b = pacer.add(good);
    clock.advance(100);
    expect(good.ticks.length).toBe(6);
    expect(pacer.taskErrors).toBe(6);
    a.cancel();
    b.cancel();
    b.cancel();
    expect(clock.pendingCount()).toBe(0);
  });
});
