import { describe, expect, it } from 'vitest';
import { G711Concealer } from './plc.js';

const DELAY = 30; // App. I output delay: 3.75 ms at 8 kHz

/**
 * A voiced-like signal: a fundamental with three decaying harmonics, its pitch gliding ±6 % at 4 Hz
 * and its amplitude ±30 % at 5 Hz — not exactly periodic, like speech, so a period repeated without
 * the App. I overlap-adds does not line up and clicks.
 */
function voiced(n: number, f0: number): number {
  const t = n / 8000;
  const phase = 2 * Math.PI * f0 * (t - (0.06 / (2 * Math.PI * 4)) * Math.cos(2 * Math.PI * 4 * t));
  let v = 0;
  for (let h = 1; h <= 4; h++) v += (8000 / h) * Math.sin(h * phase + h * 0.7);
  return Math.round((v / 1.6) * (1 + 0.3 * Math.sin(2 * Math.PI * 5 * t))) + 0; // + 0: no -0
}

function frameOf(index: number, f0: number): Int16Array {
  const f = new Int16Array(160);
  for (let i = 0; i < 160; i++) f[i] = voiced(index * 160 + i, f0);
  return f;
}

/** Runs frames through the concealer; `lost` frame indexes are concealed. Returns the output. */
function process(frames: number, lost: Set<number>, f0: number, plc = new G711Concealer()): Int16Array {
  const out = new Int16Array(frames * 160);
  const buf = new Int16Array(160);
  for (let k = 0; k < frames; k++) {
    if (lost.has(k)) {
      plc.conceal(buf);
    } else {
      buf.set(frameOf(k, f0));
      plc.good(buf);
    }
    out.set(buf, k * 160);
  }
  return out;
}

/** The true signal as the concealer's output should carry it (delayed by 30 samples). */
function truth(n: number, f0: number): number {
  return n < DELAY ? 0 : voiced(n - DELAY, f0);
}

function correlation(out: Int16Array, from: number, to: number, f0: number): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let n = from; n < to; n++) {
    const x = truth(n, f0);
    const y = out[n] ?? 0;
    xy += x * y;
    xx += x * x;
    yy += y * y;
  }
  return xy / Math.sqrt(xx * yy);
}

function maxStep(signal: Int16Array | number[], from: number, to: number): number {
  let m = 0;
  for (let n = from + 1; n < to; n++) m = Math.max(m, Math.abs((signal[n] ?? 0) - (signal[n - 1] ?? 0)));
  return m;
}

function rms(signal: Int16Array, from: number, to: number): number {
  let s = 0;
  for (let n = from; n < to; n++) s += (signal[n] ?? 0) ** 2;
  return Math.sqrt(s / (to - from));
}

