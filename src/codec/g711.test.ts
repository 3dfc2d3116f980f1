/**
 * G.711 against (a) an independent reference written here from the G.711 tables — a segment
 * search over the decision values of Table 1 (A-law) and Table 2 (μ-law), not the bit tricks of
 * G.191 that the library's tables are built from — and (b) the alawmulaw package as an outside
 * oracle.
 *
 * Where alawmulaw differs from ITU-T (documented also in src/codec/README.md):
 *
 *   Decoding: no difference (all 256 codes agree for both laws).
 *
 *   μ-law encoding, 127 inputs: x = −4·d for every decision value d of G.711 Table 2
 *   (d = 1, 3, 5, …, 29, 31, 35, …, 7903, i.e. x = −4, −12, …, −124, −140, … −31612). Example: x = −4
 *   gives ITU-T 0x7F (decodes to 0, "negative zero"), alawmulaw 0x7E (decodes to −8); x = −31612
 *   gives ITU-T 0x01, alawmulaw 0x00.
 *   A-law encoding, 127 inputs: x = −8·d for every decision value d of Table 1
 *   (d = 2, 4, …, 3968: x = −16, −32, …, −31744). Example: x = −16 gives ITU-T 0x55 (decodes to −8),
 *   alawmulaw 0x54 (decodes to −24).
 *
 *   Why ITU-T is right: G.711 is defined on 14-bit (μ) / 13-bit (A) uniform PCM. A 16-bit sample
 *   carries that value in its top bits, so all 16-bit inputs with the same top 14 (13) bits are the
 *   same G.711 input and must give the same code — G.191 takes `x >> 2` (`x >> 3`, of which A-law
 *   needs only the top 12) and the one's complement `~y` as the magnitude of a negative value,
 *   which makes the quantiser exactly mirror-symmetric (code(~x) = code(x) XOR 0x80). alawmulaw
 *   negates the full 16-bit value (two's complement), so for negative inputs it depends on bits
 *   below G.711's resolution: x = −4 and x = −3 are the same 14-bit value −1 but get 0x7E and 0x7F.
 *   The shift moves every negative decision threshold by one 16-bit LSB; at most one code step.
 */
import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';
import {
  alawDecode,
  alawEncode,
  alawToLinear,
  g711Codec,
  linearToAlaw,
  linearToUlaw,
  ulawDecode,
  ulawEncode,
  ulawToLinear,
} from './index.js';

const { alaw, mulaw } = alawmulaw;

// ---------------------------------------------------------------------------------------------
// Independent reference from the G.711 tables (segment search).

/** μ-law, Table 2: segment upper ends on the 13-bit magnitude scale (decision values 31, 95, …, 8159). */
const MU_SEGMENT_END = [31, 95, 223, 479, 991, 2015, 4063, 8159];

function refUlawEncode(x: number): number {
  const y = Math.floor(x / 4); // 14-bit uniform PCM: top 14 bits of the 16-bit sample
  const positive = y >= 0;
  const magnitude = positive ? y : -y - 1; // sign-magnitude with one's complement (mirror) negatives
  let segment = 0;
  while (segment < 7 && magnitude >= MU_SEGMENT_END[segment]!) segment++;
  const start = segment === 0 ? -1 : MU_SEGMENT_END[segment - 1]!; // first segment's first interval is 0…1
  const step = 2 << segment;
  const interval = Math.min(15, Math.floor((magnitude - start) / step));
  return ((positive ? 0x80 : 0) | (~((segment << 4) | interval) & 0x7f)) & 0xff;
}

function refUlawDecode(code: number): number {
  const c = ~code & 0xff;
  const segment = (c >> 4) & 7;
  const interval = c & 15;
  const start = segment === 0 ? -1 : MU_SEGMENT_END[segment - 1]!;
  const step = 2 << segment;
  const value = start + interval * step + step / 2; // reconstruction value in the middle of the interval
  const sample = value * 4;
  return code & 0x80 ? sample : -sample | 0; // | 0: the negative zero code is the integer 0
}

/** A-law, Table 1: segment lower ends on the 12-bit magnitude scale. */
const A_SEGMENT_START = [0, 32, 64, 128, 256, 512, 1024, 2048];

function refAlawEncode(x: number): number {
  const y = Math.floor(x / 8); // 13-bit uniform PCM
  const positive = y >= 0;
  const magnitude = positive ? y : -y - 1;
  let segment = 7;
  while (magnitude < A_SEGMENT_START[segment]!) segment--;
  const step = segment <= 1 ? 2 : 1 << segment;
  const interval = Math.floor((magnitude - A_SEGMENT_START[segment]!) / step);
  return ((positive ? 0x80 : 0) | (segment << 4) | interval) ^ 0x55;
}

