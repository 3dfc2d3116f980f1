import { Resampler } from '../codec/index.js';
import type { TimerHandle } from '../shared/index.js';
import { FrameProcessor } from './frame-processor.js';
import type { AfterPlayout, Frame, FrameDirection, PlayedPortion } from './frames.js';

export const PLAYOUT_RATE = 8000;
export const PLAYOUT_FRAME_SAMPLES = 160;
export const PLAYOUT_FRAME_MS = 20;

/**
 * What the call layer reads once per 20 ms tick. Pull-based so an idle call costs one function
 * call and no allocation per tick.
 */
export interface PlayoutSource {
  /** Fills `out` (160 samples, 8 kHz); false = nothing to play (send nothing, or comfort silence). */
  pull(out: Int16Array): boolean;
  /** Barge-in: drops all queued bot audio; returns how many 20 ms frames were dropped. */
  clear(): number;
  /** 20 ms frames of bot audio queued (known so far). */
  readonly queuedFrames: number;
}

/** One bot utterance: audio chunks at 8 kHz as TTS delivered them (allocation per chunk). */
class Utterance {
  readonly chunks: Int16Array[] = [];
  chunkIndex = 0;
  chunkPos = 0;
  totalSamples = 0;
  readSamples = 0;
  playedFrames = 0;
  done = false;
  started = false;
  resampler: Resampler | null = null;

  constructor(
    readonly id: string,
    readonly text: string,
    readonly allowInterruptions: boolean,
    readonly after: AfterPlayout | null,
  ) {}

  get remaining(): number {
    return this.totalSamples - this.readSamples;
  }

  append(audio: Int16Array, sampleRate: number): void {
    let pcm = audio;
    if (sampleRate !== PLAYOUT_RATE) {
      // resampled once per chunk into a new buffer; the resampler keeps its state across chunks
      this.resampler ??= new Resampler(sampleRate, PLAYOUT_RATE);
      const out = new Int16Array(this.resampler.outputLengthFor(audio.length));
      pcm = out.subarray(0, this.resampler.process(audio, out));
    }
    if (pcm.length === 0) return;
    this.chunks.push(pcm);
    this.totalSamples += pcm.length;
  }

  /** Copies up to `n` samples into `out`; returns how many. */
  read(out: Int16Array, n: number): number {
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[this.chunkIndex];
      if (chunk === undefined) break;
      const take = Math.min(n - written, chunk.length - this.chunkPos);
      out.set(chunk.subarray(this.chunkPos, this.chunkPos + take), written);
      written += take;
      this.chunkPos += take;
      if (this.chunkPos >= chunk.length) {
        this.chunkIndex++;
        this.chunkPos = 0;
      }
    }
    this.readSamples += written;
    return written;
  }

  portion(): PlayedPortion {
    const totalMs = (this.totalSamples * 1000) / PLAYOUT_RATE;
    const playedMs = Math.min(totalMs, this.playedFrames * PLAYOUT_FRAME_MS);
    return { utteranceId: this.id, text: this.text, playedMs, totalMs, playedText: textPortion(this.text, totalMs === 0 ? 0 : playedMs / totalMs) };
  }
}

/**
 * The leading part of `text` in proportion `fraction` (by characters), cut back to the last whole
 * word: an estimate of what the caller heard, for trimming an LLM's context.
 */
export function textPortion(text: string, fraction: number): string {
  if (fraction >= 1) return text;
  if (fraction <= 0) return '';
  const cut = Math.floor(text.length * fraction);
  if (cut >= text.length) return text;
  // a word counts as heard only if the cut falls after its end
  const head = text.slice(0, cut + 1);
  const lastSpace = head.search(/\s\S*$/);
  return (lastSpace < 0 ? '' : text.slice(0, lastSpace)).trimEnd();
}

export interface PlayoutHooks {
  onUtteranceStart(id: string, allowInterruptions: boolean, firstOfRun: boolean): void;
  onUtteranceDone(played: PlayedPortion, after: AfterPlayout | null, lastOfRun: boolean): void;
}

/**
 * The queue of bot utterances behind the PlayoutSource. Frames handed out by `pull()` count as
 * played; an interruption reports the current utterance's played portion.
 */
export class UtterancePlayout implements PlayoutSource {
  private readonly queue: Utterance[] = [];
  private speaking = false;
  private hooks: PlayoutHooks | null = null;
  /** Frames handed out since creation. */
  framesOut = 0;

  setHooks(hooks: PlayoutHooks): void {
    this.hooks = hooks;
  }

  begin(id: string, text: string, allowInterruptions: boolean, after: AfterPlayout | null): void {
    this.queue.push(new Utterance(id, text, allowInterruptions, after));
  }

  append(id: string, audio: Int16Array, sampleRate: number): void {
    const u = this.find(id);
    if (u !== undefined && !u.done) u.append(audio, sampleRate);
  }

  end(id: string): void {
    const u = this.find(id);
    if (u !== undefined) u.done = true;
  }

  has(id: string): boolean {
    return this.find(id) !== undefined;
  }

  /** The utterance now playing (first frame handed out), if any. */
  get current(): { readonly id: string; readonly allowInterruptions: boolean } | null {
    const u = this.queue[0];
    return u !== undefined && u.started ? u : null;
  }

  get isSpeaking(): boolean {
    return this.speaking;
  }

  get queuedFrames(): number {
    let samples = 0;
    for (const u of this.queue) samples += u.remaining;
    return Math.ceil(samples / PLAYOUT_FRAME_SAMPLES);
  }

