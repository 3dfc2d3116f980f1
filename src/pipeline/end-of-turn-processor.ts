import type { TimerHandle } from '../shared/index.js';
import { FrameProcessor } from './frame-processor.js';
import type { Frame, FrameDirection, InputAudioFrame, UserStoppedSpeakingFrame } from './frames.js';

export interface EndOfTurnOptions {
  /** Extra wait after the VAD's stop before the turn ends; speech inside it continues the turn. */
  readonly delayMs: number;
  /** Keep the caller's audio of the turn and hand it over in the end-of-turn frame. */
  readonly capture: boolean;
  /** Audio kept from before the VAD's first voiced frame (word onsets are quiet). */
  readonly prerollMs: number;
  /** Audio kept after the last voiced frame. */
  readonly tailMs: number;
  /** Longest turn audio kept; the rest of a longer turn is not captured. */
  readonly maxCaptureMs: number;
  readonly sampleRate: number;
}

export const DEFAULT_END_OF_TURN_OPTIONS = {
  delayMs: 0,
  capture: false,
  prerollMs: 200,
  tailMs: 100,
  maxCaptureMs: 30_000,
  sampleRate: 8000,
} as const satisfies EndOfTurnOptions;

/**
 * End-of-turn detection: the VAD's user-stopped-speaking (already past its stop hangover) plus an
 * optional extra delay ends the caller's turn with an end-of-turn control frame. Starts the turn's
 * latency timeline; optionally captures the turn's audio (one buffer per turn, grown by doubling;
 * the per-frame path copies into preallocated memory).
 */
export class EndOfTurnProcessor extends FrameProcessor {
  readonly options: EndOfTurnOptions;
  private turnId = 0;
  private inTurn = false;
  private timer: TimerHandle | null = null;
  // pre-roll ring, in samples, with the media time of its end
  private readonly ring: Int16Array;
  private ringWrite = 0;
  private ringFilled = 0;
  private ringEndMs = 0;
  // capture of the current turn
  private capturing = false;
  private capture: Int16Array = new Int16Array(0);
  private captureLength = 0;
  private captureStartMs = 0;
  private pendingAudio: Int16Array | null = null;
  private pendingSpeechMs = 0;

  constructor(options: Partial<EndOfTurnOptions> = {}) {
    super('end-of-turn');
    this.options = { ...DEFAULT_END_OF_TURN_OPTIONS, ...options };
    const ringMs = this.options.capture ? this.options.prerollMs + 1000 : 0;
    this.ring = new Int16Array((ringMs * this.options.sampleRate) / 1000);
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    if (direction === 'downstream') {
      switch (frame.kind) {
        case 'input-audio':
          if (this.options.capture) this.keepAudio(frame);
          break;
        case 'user-started-speaking':
          this.ctx.timeline.abandon();
          if (this.timer !== null) {
            // speech inside the end-of-turn delay: the same turn goes on
            this.timer.cancel();
            this.timer = null;
            this.capturing = this.options.capture;
          } else {
            this.beginTurn(frame.speechStartMs);
          }
          break;
        case 'user-stopped-speaking':
          this.pushFrame(frame, direction);
          this.userStopped(frame);
          return;
        case 'interruption':
          break;
        default:
          break;
      }
    }
    this.pushFrame(frame, direction);
  }

  private beginTurn(speechStartMs: number): void {
    this.turnId++;
    this.inTurn = true;
    if (!this.options.capture) return;
    this.capturing = true;
    this.captureLength = 0;
    const perMs = this.options.sampleRate / 1000;
    this.captureStartMs = Math.max(this.ringEndMs - this.ringFilled / perMs, speechStartMs - this.options.prerollMs);
    const fromRing = Math.round((this.ringEndMs - this.captureStartMs) * perMs);
    this.ensureCapacity(Math.max(fromRing, this.options.sampleRate * 4));
    // copy the ring's last `fromRing` samples in order
    const start = (this.ringWrite - fromRing + this.ring.length) % this.ring.length;
    for (let i = 0; i < fromRing; i++) this.capture[i] = this.ring[(start + i) % this.ring.length]!;
    this.captureLength = fromRing;
  }

  private keepAudio(frame: InputAudioFrame): void {
    const audio = frame.audio;
    const ring = this.ring;
    if (ring.length > 0) {
      for (let i = 0; i < audio.length; i++) {
        ring[this.ringWrite] = audio[i]!;
        this.ringWrite = this.ringWrite + 1 === ring.length ? 0 : this.ringWrite + 1;
      }
      this.ringFilled = Math.min(ring.length, this.ringFilled + audio.length);
    }
    this.ringEndMs = frame.mediaMs + (audio.length * 1000) / frame.sampleRate;
    if (!this.capturing) return;
    const max = (this.options.maxCaptureMs * this.options.sampleRate) / 1000;
    const n = Math.min(audio.length, max - this.captureLength);
    if (n <= 0) return;
    this.ensureCapacity(this.captureLength + n);
    this.capture.set(n === audio.length ? audio : audio.subarray(0, n), this.captureLength);
    this.captureLength += n;
  }

  private ensureCapacity(n: number): void {
    if (this.capture.length >= n) return;
    const next = new Int16Array(Math.max(n, this.capture.length * 2));
    next.set(this.capture.subarray(0, this.captureLength));
    this.capture = next;
  }

  private userStopped(frame: UserStoppedSpeakingFrame): void {
    if (!this.inTurn) return;
    this.ctx.timeline.begin(this.turnId, frame.hangoverMs);
    let audio: Int16Array | null = null;
    if (this.capturing) {
      this.capturing = false;
      const keepMs = frame.speechEndMs + this.options.tailMs - this.captureStartMs;
      const keep = Math.max(0, Math.min(this.captureLength, Math.round((keepMs * this.options.sampleRate) / 1000)));
      audio = this.capture.slice(0, keep);
    }
    this.pendingAudio = audio;
    this.pendingSpeechMs = frame.speechMs;
    if (this.options.delayMs <= 0) {
      this.endTurn();
      return;
    }
    this.timer?.cancel();
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = null;
      this.endTurn();
    }, this.options.delayMs);
  }

  private endTurn(): void {
    this.inTurn = false;
    this.ctx.timeline.mark('end-of-turn');
    const audio = this.pendingAudio;
    this.pendingAudio = null;
    this.pushFrame({ kind: 'end-of-turn', tier: 'control', turnId: this.turnId, speechMs: this.pendingSpeechMs, audio });
  }

  override cleanup(): void {
    super.cleanup();
    this.timer?.cancel();
    this.timer = null;
  }
}