describe('G711Concealer (ITU-T G.711 Appendix I)', () => {
  it('passes good frames through delayed by 3.75 ms (30 samples), unchanged', () => {
    const out = process(5, new Set(), 125);
    for (let n = 0; n < out.length; n++) expect(out[n]).toBe(truth(n, 125));
  });

  for (const f0 of [70, 125, 190]) {
    for (const lostAt of [10, 13, 17]) {
      it(`a lost frame (#${lostAt}) of a ${f0} Hz voiced signal continues the waveform without a click`, () => {
        const out = process(22, new Set([lostAt]), f0);
        const trueSignal = Array.from({ length: out.length }, (_, n) => truth(n, f0));
        // The concealed 20 ms follows the true continuation closely.
        expect(correlation(out, lostAt * 160, (lostAt + 1) * 160, f0)).toBeGreaterThan(0.85);
        // No discontinuity into, through, or out of the concealed frame: the largest
        // sample-to-sample step stays that of the real signal (without the OLAs it is 1.3–1.9×).
        const natural = maxStep(trueSignal, (lostAt - 1) * 160, (lostAt + 2) * 160);
        expect(maxStep(out, (lostAt - 1) * 160, (lostAt + 2) * 160)).toBeLessThanOrEqual(natural * 1.15);
        // After the recovery overlap-add (≤ 10 ms, plus the 30-sample delay) the output is the
        // true signal again, exactly.
        for (let n = (lostAt + 1) * 160 + 80 + DELAY; n < 22 * 160; n++) expect(out[n]).toBe(trueSignal[n]);
      });
    }
  }

  it('fades after 20 ms of loss and is silent after 60 ms', () => {
    const out = process(16, new Set([10, 11, 12, 13, 14]), 125);
    const speech = rms(out, 8 * 160, 10 * 160);
    const first = rms(out, 10 * 160, 11 * 160); // 0–20 ms: 10 ms full, then 1 → 0.8
    const second = rms(out, 11 * 160, 12 * 160); // 20–40 ms: 0.8 → 0.4
    const third = rms(out, 12 * 160, 13 * 160); // 40–60 ms: 0.4 → 0
    expect(first).toBeGreaterThan(0.8 * speech);
    expect(second).toBeLessThan(0.8 * first);
    expect(second).toBeGreaterThan(0.3 * speech);
    expect(third).toBeLessThan(0.5 * second);
    // 60 ms in: only the 30 delayed samples of the (nearly zero) tail remain, then zeros.
    for (let n = 13 * 160 + DELAY; n < 15 * 160; n++) expect(out[n]).toBe(0);
    for (let n = 13 * 160; n < 13 * 160 + DELAY; n++) expect(Math.abs(out[n] ?? 0)).toBeLessThan(0.1 * 8000);
  });

  it('recovers with an overlap-add after a long loss (no click into the real signal)', () => {
    const out = process(20, new Set([10, 11]), 125);
    const trueSignal = Array.from({ length: out.length }, (_, n) => truth(n, 125));
    const natural = maxStep(trueSignal, 11 * 160, 13 * 160);
    // The attenuated synthesis fades into the real signal over ¼ period + 4 ms per extra 10 ms.
    expect(maxStep(out, 11 * 160, 13 * 160)).toBeLessThanOrEqual(natural * 1.3);
    for (let n = 12 * 160 + 80 + DELAY; n < 20 * 160; n++) expect(out[n]).toBe(trueSignal[n]);
  });

  it('conceals silence as silence and restarts clean after reset()', () => {
    const plc = new G711Concealer();
    const buf = new Int16Array(160);
    plc.conceal(buf);
    expect(buf.every((v) => v === 0)).toBe(true);
    process(5, new Set(), 125, plc);
    plc.reset();
    plc.conceal(buf);
    expect(buf.every((v) => v === 0)).toBe(true);
  });

  it('is a stream of 10 ms sub-frames: the frame size (80–480 samples) never changes the output', () => {
    // 4 s of signal, so the history buffer is compacted many times, with 60 ms losses (a whole
    // 480-sample frame) at 480-sample boundaries, including two back to back.
    const total = 480 * 67; // ≈ 4 s, a whole number of frames of every size
    const lost = (n: number): boolean => [7, 20, 21, 40, 55].includes(Math.floor(n / 480));
    const outputs: Int16Array[] = [];
    for (const size of [80, 160, 240, 480]) {
      const plc = new G711Concealer({ frameSamples: size as 160 });
      const buf = new Int16Array(size);
      const out = new Int16Array(total);
      for (let at = 0; at < total; at += size) {
        if (lost(at)) {
          plc.conceal(buf);
        } else {
          for (let i = 0; i < size; i++) buf[i] = voiced(at + i, 125);
          plc.good(buf);
        }
        out.set(buf, at);
      }
      outputs.push(out);
    }
    for (const out of outputs.slice(1)) expect(out).toEqual(outputs[0]);
    // Far from any loss the output is the input delayed by 30 samples, exactly.
    for (let n = 30 * 480; n < 40 * 480; n++) expect(outputs[0]?.[n]).toBe(truth(n, 125));
  });

  it('checks frame lengths and options', () => {
    const plc = new G711Concealer();
    expect(() => plc.good(new Int16Array(80))).toThrow(RangeError);
    expect(() => plc.conceal(new Int16Array(320))).toThrow(RangeError);
    expect(() => new G711Concealer({ sampleRate: 16000 as 8000 })).toThrow(RangeError);
  });
});
