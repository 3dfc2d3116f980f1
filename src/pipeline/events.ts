import type { PlayedPortion } from './frames.js';

/** One stage of a turn, in clock ms since the caller stopped speaking. */
export interface TurnStage {
  readonly stage: string;
  readonly sinceStopMs: number;
}

export interface TurnMetrics {
  readonly turnId: number;
  /** Estimated clock time the caller really stopped (VAD decision minus its stop hangover). */
  readonly callerStoppedAtMs: number;
  /** Stages in the order they happened; the last one is `first-audio-out`. */
  readonly stages: readonly TurnStage[];
  /** Caller stopped → first bot audio frame handed to the call layer. */
  readonly totalMs: number;
}

/**
 * What a bot reports to the call layer (and from there to logs, metrics and webhooks).
 * Caller content (transcripts, digits) must be logged under `pii` only.
 */
export type BotEvent =
  | { readonly type: 'user-started-speaking'; readonly mediaMs: number }
  | { readonly type: 'user-stopped-speaking'; readonly mediaMs: number; readonly speechMs: number }
  | { readonly type: 'transcript'; readonly role: 'user' | 'bot'; readonly text: string; readonly final: boolean }
  | { readonly type: 'dtmf'; readonly digit: string }
  | { readonly type: 'dtmf-collected'; readonly digits: string; readonly reason: string }
  | { readonly type: 'turn-metrics'; readonly metrics: TurnMetrics }
  | {
      readonly type: 'interruption';
      readonly reason: string;
      readonly played: PlayedPortion | null;
      readonly droppedUtterances: number;
      readonly droppedFrames: number;
    }
  | { readonly type: 'utterance-played'; readonly played: PlayedPortion }
  | { readonly type: 'silence-timeout'; readonly count: number }
  | { readonly type: 'hangup-requested'; readonly reason: string }
  | { readonly type: 'transfer-requested'; readonly target: string }
  | { readonly type: 'error'; readonly processor: string; readonly message: string };

export type BotEventType = BotEvent['type'];
