// Types for @echogarden/fvad-wasm (libfvad, the WebRTC VAD, compiled with emscripten; no bundled types).
declare module '@echogarden/fvad-wasm' {
  export interface FvadModule {
    _fvad_new(): number;
    _fvad_free(handle: number): void;
    _fvad_reset(handle: number): void;
    /** 0..3, more aggressive = fewer false positives; returns 0 or -1. */
    _fvad_set_mode(handle: number, mode: number): number;
    /** 8000, 16000, 32000 or 48000; returns 0 or -1. */
    _fvad_set_sample_rate(handle: number, rate: number): number;
    /** 10, 20 or 30 ms of 16-bit samples at `samplePtr`; returns 1 voiced, 0 unvoiced, -1 error. */
    _fvad_process(handle: number, samplePtr: number, length: number): number;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** Re-created when memory grows: read the property at each use. */
    readonly HEAP16: Int16Array;
  }
  const factory: (moduleArg?: Record<string, unknown>) => Promise<FvadModule>;
  export default factory;
}
