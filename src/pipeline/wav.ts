/**
 * RIFF/WAVE reading and writing for 16-bit PCM (what flite writes, what recordings and test
 * fixtures use). Chunks other than `fmt ` and `data` are skipped.
 */
export interface WavAudio {
  readonly sampleRate: number;
  readonly channels: number;
  /** Interleaved 16-bit samples. */
  readonly samples: Int16Array;
}

/** @throws RangeError when the bytes are not a 16-bit PCM WAV file */
export function parseWav(bytes: Uint8Array): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (off: number): string => String.fromCharCode(bytes[off] ?? 0, bytes[off + 1] ?? 0, bytes[off + 2] ?? 0, bytes[off + 3] ?? 0);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new RangeError(`not a RIFF/WAVE file (${bytes.length} bytes)`);
  let off = 12;
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new RangeError(`WAV fmt chunk too short (${size} bytes)`);
      const format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if ((format !== 1 && format !== 0xfffe) || bits !== 16) throw new RangeError(`WAV is not 16-bit PCM (format ${format}, ${bits} bits)`);
    } else if (id === 'data') {
      if (sampleRate === 0) throw new RangeError('WAV data chunk before fmt chunk');
      // flite streams its output and may leave the size at 0 or oversized: take what is there
      const end = size === 0 || body + size > bytes.length ? bytes.length : body + size;
      const count = Math.floor((end - body) / 2);
      const samples = new Int16Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(body + 2 * i, true);
      return { sampleRate, channels, samples };
    }
    off = body + size + (size & 1);
  }
  throw new RangeError('WAV has no data chunk');
}

/** A 16-bit PCM WAV file of interleaved `samples`. */
export function encodeWav(samples: Int16Array, sampleRate: number, channels = 1): Uint8Array {
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const put = (off: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[off + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  put(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, samples[i]!, true);
  return out;
}