  pull(out: Int16Array): boolean {
    for (;;) {
      const u = this.queue[0];
      if (u === undefined) return false;
      if (u.remaining === 0) {
        if (!u.done) return false; // TTS still synthesizing: underrun, play nothing this tick
        this.finish(u);
        continue;
      }
      if (!u.started) {
        u.started = true;
        const first = !this.speaking;
        this.speaking = true;
        this.hooks?.onUtteranceStart(u.id, u.allowInterruptions, first);
      }
      const n = u.read(out, PLAYOUT_FRAME_SAMPLES);
      if (n < out.length) out.fill(0, n);
      u.playedFrames++;
      this.framesOut++;
      if (u.done && u.remaining === 0) this.finish(u);
      return true;
    }
  }

  private finish(u: Utterance): void {
    this.queue.shift();
    const last = this.queue.length === 0;
    if (last) this.speaking = false;
    if (u.started) this.hooks?.onUtteranceDone(u.portion(), u.after, last);
  }

  clear(): number {
    return this.interrupt().droppedFrames;
  }

  /** Drops everything queued; reports the utterance that was playing. */
  interrupt(): { played: PlayedPortion | null; droppedUtterances: number; droppedFrames: number; wasSpeaking: boolean } {
    const droppedFrames = this.queuedFrames;
    const cur = this.queue[0];
    const played = cur !== undefined && cur.started ? cur.portion() : null;
    const droppedUtterances = this.queue.length;
    const wasSpeaking = this.speaking;
    this.queue.length = 0;
    this.speaking = false;
    return { played, droppedUtterances, droppedFrames, wasSpeaking };
  }

  private find(id: string): Utterance | undefined {
    for (const u of this.queue) if (u.id === id) return u;
    return undefined;
  }
}

/**
 * The tail of a bot pipeline: turns tts-started / tts-audio / tts-stopped frames into utterances
 * of an UtterancePlayout, clears it on an interruption (within the same call stack as the frame
 * that caused it, so within one 20 ms frame) and reports what was played. Upstream it sends
 * bot-started/stopped-speaking edges, bot-interrupted, and an utterance's after-playout request
 * (hangup, transfer) one frame after its last frame was pulled, so the last packet leaves first.
 */
export class PlayoutProcessor extends FrameProcessor {
  readonly playout = new UtterancePlayout();
  private afterTimer: TimerHandle | null = null;
  private closed = false;
  /** The PlayoutSource for the call layer; clear() reports the interruption like a barge-in. */
  readonly source: PlayoutSource;

  constructor() {
    super('playout');
    const playout = this.playout;
    this.source = {
      pull: (out) => playout.pull(out),
      clear: () => this.interrupt('cleared'),
      get queuedFrames(): number {
        return playout.queuedFrames;
      },
    };
    this.playout.setHooks({
      onUtteranceStart: (id, allowInterruptions, first) => {
        this.ctx.timeline.firstAudioOut();
        if (first) this.pushFrame({ kind: 'bot-started-speaking', tier: 'system', utteranceId: id, allowInterruptions }, 'upstream');
      },
      onUtteranceDone: (played, after, last) => {
        this.ctx.emit({ type: 'utterance-played', played });
        if (last) this.pushFrame({ kind: 'bot-stopped-speaking', tier: 'system', utteranceId: played.utteranceId }, 'upstream');
        if (after !== null && !this.closed) this.scheduleAfter(after);
      },
    });
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    if (direction === 'downstream') {
      switch (frame.kind) {
        case 'tts-started':
          this.playout.begin(frame.utteranceId, frame.text, frame.allowInterruptions, frame.after);
          return;
        case 'tts-audio':
          if (this.playout.has(frame.utteranceId)) this.ctx.timeline.mark('audio-queued');
          this.playout.append(frame.utteranceId, frame.audio, frame.sampleRate);
          return;
        case 'tts-stopped':
          this.playout.end(frame.utteranceId);
          return;
        case 'interruption':
          this.interrupt(frame.reason);
          return;
        case 'end':
          this.closed = true;
          this.afterTimer?.cancel();
          this.afterTimer = null;
          return;
        default:
          break;
      }
    }
    this.pushFrame(frame, direction);
  }

  /** A pending after-playout request survives: its utterance was already fully played. */
  private interrupt(reason: string): number {
    const r = this.playout.interrupt();
    if (r.droppedUtterances === 0 && !r.wasSpeaking) return 0;
    // Operators (and the end-to-end barge-in test) need when and how much was cut, on the clock.
    this.ctx.logger.info(
      { reason, atMs: this.ctx.clock.now(), playedMs: r.played?.playedMs, totalMs: r.played?.totalMs, droppedFrames: r.droppedFrames },
      'bot interrupted',
    );
    this.ctx.emit({ type: 'interruption', reason, played: r.played, droppedUtterances: r.droppedUtterances, droppedFrames: r.droppedFrames });
    this.pushFrame({ kind: 'bot-interrupted', tier: 'system', reason, played: r.played, droppedUtterances: r.droppedUtterances, droppedFrames: r.droppedFrames }, 'upstream');
    if (r.wasSpeaking) this.pushFrame({ kind: 'bot-stopped-speaking', tier: 'system', utteranceId: r.played?.utteranceId ?? '' }, 'upstream');
    return r.droppedFrames;
  }

  private scheduleAfter(after: AfterPlayout): void {
    this.afterTimer?.cancel();
    this.afterTimer = this.ctx.clock.setTimeout(() => {
      this.afterTimer = null;
      if (this.closed) return;
      if ('hangup' in after) this.pushFrame({ kind: 'hangup-request', tier: 'system', reason: after.hangup }, 'upstream');
      else this.pushFrame({ kind: 'transfer-request', tier: 'system', target: after.transfer }, 'upstream');
    }, PLAYOUT_FRAME_MS);
  }

  override cleanup(): void {
    super.cleanup();
    this.closed = true;
    this.afterTimer?.cancel();
    this.afterTimer = null;
  }
}
