/**
 * Jitter buffer against the deterministic network simulator (test/rtp/net-sim.ts). The clean,
 * moderate and clock-skew cases have asserted bounds; the harsh ones assert only correctness
 * (every played frame is the right audio, in order) and log their scores.
 */
import { describe, expect, it } from 'vitest';
import { runNetSim, type NetSimOptions, type NetSimResult } from './net-sim.js';

function score(name: string, r: NetSimResult): NetSimResult {
  const s = r.stats;
  console.log(
    `${name.padEnd(28)} concealed ${String(r.concealedPct).padStart(4)}%  added mean/p95 ${r.addedDelayMs.mean}/${r.addedDelayMs.p95} ms` +
      `  beyond-base mean/p95 ${r.beyondBaseDelayMs.mean}/${r.beyondBaseDelayMs.p95} ms  target ${s.targetDelayMs} ms` +
      `  late ${s.latePackets}  discarded ${s.discardedPackets}  dup ${s.duplicatePackets}  skew-corr ${s.skewCorrections}  netloss ${r.packetsLostInNetwork}`,
  );
  return r;
}

/** What every run must satisfy, however bad the network. */
function expectCorrect(r: NetSimResult): void {
  expect(r.continuityErrors).toBe(0);
  expect(r.orderErrors).toBe(0);
  expect(r.played).toBeGreaterThan(0);
}

describe('jitter buffer scenarios (asserted)', () => {
  it('clean network: one frame of buffering, nothing concealed', () => {
    const r = score('clean', runNetSim({ seed: 1, durationMs: 60_000 }));
    expectCorrect(r);
    expect(r.concealedPct).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.addedDelayMs.mean).toBeLessThanOrEqual(25);
    expect(r.addedDelayMs.p95).toBeLessThanOrEqual(25);
    expect(r.stats.latePackets).toBe(0);
    // Only the start-up delay (60 ms) is trimmed to the measured need.
    expect(r.skippedFrames).toBeLessThanOrEqual(2);
  });

  it('clean network at another tick phase and with 30 ms packets', () => {
    for (const opts of [{ popPhaseMs: 19.5 }, { popPhaseMs: 0.5 }, { ptimeMs: 30 }, { ptimeMs: 10 }, { ptimeMs: 60 }] satisfies Partial<NetSimOptions>[]) {
      const r = score(`clean ${JSON.stringify(opts)}`, runNetSim({ seed: 1, durationMs: 20_000, ...opts }));
      expectCorrect(r);
      expect(r.lost).toBe(0);
      expect(r.stats.latePackets).toBe(0);
    }
  });

  it('moderate: 30 ms uniform jitter and 1 % loss', () => {
    for (const seed of [2, 22, 222]) {
      const r = score(`moderate seed ${seed}`, runNetSim({ seed, durationMs: 60_000, jitter: { kind: 'uniform', maxMs: 30 }, loss: { kind: 'random', probability: 0.01 } }));
      expectCorrect(r);
      expect(r.concealedPct).toBeLessThanOrEqual(3);
      expect(r.addedDelayMs.mean).toBeLessThanOrEqual(100);
      expect(r.addedDelayMs.p95).toBeLessThanOrEqual(100);
      expect(r.stats.targetDelayMs).toBeGreaterThanOrEqual(40); // it did adapt to the jitter
    }
  });

  it('moderate, bell-shaped: gaussian jitter (mean 15, sd 10 ms) and 1 % loss', () => {
    const r = score('moderate gaussian', runNetSim({ seed: 3, durationMs: 60_000, jitter: { kind: 'gaussian', meanMs: 15, sdMs: 10 }, loss: { kind: 'random', probability: 0.01 } }));
    expectCorrect(r);
    expect(r.concealedPct).toBeLessThanOrEqual(3);
    expect(r.addedDelayMs.mean).toBeLessThanOrEqual(100);
  });

  for (const skew of [0.01, -0.01]) {
    it(`sender clock ${skew > 0 ? '+' : ''}${skew * 100} % over 10 simulated minutes: bounded delay, no drift`, () => {
      const r = score(`skew ${skew}`, runNetSim({ seed: 4, durationMs: 600_000, skew, jitter: { kind: 'uniform', maxMs: 10 } }));
      expectCorrect(r);
      const d = r.delayPerSecond;
      expect(d.length).toBeGreaterThan(590);
      expect(Math.max(...d)).toBeLessThanOrEqual(200);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const firstMinute = mean(d.slice(10, 70));
      const lastMinute = mean(d.slice(-60));
      expect(Math.abs(lastMinute - firstMinute)).toBeLessThan(15);
      // 1 % of 30 000 frames has to be dropped or inserted: ≈ 300 corrections, no more.
      expect(r.stats.skewCorrections).toBeGreaterThan(250);
      expect(r.stats.skewCorrections).toBeLessThan(400);
      expect(r.addedDelayMs.p95).toBeLessThanOrEqual(60);
      // Fast sender: frames dropped, nothing concealed. Slow sender: ~1 % inserted frames.
      expect(r.concealedPct).toBeLessThanOrEqual(skew > 0 ? 0.1 : 1.5);
    });
  }

  it('talkspurts (DTX with marker bits): re-anchors each talkspurt and plays it whole', () => {
    const r = score('dtx 1.5 s on / 0.7 s off', runNetSim({ seed: 5, durationMs: 60_000, jitter: { kind: 'uniform', maxMs: 20 }, talkspurt: { onMs: 1500, offMs: 700 } }));
    expectCorrect(r);
    expect(r.skippedFrames).toBeLessThanOrEqual(3);
    expect(r.emptyAfterStart).toBeGreaterThan(500);
    expect(r.stats.latePackets).toBe(0);
  });

  it('is deterministic: the same seed gives the same scores', () => {
    const opts: NetSimOptions = { seed: 9, durationMs: 20_000, jitter: { kind: 'spiky', baseMaxMs: 10, probability: 0.02, spikeMs: 100 }, loss: { kind: 'random', probability: 0.05 } };
    expect(runNetSim(opts)).toEqual(runNetSim(opts));
  });
});

