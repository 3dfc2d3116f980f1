/**
 * G.711 μ-law (PCMU) companding, bit-exact to the ITU-T reference.
 *
 * @see ITU-T Rec. G.711 (11/88) §3 and Table 2a/2b "μ-law"
 * @see ITU-T Rec. G.191 Software Tools Library, module g711.c: ulaw_compress() / ulaw_expand()
 *
 * G.711 μ-law quantises a 14-bit sign + 13-bit-magnitude uniform signal; here the 14 bits are the
 * top 14 bits of the 16-bit sample (`sample >> 2`), exactly as G.191's ulaw_compress() takes a
 * "14 bit left justified" input. Negative values use the one's complement magnitude (`~y`), and
 * 33 (= the bias 0x84 / 4 in 14-bit units) is added before the segment search, so the segment
 * boundaries fall on powers of two.
 *
 *   code bits:  7    6 5 4     3 2 1 0
 *             +----+---------+---------+
 *             |sign| segment | step    |   transmitted inverted (all bits),
 *             +----+---------+---------+   sign bit 1 = positive after inversion
 *
 * Both directions are table lookups built once at module load from the G.191 algorithm:
 *  - decode: 256 × int16 (512 B);
 *  - encode: 16,384 × uint8 indexed by the 14-bit value `(sample >> 2) & 0x3fff` (16 KiB). The
 *    14-bit LSB matters for μ-law (segment 1 steps are 2 in 14-bit units and its decision values are
 *    odd), so 14 bits is the smallest exact index; bench/codec.bench.ts compares it with a full
 *    65,536-entry table.
 */

import { checkCount } from './check-count.js';

/** G.191 ulaw_compress() for one sample: 16-bit two's complement in, 8-bit μ-law code out. */
function compressReference(sample: number): number {
  // "Change from 14 bit left justified to 14 bit right justified; compute absolute value
  // (1's complement in case of negative samples); adjust for easy processing" — G.191 g711.c
  let absno = (sample < 0 ? ~sample >> 2 : sample >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const highNibble = 0x08 - segno;
  const lowNibble = 0x0f - ((absno >> segno) & 0x0f);
  let code = (highNibble << 4) | lowNibble;
  if (sample >= 0) code |= 0x80;
  return code;
}

/** G.191 ulaw_expand() for one code: 8-bit μ-law in, 16-bit linear out (14-bit left justified). */
function expandReference(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  const inverted = ~code;
  const exponent = (inverted >> 4) & 0x07;
  const mantissa = inverted & 0x0f;
  const step = 4 << (exponent + 1);
  // '1' preceding the mantissa + mantissa steps + half a step − the 4·33 bias.
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}

const DECODE = new Int16Array(256);
for (let c = 0; c < 256; c++) DECODE[c] = expandReference(c);

/** Index: the 14-bit two's complement value `(sample >> 2) & 0x3fff`. */
const ENCODE = new Uint8Array(1 << 14);
for (let y = 0; y < 1 << 14; y++) {
  const signed14 = y >= 1 << 13 ? y - (1 << 14) : y;
  ENCODE[y] = compressReference(signed14 << 2);
}

/**
 * Decodes `count` (default `src.length`) μ-law bytes into `dst` (16-bit linear).
 * @returns the number of samples written
 * @throws RangeError when `dst` is shorter than `count`
 */
export function ulawDecode(src: Uint8Array, dst: Int16Array, count?: number): number {
  const n = checkCount(src.length, dst.length, count);
  const table = DECODE;
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
  return n;
}

/**
 * Encodes `count` (default `src.length`) 16-bit linear samples into μ-law bytes in `dst`.
 * @returns the number of bytes written
 * @throws RangeError when `dst` is shorter than `count`
 */
export function ulawEncode(src: Int16Array, dst: Uint8Array, count?: number): number {
  const n = checkCount(src.length, dst.length, count);
  const table = ENCODE;
  for (let i = 0; i < n; i++) dst[i] = table[(src[i]! >> 2) & 0x3fff]!;
  return n;
}

/** One μ-law code (only the low 8 bits are used) to a 16-bit linear sample. */
export function ulawToLinear(byte: number): number {
  return DECODE[byte & 0xff]!;
}

/** One 16-bit linear sample to a μ-law code; non-integers truncate and out-of-range values saturate. */
export function linearToUlaw(sample: number): number {
  const s = sample >= 32767 ? 32767 : sample <= -32768 ? -32768 : sample | 0;
  return ENCODE[(s >> 2) & 0x3fff]!;
}
