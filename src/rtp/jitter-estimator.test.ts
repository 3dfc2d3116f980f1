import { describe, expect, it } from 'vitest';
import { DelayHistogram, InterarrivalJitter } from './jitter-estimator.js';

describe('InterarrivalJitter (RFC 3550 §A.8)', () => {
  it('is zero for perfectly paced packets', () => {
    const j = new InterarrivalJitter();
    for (let i = 0; i < 100; i++) j.update(1000 + i * 20, i * 20);
    expect(j.jitterMs).toBe(0);
  });

  it('follows J += (|D| - J) / 16 exactly', () => {
    const j = new InterarrivalJitter();
    // transit: 50, 60, 50, 70 → |D|: 10, 10, 20
    j.update(50, 0);
    j.update(80, 20);
    j.update(90, 40);
    j.update(130, 60);
    let expected = 0;
    for (const d of [10, 10, 20]) expected += (d - expected) / 16;
    expect(j.jitterMs).toBeCloseTo(expected, 12);
  });
});

describe('DelayHistogram', () => {
  it('returns the bucket upper edge at the requested quantile', () => {
    const h = new DelayHistogram(200, 2, 1e9);
    for (let i = 0; i < 100; i++) h.add(i, 20); // 0..99 ms, uniform
    expect(h.quantile(0.45)).toBe(46);
    expect(h.quantile(0.95)).toBe(96);
    expect(h.quantile(1)).toBe(100);
  });

  it('forgets: old samples lose to recent ones', () => {
    const h = new DelayHistogram(200, 2, 1000);
    for (let i = 0; i < 500; i++) h.add(150, 20); // 10 s of 150 ms delay
    expect(h.quantile(0.95)).toBe(152);
    for (let i = 0; i < 500; i++) h.add(10, 20); // then 10 s of 10 ms
    expect(h.quantile(0.95)).toBe(12);
  });

  it('survives renormalisation (long runs) and clamps to the last bucket', () => {
    const h = new DelayHistogram(100, 2, 100);
    for (let i = 0; i < 200_000; i++) h.add(i % 2 === 0 ? 5 : 1000, 20);
    expect(h.quantile(0.4)).toBe(6);
    expect(h.quantile(0.9)).toBe(102);
  });
});
