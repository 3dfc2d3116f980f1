/**
 * Text-to-speech, one interface for every provider: `synthesize()` streams 16-bit mono PCM chunks
 * at `sampleRate` as they are produced, so the first audio of a sentence can be queued for playout
 * before the rest exists. The playout resamples to 8 kHz at the boundary. An abort (barge-in) ends
 * the stream promptly; failures are ServiceError with `retryable`.
 */
export interface TtsService {
  readonly name: string;
  readonly sampleRate: number;
  synthesize(text: string, signal: AbortSignal): AsyncIterable<Int16Array>;
  close?(): void | Promise<void>;
}

/**
 * Turns a byte stream of 16-bit little-endian PCM into Int16Array chunks, carrying an odd byte
 * over to the next chunk (network chunks do not respect sample boundaries).
 */
export class Pcm16Assembler {
  private carry: number | null = null;

  push(bytes: Uint8Array): Int16Array {
    const total = bytes.length + (this.carry === null ? 0 : 1);
    const n = total >> 1;
    const out = new Int16Array(n);
    let i = 0;
    let src = 0;
    if (this.carry !== null && n > 0) {
      out[0] = (this.carry | (bytes[0]! << 8)) << 16 >> 16;
      i = 1;
      src = 1;
      this.carry = null;
    }
    for (; i < n; i++, src += 2) out[i] = (bytes[src]! | (bytes[src + 1]! << 8)) << 16 >> 16;
    if (src < bytes.length) this.carry = bytes[src]!;
    return out;
  }
}
