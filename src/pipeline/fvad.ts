import loadFvadModule, { type FvadModule } from '@echogarden/fvad-wasm';

/** libfvad aggressiveness: 0 quality … 3 very aggressive (fewest false positives). */
export type VadMode = 0 | 1 | 2 | 3;

let modulePromise: Promise<FvadModule> | null = null;

/** The WASM module, instantiated once per process and shared by every call's VAD. */
export function loadFvad(): Promise<FvadModule> {
  modulePromise ??= loadFvadModule().catch((err: unknown) => {
    modulePromise = null;
    throw err;
  });
  return modulePromise;
}

const VALID_MS = [10, 20, 30] as const;

/**
 * One libfvad instance (the WebRTC VAD): 10, 20 or 30 ms frames of 16-bit PCM at 8, 16, 32 or
 * 48 kHz in, voiced or not out. Its sample buffer lives in the WASM heap, so a frame costs one copy
 * into it and no allocation. `close()` frees the native state; idempotent.
 */
export class Fvad {
  private handle: number;
  private readonly ptr: number;
  private readonly capacity: number;

  private constructor(
    private readonly mod: FvadModule,
    readonly sampleRate: number,
    mode: VadMode,
  ) {
    this.handle = mod._fvad_new();
    if (this.handle === 0) throw new Error('fvad_new failed (out of memory)');
    if (mod._fvad_set_sample_rate(this.handle, sampleRate) !== 0) {
      mod._fvad_free(this.handle);
      throw new RangeError(`fvad: unsupported sample rate ${sampleRate} (8000, 16000, 32000, 48000)`);
    }
    mod._fvad_set_mode(this.handle, mode);
    this.capacity = (sampleRate * 30) / 1000;
    this.ptr = mod._malloc(this.capacity * 2);
  }

  static async create(sampleRate = 8000, mode: VadMode = 2): Promise<Fvad> {
    return new Fvad(await loadFvad(), sampleRate, mode);
  }

  /** Whether `length` samples is a frame size libfvad accepts at this rate. */
  accepts(length: number): boolean {
    return VALID_MS.some((ms) => (this.sampleRate * ms) / 1000 === length);
  }

  /**
   * Classifies `samples[offset, offset+length)`; length must be 10, 20 or 30 ms.
   * @throws RangeError on another length, Error once closed
   */
  process(samples: Int16Array, offset = 0, length = samples.length - offset): boolean {
    if (this.handle === 0) throw new Error('fvad: closed');
    if (!this.accepts(length)) throw new RangeError(`fvad: ${length} samples is not a 10/20/30 ms frame at ${this.sampleRate} Hz`);
    // a whole-buffer copy allocates no view; sub-frames (odd input sizes) need one
    if (offset === 0 && length === samples.length) this.mod.HEAP16.set(samples, this.ptr >> 1);
    else this.mod.HEAP16.set(samples.subarray(offset, offset + length), this.ptr >> 1);
    const r = this.mod._fvad_process(this.handle, this.ptr, length);
    if (r < 0) throw new Error('fvad_process failed');
    return r === 1;
  }

  reset(): void {
    if (this.handle !== 0) this.mod._fvad_reset(this.handle);
  }

  close(): void {
    if (this.handle === 0) return;
    this.mod._fvad_free(this.handle);
    this.mod._free(this.ptr);
    this.handle = 0;
  }
}
