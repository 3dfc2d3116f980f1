import { FrameProcessor } from './frame-processor.js';
import { Fvad, type VadMode } from './fvad.js';
import type { Frame, FrameDirection, InputAudioFrame } from './frames.js';

export interface VadOptions {
  /** libfvad aggressiveness 0–3. */
  readonly mode: VadMode;
  /** Voiced audio needed, without a gap, before the caller counts as speaking. */
  readonly startMs: number;
  /** Unvoiced audio needed before the caller counts as stopped. */
  readonly stopMs: number;
  readonly sampleRate: number;
  /**
   * Frames quieter than this RMS (linear, of 32768) never count as voiced. libfvad adapts its noise
   * model over the first frames and right after digital silence it calls the onset of line noise
   * speech; the floor (100 ≈ -50 dBFS, well under any caller's speech) keeps that out. 0 disables.
   */
  readonly minRms: number;
}

function meanSquare(audio: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < audio.length; i++) sum += audio[i]! * audio[i]!;
  return audio.length === 0 ? 0 : sum / audio.length;
}

export const DEFAULT_VAD_OPTIONS = { mode: 3, startMs: 60, stopMs: 600, sampleRate: 8000, minRms: 100 } as const satisfies VadOptions;

/** quiet → starting (voiced, within start hangover) → speaking → stopping (unvoiced, within stop hangover) → quiet */
export type VadState = 'quiet' | 'starting' | 'speaking' | 'stopping';

/**
 * Voice activity detection on the caller's audio with libfvad and hangovers. Marks each input
 * audio frame `voiced` and passes it on; emits user-started-speaking once `startMs` of voiced audio
 * ran without a gap and user-stopped-speaking after `stopMs` of unvoiced audio. Times are media
 * times (caller audio), so the results do not depend on tick jitter.
 */
export class VadProcessor extends FrameProcessor {
  readonly options: VadOptions;
  private vad: Fvad | null = null;
  private state: VadState = 'quiet';
  private runMs = 0;
  private speechStartMs = 0;
  private lastVoicedEndMs = 0;
  private warnedUnloaded = false;

  constructor(options: Partial<VadOptions> = {}) {
    super('vad');
    this.options = { ...DEFAULT_VAD_OPTIONS, ...options };
  }

  /** Loads the WASM VAD (shared module, own instance); call before audio flows. */
  async load(): Promise<void> {
    this.vad ??= await Fvad.create(this.options.sampleRate, this.options.mode);
  }

  get vadState(): VadState {
    return this.state;
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    if (frame.kind === 'input-audio' && direction === 'downstream') this.classify(frame);
    this.pushFrame(frame, direction);
  }

  private classify(frame: InputAudioFrame): void {
    const vad = this.vad;
    if (vad === null) {
      if (!this.warnedUnloaded) this.ctx.logger.warn('VAD not loaded; audio passes unclassified');
      this.warnedUnloaded = true;
      return;
    }
    const audio = frame.audio;
    let voiced: boolean;
    if (vad.accepts(audio.length)) {
      voiced = vad.process(audio);
    } else {
      // odd frame size: classify in 10 ms pieces, voiced if most are
      const piece = frame.sampleRate / 100;
      let yes = 0;
      let n = 0;
      for (let off = 0; off + piece <= audio.length; off += piece, n++) if (vad.process(audio, off, piece)) yes++;
      voiced = n > 0 && yes * 2 > n;
    }
    // the VAD always sees the frame (its noise model adapts); the floor only vetoes
    if (voiced && this.options.minRms > 0 && meanSquare(audio) < this.options.minRms * this.options.minRms) voiced = false;
    frame.voiced = voiced;
    this.step(voiced, frame.mediaMs, (audio.length * 1000) / frame.sampleRate);
  }

  /** The hangover state machine: one transition per classified frame. */
  private step(voiced: boolean, mediaMs: number, frameMs: number): void {
    const endMs = mediaMs + frameMs;
    switch (this.state) {
      case 'quiet':
        if (!voiced) return;
        this.speechStartMs = mediaMs;
        this.runMs = frameMs;
        this.state = 'starting';
        if (this.runMs >= this.options.startMs) this.started(endMs);
        return;
      case 'starting':
        if (!voiced) {
          this.state = 'quiet';
          return;
        }
        this.runMs += frameMs;
        if (this.runMs >= this.options.startMs) this.started(endMs);
        return;
      case 'speaking':
        if (voiced) return;
        this.lastVoicedEndMs = mediaMs;
        this.runMs = frameMs;
        this.state = 'stopping';
        if (this.runMs >= this.options.stopMs) this.stopped(endMs);
        return;
      case 'stopping':
        if (voiced) {
          this.state = 'speaking';
          return;
        }
        this.runMs += frameMs;
        if (this.runMs >= this.options.stopMs) this.stopped(endMs);
        return;
    }
  }

  private started(mediaMs: number): void {
    this.state = 'speaking';
    this.ctx.logger.debug({ mediaMs, atMs: this.ctx.clock.now() }, 'caller started speaking');
    this.ctx.emit({ type: 'user-started-speaking', mediaMs });
    this.pushFrame({ kind: 'user-started-speaking', tier: 'system', speechStartMs: this.speechStartMs, mediaMs, atMs: this.ctx.clock.now() });
  }

  private stopped(mediaMs: number): void {
    this.state = 'quiet';
    const speechMs = this.lastVoicedEndMs - this.speechStartMs;
    this.ctx.emit({ type: 'user-stopped-speaking', mediaMs, speechMs });
    this.pushFrame({
      kind: 'user-stopped-speaking',
      tier: 'system',
      speechEndMs: this.lastVoicedEndMs,
      mediaMs,
      speechMs,
      atMs: this.ctx.clock.now(),
      hangoverMs: this.runMs,
    });
  }

  override cleanup(): void {
    super.cleanup();
    this.vad?.close();
    this.vad = null;
  }
}
