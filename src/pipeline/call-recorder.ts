import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../shared/index.js';

const HEADER_BYTES = 44;
/** Frames gathered before one write to disk (1 s at 20 ms): one write a second per call. */
const FLUSH_FRAMES = 50;

/**
 * A per-call stereo WAV recording: left channel the caller (what we received, after the jitter
 * buffer and concealment), right channel the bot (what we sent), 16-bit PCM at 8 kHz, one frame
 * per 20 ms tick on each side so the two channels stay aligned on the RTP clock.
 *
 * The call layer hands it each tick's caller frame (`caller`) and the bot frame it sent, or
 * nothing (`bot`). Frames are interleaved into a preallocated buffer and written once a second;
 * the RIFF sizes are patched on `close()`. Writing never blocks the tick: a write still in
 * flight when the next batch is due makes that batch wait in a second buffer; if both are busy
 * (disk stalled for seconds) frames are dropped and counted rather than queued without bound.
 */
export class CallRecorder {
  private file: FileHandle | undefined;
  private readonly opening: Promise<void>;
  /** Being filled by ticks / being (or last) written: swapped on each flush. */
  private activeBuf: Int16Array;
  private spareBuf: Int16Array;
  private filled = 0; // frames in the active buffer
  private writing: Promise<void> | undefined;
  private dataBytes = 0;
  private closed: Promise<void> | undefined;
  private callerPending = false;
  /** Frames lost because the disk could not keep up. */
  droppedFrames = 0;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
    private readonly frameSamples = 160,
    private readonly sampleRate = 8000,
  ) {
    this.activeBuf = new Int16Array(FLUSH_FRAMES * frameSamples * 2);
    this.spareBuf = new Int16Array(FLUSH_FRAMES * frameSamples * 2);
    this.opening = this.openFile();
  }

  /** The caller's frame for this tick (left channel). Call before `bot()` in the same tick. */
  caller(frame: Int16Array): void {
    if (this.closed !== undefined) return;
    const buf = this.activeBuf;
    const base = this.filled * this.frameSamples * 2;
    for (let i = 0; i < this.frameSamples; i++) buf[base + 2 * i] = frame[i] ?? 0;
    this.callerPending = true;
  }

  /** The bot's frame sent this tick (right channel), or null when nothing was sent. Ends the tick. */
  bot(frame: Int16Array | null): void {
    if (this.closed !== undefined) return;
    const buf = this.activeBuf;
    const base = this.filled * this.frameSamples * 2;
    if (!this.callerPending) for (let i = 0; i < this.frameSamples; i++) buf[base + 2 * i] = 0;
    for (let i = 0; i < this.frameSamples; i++) buf[base + 2 * i + 1] = frame === null ? 0 : (frame[i] ?? 0);
    this.callerPending = false;
    this.filled++;
    if (this.filled === FLUSH_FRAMES) this.flush();
  }

  get durationMs(): number {
    return ((this.dataBytes / 4 + this.filled * this.frameSamples) / this.sampleRate) * 1000;
  }

  /** Writes what is left, patches the header and closes the file. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.finish();
    return this.closed;
  }

  private async openFile(): Promise<void> {
    try {
      this.file = await open(this.path, 'w');
      await this.file.write(header(0, this.sampleRate), 0, HEADER_BYTES, 0);
    } catch (err) {
      this.logger.error({ err, path: this.path }, 'cannot open call recording');
      this.file = undefined;
    }
  }

  private flush(): void {
    if (this.writing !== undefined) {
      // The other buffer is still being written: drop this batch rather than grow without bound.
      this.droppedFrames += this.filled;
      this.filled = 0;
      return;
    }
    const buf = this.activeBuf;
    const frames = this.filled;
    this.activeBuf = this.spareBuf;
    this.spareBuf = buf;
    this.filled = 0;
    this.writing = this.write(buf, frames).finally(() => {
      this.writing = undefined;
    });
  }

  private async write(buf: Int16Array, frames: number): Promise<void> {
    await this.opening;
    const file = this.file;
    if (file === undefined) return;
    const bytes = frames * this.frameSamples * 4;
    try {
      await file.write(new Uint8Array(buf.buffer, buf.byteOffset, bytes), 0, bytes, HEADER_BYTES + this.dataBytes);
      this.dataBytes += bytes;
    } catch (err) {
      this.logger.error({ err, path: this.path }, 'call recording write failed');
    }
  }

  private async finish(): Promise<void> {
    await this.writing;
    if (this.filled > 0) {
      const buf = this.activeBuf;
      const frames = this.filled;
      this.filled = 0;
      await this.write(buf, frames);
    }
    await this.opening;
    const file = this.file;
    if (file === undefined) return;
    try {
      await file.write(header(this.dataBytes, this.sampleRate), 0, HEADER_BYTES, 0);
    } finally {
      await file.close();
    }
    this.logger.info({ path: this.path, seconds: Math.round(this.dataBytes / 4 / this.sampleRate), droppedFrames: this.droppedFrames }, 'call recording saved');
  }
}

/** RIFF/WAVE header for 16-bit stereo PCM (RIFF sizes from the data length). */
function header(dataBytes: number, sampleRate: number): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  const v = new DataView(h.buffer);
  const ascii = (off: number, s: string): void => {
    for (let i = 0; i < s.length; i++) h[off + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 2, true); // stereo: caller left, bot right
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  return h;
}