function refAlawDecode(code: number): number {
  const c = code ^ 0x55;
  const segment = (c >> 4) & 7;
  const interval = c & 15;
  const step = segment <= 1 ? 2 : 1 << segment;
  const value = A_SEGMENT_START[segment]! + interval * step + step / 2;
  const sample = value * 8;
  return c & 0x80 ? sample : -sample | 0;
}

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

function differences(ours: (x: number) => number, theirs: (x: number) => number, inputs: ArrayLike<number>): number[] {
  const diffs: number[] = [];
  for (let i = 0; i < inputs.length; i++) if (ours(inputs[i]!) !== theirs(inputs[i]!)) diffs.push(inputs[i]!);
  return diffs;
}

describe('G.711 μ-law (PCMU)', () => {
  it('decodes the known points of G.711 Table 2', () => {
    expect(ulawToLinear(0xff)).toBe(0);
    expect(ulawToLinear(0x7f)).toBe(0); // negative zero
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(ulawToLinear(0xfe)).toBe(8);
    expect(ulawToLinear(0x7e)).toBe(-8);
  });

  it('decodes all 256 codes like the table reference and alawmulaw', () => {
    const out = new Int16Array(256);
    expect(ulawDecode(ALL_CODES, out)).toBe(256);
    for (let c = 0; c < 256; c++) {
      expect(out[c], `code 0x${c.toString(16)}`).toBe(refUlawDecode(c));
      expect(out[c]).toBe(mulaw.decodeSample(c) | 0); // | 0: alawmulaw returns -0 for 0x7f
      expect(ulawToLinear(c)).toBe(out[c]);
    }
  });

  it('encodes all 65,536 samples like the table reference', () => {
    const out = new Uint8Array(65536);
    expect(ulawEncode(ALL_SAMPLES, out)).toBe(65536);
    const mismatches: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const x = ALL_SAMPLES[i]!;
      if (out[i] !== refUlawEncode(x) || linearToUlaw(x) !== out[i]) mismatches.push(x);
    }
    expect(mismatches).toEqual([]);
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToUlaw(-1)).toBe(0x7f);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(linearToUlaw(40000)).toBe(0x80); // saturates
    expect(linearToUlaw(-40000)).toBe(0x00);
  });

  it('differs from alawmulaw only at the 127 negative decision values x = −4·d, where it gives the ITU-T code', () => {
    const diffs = differences(linearToUlaw, (x) => mulaw.encodeSample(x) & 0xff, ALL_SAMPLES);
    expect(diffs).toHaveLength(127);
    // Decision values of Table 2 on the 13-bit magnitude scale: 1, 3, …, 31, 35, …, 7903 (127 of them).
    const decisionValues = new Set<number>();
    for (let segment = 0; segment < 8; segment++) {
      const start = segment === 0 ? -1 : MU_SEGMENT_END[segment - 1]!;
      for (let q = 1; q <= 16; q++) decisionValues.add(start + q * (2 << segment));
    }
    decisionValues.delete(8159); // the overload point, not a decision between two codes
    expect(decisionValues.size).toBe(127);
    for (const x of diffs) {
      expect(x % 4 === 0 && decisionValues.has(-x / 4), `x=${x}`).toBe(true);
      expect(linearToUlaw(x)).toBe(refUlawEncode(x));
      expect(linearToUlaw(x)).toBe(linearToUlaw(x + 1)); // same 14-bit value, same code
      expect((mulaw.encodeSample(x) & 0xff) + 1).toBe(linearToUlaw(x)); // alawmulaw is one step louder
    }
    expect(linearToUlaw(-4)).toBe(0x7f);
    expect(mulaw.encodeSample(-4) & 0xff).toBe(0x7e);
  });

  it('is mirror-symmetric: code(~x) = code(x) XOR 0x80', () => {
    for (let x = 0; x < 32768; x++) expect(linearToUlaw(~x) ^ 0x80, `x=${x}`).toBe(linearToUlaw(x));
  });

  it('round-trips: encode(decode(c)) = c except negative zero, and decode∘encode is idempotent', () => {
    for (let c = 0; c < 256; c++) {
      const once = ulawToLinear(c);
      const expected = c === 0x7f ? 0xff : c; // −0 decodes to 0, which encodes as +0
      expect(linearToUlaw(once), `code 0x${c.toString(16)}`).toBe(expected);
      expect(ulawToLinear(linearToUlaw(ulawToLinear(linearToUlaw(once))))).toBe(once);
    }
    for (let i = 0; i < 65536; i += 7) {
      const x = ALL_SAMPLES[i]!;
      const y = ulawToLinear(linearToUlaw(x));
      expect(ulawToLinear(linearToUlaw(y))).toBe(y);
    }
  });
});

