/**
 * G.711 A-law (PCMA) companding, bit-exact to the ITU-T reference.
 *
 * @see ITU-T Rec. G.711 (11/88) §2 and Table 1a/1b "A-law"
 * @see ITU-T Rec. G.191 Software Tools Library, module g711.c: alaw_compress() / alaw_expand()
 *
 * G.711 A-law quantises a 13-bit sign + 12-bit-magnitude uniform signal, taken from the top of the
 * 16-bit sample. Negative values use the one's complement magnitude (`~x`). The smallest A-law
 * step (segments 1 and 2) is 2 in 13-bit units, so only the top 12 bits decide the code: G.191's
 * alaw_compress() computes `ix = x >> 4` ("only 12 MSBits are taken into account"). The code's
 * even bits are inverted on the line (XOR 0x55), G.711 §2 note.
 *
 *   code bits:  7    6 5 4     3 2 1 0
 *             +----+---------+---------+
 *             |sign| segment | step    |   XOR 0x55 on the line,
 *             +----+---------+---------+   sign bit 1 = positive
 *
 * Tables built once at module load from the G.191 algorithm:
 *  - decode: 256 × int16;
 *  - encode: 4,096 × uint8 indexed by the 12-bit value `(sample >> 4) & 0xfff` (4 KiB — fits in L1).
 *    For negative samples `~x >> 4 === ~(x >> 4)`, so the 12-bit index carries sign and magnitude.
 */

import { checkCount } from './check-count.js';

/** G.191 alaw_compress() for one sample: 16-bit two's complement in, A-law code out. */
function compressReference(sample: number): number {
  let ix = sample < 0 ? ~sample >> 4 : sample >> 4; // 0 <= ix < 2048, 1's complement if negative
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix -= 16; // remove the leading '1'
    ix += iexp << 4;
  }
  if (sample >= 0) ix |= 0x80;
  return ix ^ 0x55; // toggle even bits
}

/** G.191 alaw_expand() for one code: A-law in, 16-bit linear out (13-bit left justified). */
function expandReference(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const iexp = ix >> 4;
  let mant = ix & 0x0f;
  if (iexp > 0) mant += 16; // leading '1'
  mant = (mant << 4) + 0x08; // left justified + half a quantisation step
  if (iexp > 1) mant <<= iexp - 1;
  return code > 127 ? mant : -mant;
}

const DECODE = new Int16Array(256);
for (let c = 0; c < 256; c++) DECODE[c] = expandReference(c);

/** Index: the 12-bit two's complement value `(sample >> 4) & 0xfff`. */
const ENCODE = new Uint8Array(1 << 12);
for (let y = 0; y < 1 << 12; y++) {
  const signed12 = y >= 1 << 11 ? y - (1 << 12) : y;
  ENCODE[y] = compressReference(signed12 << 4);
}

/**
 * Decodes `count` (default `src.length`) A-law bytes into `dst` (16-bit linear).
 * @returns the number of samples written
 * @throws RangeError when `dst` is shorter than `count`
 */
export function alawDecode(src: Uint8Array, dst: Int16Array, count?: number): number {
  const n = checkCount(src.length, dst.length, count);
  const table = DECODE;
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
  return n;
}

/**
 * Encodes `count` (default `src.length`) 16-bit linear samples into A-law bytes in `dst`.
 * @returns the number of bytes written
 * @throws RangeError when `dst` is shorter than `count`
 */
export function alawEncode(src: Int16Array, dst: Uint8Array, count?: number): number {
  const n = checkCount(src.length, dst.length, count);
  const table = ENCODE;
  for (let i = 0; i < n; i++) dst[i] = table[(src[i]! >> 4) & 0xfff]!;
  return n;
}

/** One A-law code (only the low 8 bits are used) to a 16-bit linear sample. */
export function alawToLinear(byte: number): number {
  return DECODE[byte & 0xff]!;
}

/** One 16-bit linear sample to an A-law code; non-integers truncate and out-of-range values saturate. */
export function linearToAlaw(sample: number): number {
  const s = sample >= 32767 ? 32767 : sample <= -32768 ? -32768 : sample | 0;
  return ENCODE[(s >> 4) & 0xfff]!;
}
