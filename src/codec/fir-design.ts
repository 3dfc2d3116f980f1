/**
 * Windowed-sinc low-pass design for the polyphase resampler.
 *
 * Window: Kaiser (J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window
 * function", Proc. IEEE ISCAS 1974), with the empirical formulas for β and the length from
 * A. V. Oppenheim & R. W. Schafer, "Discrete-Time Signal Processing", 3rd ed., §7.6.1 (eqs. 7.62,
 * 7.63):
 *
 *   β = 0.1102 (A − 8.7)                          A > 50
 *     = 0.5842 (A − 21)^0.4 + 0.07886 (A − 21)    21 ≤ A ≤ 50
 *     = 0                                         A < 21
 *   N − 1 = (A − 8) / (2.285 Δω)                  Δω = transition width in rad/sample
 *
 * where A = −20 log10 δ is both the stop-band attenuation and (as 20 log10(1 + δ)) the pass-band
 * ripple bound: a Kaiser design has equal ripple δ in both bands.
 *
 * The prototype runs at the up-sampled rate L·fin and is split into L phases of K taps each
 * (h[p + kL], k = 0…K−1). Each phase is normalised to a DC gain of exactly 1, so a constant input
 * yields the same constant whichever phase produces an output sample (no DC "ripple" between
 * phases), and the interpolation gain L is absorbed at the same time.
 */

/** Zeroth-order modified Bessel function of the first kind, by its power series (converges fast for x < 50). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser β for a stop-band attenuation of `attenuationDb` (O&S eq. 7.62). */
export function kaiserBeta(attenuationDb: number): number {
  const a = attenuationDb;
  if (a > 50) return 0.1102 * (a - 8.7);
  if (a >= 21) return 0.5842 * Math.pow(a - 21, 0.4) + 0.07886 * (a - 21);
  return 0;
}

/** Kaiser filter length N (taps) for `attenuationDb` and a transition width in cycles/sample (O&S eq. 7.63). */
export function kaiserLength(attenuationDb: number, transitionWidth: number): number {
  const deltaOmega = 2 * Math.PI * transitionWidth;
  return Math.ceil((attenuationDb - 7.95) / (2.285 * deltaOmega)) + 1;
}

export interface LowpassSpec {
  /** Number of polyphase branches L (the interpolation factor). */
  readonly phases: number;
  /** Pass-band edge, in cycles/sample of the up-sampled rate (0 < passEdge < stopEdge ≤ 0.5). */
  readonly passEdge: number;
  /** Stop-band edge, in cycles/sample of the up-sampled rate. */
  readonly stopEdge: number;
  /** Stop-band attenuation in dB (also sets the pass-band ripple). */
  readonly attenuationDb: number;
}

export interface PolyphaseFilter {
  readonly phases: number;
  /** Taps per phase K; the prototype has phases × tapsPerPhase taps. */
  readonly tapsPerPhase: number;
  /** Prototype length N. Its group delay is (N − 1) / 2 samples at the up-sampled rate. */
  readonly length: number;
  /**
   * Phase p occupies [p·K, (p+1)·K), stored time-reversed: entry p·K + j is h[p + (K−1−j)·L], so
   * the convolution walks coefficients and input history both forwards.
   */
  readonly coefficients: Float64Array;
}

/** Designs a Kaiser-windowed-sinc low-pass with cutoff halfway across the transition band, split into phases. */
export function designPolyphaseLowpass(spec: LowpassSpec): PolyphaseFilter {
  const { phases: L, passEdge, stopEdge, attenuationDb } = spec;
  if (!(passEdge > 0 && passEdge < stopEdge && stopEdge <= 0.5)) {
    throw new RangeError(`FIR design: need 0 < passEdge (${passEdge}) < stopEdge (${stopEdge}) <= 0.5`);
  }
  const minLength = kaiserLength(attenuationDb, stopEdge - passEdge);
  const K = Math.ceil(minLength / L);
  const N = K * L;
  const beta = kaiserBeta(attenuationDb);
  const i0Beta = besselI0(beta);
  const fc = (passEdge + stopEdge) / 2;
  const centre = (N - 1) / 2;

  const h = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const t = n - centre;
    const r = N === 1 ? 0 : (2 * n) / (N - 1) - 1;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    const x = 2 * fc * t;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    h[n] = 2 * fc * sinc * window;
  }

  const coefficients = new Float64Array(N);
  for (let p = 0; p < L; p++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += h[p + k * L]!;
    for (let k = 0; k < K; k++) coefficients[p * K + (K - 1 - k)] = h[p + k * L]! / sum;
  }
  return { phases: L, tapsPerPhase: K, length: N, coefficients };
}
