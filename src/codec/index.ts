/**
 * src/codec: G.711 μ-law / A-law companding and sample-rate conversion. A leaf layer: imports only
 * src/shared. Hot-path functions write into caller-provided buffers and allocate nothing.
 */
export type { G711Law, G711Codec } from './g711-codec.js';
export { g711Codec } from './g711-codec.js';
export { ulawDecode, ulawEncode, ulawToLinear, linearToUlaw } from './g711-ulaw.js';
export { alawDecode, alawEncode, alawToLinear, linearToAlaw } from './g711-alaw.js';
export type { ResamplerOptions, ResamplerQuality } from './resampler.js';
export { Resampler } from './resampler.js';
export * from './plc.js';
