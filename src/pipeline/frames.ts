/**
 * Frames: what flows between pipeline processors. Modelled on pipecat's frames.py tiers:
 *
 * - **system** frames (start, end, interruption, DTMF, speaking edges, hangup/transfer requests,
 *   errors) are handled the moment they arrive, overtake any data/control frames a busy processor
 *   still has queued, and survive an interruption;
 * - **data** frames (caller audio, TTS audio, text, transcripts, speak requests) and **control**
 *   frames (TTS start/stop, end of turn) keep their order and are dropped by an interruption.
 *
 * Directions: `downstream` runs in pipeline order, from the caller's audio input towards the
 * playout at the end (caller → bot → playout); `upstream` runs back towards the input and leaves the
 * pipeline at the call layer (hangup/transfer requests, bot speaking edges, errors).
 *
 * Audio is 16-bit PCM (Int16Array) with its sample rate. Caller audio arrives as 20 ms frames at
 * 8 kHz in a REUSED buffer carried by one reused `InputAudioFrame` per pipeline: it is valid only
 * while it is being processed; keep a copy (`audio.slice()`) if you need it later.
 */

export type FrameTier = 'system' | 'control' | 'data';
export type FrameDirection = 'downstream' | 'upstream';

/** What happens once an utterance has been played to its last frame. */
export type AfterPlayout = { readonly hangup: string } | { readonly transfer: string };

// ---- system frames -------------------------------------------------------------------------

export interface StartFrame {
  readonly kind: 'start';
  readonly tier: 'system';
}

export interface EndFrame {
  readonly kind: 'end';
  readonly tier: 'system';
  readonly reason: string;
}

/** Stop what the bot is doing: processors drop queued data/control frames, playout is cleared. */
export interface InterruptionFrame {
  readonly kind: 'interruption';
  readonly tier: 'system';
  readonly reason: string;
}

export interface UserStartedSpeakingFrame {
  readonly kind: 'user-started-speaking';
  readonly tier: 'system';
  /** Media time (ms of caller audio since start) of the first voiced frame of this speech. */
  readonly speechStartMs: number;
  /** Media time when the onset was confirmed (after the start hangover). */
  readonly mediaMs: number;
  /** Clock time of the decision. */
  readonly atMs: number;
}

export interface UserStoppedSpeakingFrame {
  readonly kind: 'user-stopped-speaking';
  readonly tier: 'system';
  /** Media time just after the last voiced frame of this speech. */
  readonly speechEndMs: number;
  /** Media time when the stop was confirmed (after the stop hangover). */
  readonly mediaMs: number;
  /** Speech duration, first voiced frame to last voiced frame. */
  readonly speechMs: number;
  /** Clock time of the decision. */
  readonly atMs: number;
  /** How long the VAD waited in silence before deciding (clock time of the real stop ≈ atMs - this). */
  readonly hangoverMs: number;
}

export interface BotStartedSpeakingFrame {
  readonly kind: 'bot-started-speaking';
  readonly tier: 'system';
  readonly utteranceId: string;
  readonly allowInterruptions: boolean;
}

export interface BotStoppedSpeakingFrame {
  readonly kind: 'bot-stopped-speaking';
  readonly tier: 'system';
  readonly utteranceId: string;
}

/** How much of one bot utterance the caller actually heard. */
export interface PlayedPortion {
  readonly utteranceId: string;
  readonly text: string;
  /** Audio handed to the call layer (frames pulled × 20 ms). */
  readonly playedMs: number;
  /** Length of the utterance's audio known so far (all of it once synthesis finished). */
  readonly totalMs: number;
  /** The leading part of `text` in proportion to playedMs / totalMs, cut at a word boundary. */
  readonly playedText: string;
}

/** Sent upstream by the playout when an interruption cut the bot off. */
export interface BotInterruptedFrame {
  readonly kind: 'bot-interrupted';
  readonly tier: 'system';
  readonly reason: string;
  /** The utterance that was playing when cut, or null if none had started. */
  readonly played: PlayedPortion | null;
  readonly droppedUtterances: number;
  readonly droppedFrames: number;
}

export interface DtmfFrame {
  readonly kind: 'dtmf';
  readonly tier: 'system';
  /** 0-9, *, #, A-D */
  readonly digit: string;
  readonly atMs: number;
}

export interface DtmfCollectedFrame {
  readonly kind: 'dtmf-collected';
  readonly tier: 'system';
  readonly digits: string;
  readonly reason: 'terminator' | 'timeout' | 'max-digits';
}

export interface HangupRequestFrame {
  readonly kind: 'hangup-request';
  readonly tier: 'system';
  readonly reason: string;
}

export interface TransferRequestFrame {
  readonly kind: 'transfer-request';
  readonly tier: 'system';
  readonly target: string;
}

/** A processor failed on a frame; the pipeline goes on. */
export interface ErrorFrame {
  readonly kind: 'error';
  readonly tier: 'system';
  readonly processor: string;
  readonly message: string;
}

// ---- data frames ---------------------------------------------------------------------------

export interface InputAudioFrame {
  readonly kind: 'input-audio';
  readonly tier: 'data';
  /** Reused buffer: valid only while this frame is being processed. */
  audio: Int16Array;
  sampleRate: number;
  /** Media time of the frame's first sample, ms since the pipeline started receiving audio. */
  mediaMs: number;
  /** Set by the VAD: whether this frame is voiced; null before the VAD ran. */
  voiced: boolean | null;
}

