import { linearToUlaw } from '../src/codec/index.js';

/** One second of a 1 kHz tone at -12 dBFS as raw μ-law, for SIPp's rtp_stream (load and soak). */
export function toneUlaw(): Buffer {
  const out = Buffer.alloc(8000);
  for (let i = 0; i < out.length; i++) out[i] = linearToUlaw(Math.round(Math.sin((2 * Math.PI * 1000 * i) / 8000) * 8191));
  return out;
}