describe('G.711 A-law (PCMA)', () => {
  it('decodes the known points of G.711 Table 1', () => {
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0x55)).toBe(-8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
  });

  it('decodes all 256 codes like the table reference and alawmulaw', () => {
    const out = new Int16Array(256);
    expect(alawDecode(ALL_CODES, out)).toBe(256);
    for (let c = 0; c < 256; c++) {
      expect(out[c], `code 0x${c.toString(16)}`).toBe(refAlawDecode(c));
      expect(out[c]).toBe(alaw.decodeSample(c) | 0);
      expect(alawToLinear(c)).toBe(out[c]);
    }
  });

  it('encodes all 65,536 samples like the table reference', () => {
    const out = new Uint8Array(65536);
    expect(alawEncode(ALL_SAMPLES, out)).toBe(65536);
    const mismatches: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const x = ALL_SAMPLES[i]!;
      if (out[i] !== refAlawEncode(x) || linearToAlaw(x) !== out[i]) mismatches.push(x);
    }
    expect(mismatches).toEqual([]);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    expect(linearToAlaw(1e6)).toBe(0xaa);
  });

  it('differs from alawmulaw only at the 127 negative decision values x = −8·d, where it gives the ITU-T code', () => {
    const diffs = differences(linearToAlaw, (x) => alaw.encodeSample(x) & 0xff, ALL_SAMPLES);
    expect(diffs).toHaveLength(127);
    for (const x of diffs) {
      expect(x < 0 && x % 16 === 0, `x=${x}`).toBe(true); // decision values of Table 1 are even in 12-bit units
      expect(linearToAlaw(x)).toBe(refAlawEncode(x));
      expect(linearToAlaw(x)).toBe(linearToAlaw(x + 1)); // same 13-bit value, same code
      expect(alawToLinear(alaw.encodeSample(x) & 0xff)).toBeLessThan(alawToLinear(linearToAlaw(x))); // one step louder
    }
    expect(linearToAlaw(-16)).toBe(0x55);
    expect(alaw.encodeSample(-16) & 0xff).toBe(0x54);
  });

  it('is mirror-symmetric: code(~x) = code(x) XOR 0x80', () => {
    for (let x = 0; x < 32768; x++) expect(linearToAlaw(~x) ^ 0x80, `x=${x}`).toBe(linearToAlaw(x));
  });

  it('round-trips: encode(decode(c)) = c for every code', () => {
    for (let c = 0; c < 256; c++) {
      const once = alawToLinear(c);
      expect(linearToAlaw(once), `code 0x${c.toString(16)}`).toBe(c);
      expect(alawToLinear(linearToAlaw(alawToLinear(c)))).toBe(once);
    }
  });
});

describe('buffer forms and the codec object', () => {
  it('honours count and writes nothing past it', () => {
    const src = Int16Array.from([1000, -1000, 2000, -2000]);
    const dst = new Uint8Array(4).fill(0x11);
    expect(ulawEncode(src, dst, 2)).toBe(2);
    expect(Array.from(dst)).toEqual([linearToUlaw(1000), linearToUlaw(-1000), 0x11, 0x11]);
    const pcm = new Int16Array(4).fill(7);
    expect(alawDecode(Uint8Array.from([0xd5, 0x55, 0xaa]), pcm, 1)).toBe(1);
    expect(Array.from(pcm)).toEqual([8, 7, 7, 7]);
  });

  it('rejects a destination that is too short or a bad count with RangeError', () => {
    expect(() => ulawDecode(new Uint8Array(160), new Int16Array(159))).toThrow(RangeError);
    expect(() => alawEncode(new Int16Array(160), new Uint8Array(80))).toThrow(RangeError);
    expect(() => ulawEncode(new Int16Array(10), new Uint8Array(20), 11)).toThrow(RangeError);
    expect(() => alawDecode(new Uint8Array(10), new Int16Array(10), -1)).toThrow(RangeError);
    expect(() => alawDecode(new Uint8Array(10), new Int16Array(10), 1.5)).toThrow(RangeError);
    expect(ulawDecode(new Uint8Array(0), new Int16Array(0))).toBe(0);
  });

  it('g711Codec returns the shared PCMU/PCMA objects with RFC 3551 payload types', () => {
    const pcmu = g711Codec('PCMU');
    const pcma = g711Codec('PCMA');
    expect(pcmu).toBe(g711Codec('PCMU'));
    expect([pcmu.name, pcmu.payloadType, pcmu.sampleRate]).toEqual(['PCMU', 0, 8000]);
    expect([pcma.name, pcma.payloadType, pcma.sampleRate]).toEqual(['PCMA', 8, 8000]);
    expect(() => g711Codec('G722' as never)).toThrow(TypeError);

    const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
    for (const codec of [pcmu, pcma]) {
      const payload = new Uint8Array(160);
      const back = new Int16Array(160);
      codec.encode(frame, payload);
      codec.decode(payload, back);
      const encode = codec.name === 'PCMU' ? linearToUlaw : linearToAlaw;
      const decode = codec.name === 'PCMU' ? ulawToLinear : alawToLinear;
      for (let i = 0; i < 160; i++) {
        expect(payload[i]).toBe(encode(frame[i]!));
        expect(back[i]).toBe(decode(payload[i]!));
      }
    }
  });
});