/** Ask the TTS to say `text` (pipecat's TTSSpeakFrame). */
export interface SpeakFrame {
  readonly kind: 'speak';
  readonly tier: 'data';
  readonly text: string;
  /** false: barge-in may not cut this utterance (a goodbye, a legal notice). */
  readonly allowInterruptions: boolean;
  readonly after: AfterPlayout | null;
}

export interface TtsAudioFrame {
  readonly kind: 'tts-audio';
  readonly tier: 'data';
  readonly utteranceId: string;
  /** Not copied by the playout: never modify it after pushing (cached prompts are shared). */
  readonly audio: Int16Array;
  readonly sampleRate: number;
}

export interface TextFrame {
  readonly kind: 'text';
  readonly tier: 'data';
  readonly text: string;
}

export interface TranscriptionFrame {
  readonly kind: 'transcription';
  readonly tier: 'data';
  readonly text: string;
  readonly final: boolean;
}

// ---- control frames ------------------------------------------------------------------------

export interface TtsStartedFrame {
  readonly kind: 'tts-started';
  readonly tier: 'control';
  readonly utteranceId: string;
  readonly text: string;
  readonly allowInterruptions: boolean;
  readonly after: AfterPlayout | null;
}

export interface TtsStoppedFrame {
  readonly kind: 'tts-stopped';
  readonly tier: 'control';
  readonly utteranceId: string;
}

/** The caller finished a turn (VAD stop + end-of-turn delay). */
export interface EndOfTurnFrame {
  readonly kind: 'end-of-turn';
  readonly tier: 'control';
  readonly turnId: number;
  readonly speechMs: number;
  /** The caller's audio for the turn (8 kHz, with a short pre-roll) when capture is on, else null. */
  readonly audio: Int16Array | null;
}

export type SystemFrame =
  | StartFrame
  | EndFrame
  | InterruptionFrame
  | UserStartedSpeakingFrame
  | UserStoppedSpeakingFrame
  | BotStartedSpeakingFrame
  | BotStoppedSpeakingFrame
  | BotInterruptedFrame
  | DtmfFrame
  | DtmfCollectedFrame
  | HangupRequestFrame
  | TransferRequestFrame
  | ErrorFrame;

export type DataFrame = InputAudioFrame | SpeakFrame | TtsAudioFrame | TextFrame | TranscriptionFrame;
export type ControlFrame = TtsStartedFrame | TtsStoppedFrame | EndOfTurnFrame;
export type Frame = SystemFrame | DataFrame | ControlFrame;
export type FrameKind = Frame['kind'];

// ---- constructors (the tier is fixed by the kind) -----------------------------------------

export const frames = {
  start: (): StartFrame => ({ kind: 'start', tier: 'system' }),
  end: (reason = 'normal'): EndFrame => ({ kind: 'end', tier: 'system', reason }),
  interruption: (reason: string): InterruptionFrame => ({ kind: 'interruption', tier: 'system', reason }),
  dtmf: (digit: string, atMs = 0): DtmfFrame => ({ kind: 'dtmf', tier: 'system', digit, atMs }),
  hangup: (reason: string): HangupRequestFrame => ({ kind: 'hangup-request', tier: 'system', reason }),
  transfer: (target: string): TransferRequestFrame => ({ kind: 'transfer-request', tier: 'system', target }),
  error: (processor: string, message: string): ErrorFrame => ({ kind: 'error', tier: 'system', processor, message }),
  inputAudio: (audio: Int16Array, sampleRate = 8000, mediaMs = 0): InputAudioFrame => ({
    kind: 'input-audio',
    tier: 'data',
    audio,
    sampleRate,
    mediaMs,
    voiced: null,
  }),
  speak: (text: string, options: { allowInterruptions?: boolean; after?: AfterPlayout } = {}): SpeakFrame => ({
    kind: 'speak',
    tier: 'data',
    text,
    allowInterruptions: options.allowInterruptions ?? true,
    after: options.after ?? null,
  }),
  text: (text: string): TextFrame => ({ kind: 'text', tier: 'data', text }),
  transcription: (text: string, final = true): TranscriptionFrame => ({ kind: 'transcription', tier: 'data', text, final }),
  ttsStarted: (utteranceId: string, text: string, options: { allowInterruptions?: boolean; after?: AfterPlayout | null } = {}): TtsStartedFrame => ({
    kind: 'tts-started',
    tier: 'control',
    utteranceId,
    text,
    allowInterruptions: options.allowInterruptions ?? true,
    after: options.after ?? null,
  }),
  ttsAudio: (utteranceId: string, audio: Int16Array, sampleRate = 8000): TtsAudioFrame => ({
    kind: 'tts-audio',
    tier: 'data',
    utteranceId,
    audio,
    sampleRate,
  }),
  ttsStopped: (utteranceId: string): TtsStoppedFrame => ({ kind: 'tts-stopped', tier: 'control', utteranceId }),
} as const;

/**
 * A frame safe to keep after the call that delivered it returned: the reused input audio frame is
 * copied, everything else is immutable by convention and returned as is.
 */
export function retainFrame(frame: Frame): Frame {
  if (frame.kind === 'input-audio') {
    return { kind: 'input-audio', tier: 'data', audio: frame.audio.slice(), sampleRate: frame.sampleRate, mediaMs: frame.mediaMs, voiced: frame.voiced };
  }
  return frame;
}
