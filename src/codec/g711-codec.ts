/**
 * The per-call G.711 codec object used by the media session (src/rtp declares the same shape as
 * its PayloadCodec). Static payload types from RFC 3551 §6 Table 4: PCMU = 0, PCMA = 8, both
 * 8,000 Hz mono, one byte per sample (RFC 3551 §4.5.14).
 */
import { alawDecode, alawEncode } from './g711-alaw.js';
import { ulawDecode, ulawEncode } from './g711-ulaw.js';

export type G711Law = 'PCMU' | 'PCMA';

export interface G711Codec {
  readonly name: G711Law;
  readonly payloadType: 0 | 8;
  readonly sampleRate: 8000;
  /** Decodes `payload.length` samples into `out` (which must be at least that long). */
  decode(payload: Uint8Array, out: Int16Array): void;
  /** Encodes `pcm.length` samples into `out` (which must be at least that long). */
  encode(pcm: Int16Array, out: Uint8Array): void;
}

const PCMU: G711Codec = Object.freeze({
  name: 'PCMU',
  payloadType: 0,
  sampleRate: 8000,
  decode(payload: Uint8Array, out: Int16Array): void {
    ulawDecode(payload, out);
  },
  encode(pcm: Int16Array, out: Uint8Array): void {
    ulawEncode(pcm, out);
  },
} as const);

const PCMA: G711Codec = Object.freeze({
  name: 'PCMA',
  payloadType: 8,
  sampleRate: 8000,
  decode(payload: Uint8Array, out: Int16Array): void {
    alawDecode(payload, out);
  },
  encode(pcm: Int16Array, out: Uint8Array): void {
    alawEncode(pcm, out);
  },
} as const);

/** The shared, stateless codec for `name`. */
export function g711Codec(name: G711Law): G711Codec {
  switch (name) {
    case 'PCMU':
      return PCMU;
    case 'PCMA':
      return PCMA;
    default:
      throw new TypeError(`unknown G.711 law: ${String(name)}`);
  }
}