describe('jitter buffer scenarios (harsh, reported)', () => {
  const harsh: [string, NetSimOptions][] = [
    ['bursty loss (Gilbert-Elliott)', { seed: 10, durationMs: 60_000, jitter: { kind: 'uniform', maxMs: 20 }, loss: { kind: 'gilbert', goodToBad: 0.02, badToGood: 0.3, lossInBad: 0.8, lossInGood: 0 } }],
    ['10 % random loss', { seed: 11, durationMs: 60_000, jitter: { kind: 'uniform', maxMs: 20 }, loss: { kind: 'random', probability: 0.1 } }],
    ['100 ms spikes (2 %)', { seed: 12, durationMs: 60_000, jitter: { kind: 'spiky', baseMaxMs: 10, probability: 0.02, spikeMs: 100 } }],
    ['reordering 5 % + duplicates 2 %', { seed: 13, durationMs: 60_000, jitter: { kind: 'uniform', maxMs: 20 }, reorderProbability: 0.05, duplicateProbability: 0.02 }],
    ['gaussian sd 40 ms, no FIFO', { seed: 14, durationMs: 60_000, fifo: false, jitter: { kind: 'gaussian', meanMs: 40, sdMs: 40 } }],
    ['everything, 60 ms packets', { seed: 15, durationMs: 60_000, ptimeMs: 60, skew: 0.005, jitter: { kind: 'spiky', baseMaxMs: 30, probability: 0.02, spikeMs: 150 }, loss: { kind: 'gilbert', goodToBad: 0.01, badToGood: 0.4, lossInBad: 0.7, lossInGood: 0.01 }, reorderProbability: 0.02, duplicateProbability: 0.01 }],
  ];
  for (const [name, opts] of harsh) {
    it(name, () => {
      const r = score(name, runNetSim(opts));
      expectCorrect(r);
      expect(r.stats.targetDelayMs).toBeLessThanOrEqual(200);
      expect(Math.max(...r.delayPerSecond)).toBeLessThanOrEqual(200 + 3 * 20);
    });
  }
});
