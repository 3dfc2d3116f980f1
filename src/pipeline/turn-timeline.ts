import type { Clock } from '../shared/index.js';
import type { TurnMetrics, TurnStage } from './events.js';

/**
 * Per-turn latency: from the moment the caller stopped speaking through each stage (end of turn,
 * speak request, TTS audio ready, …) to the first bot audio frame handed to the call layer.
 * Processors call `mark(stage)`; the playout calls `firstAudioOut()`, which closes the turn and
 * reports its metrics. Only the first mark of a stage per turn counts. A turn the caller abandons
 * (starts speaking again before the bot answered) is dropped without a report.
 */
export class TurnTimeline {
  private turnId = 0;
  private open = false;
  private stoppedAt = 0;
  private stages: TurnStage[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly report: (metrics: TurnMetrics) => void,
  ) {}

  /** The caller stopped speaking; `hangoverMs` is how long the VAD waited before saying so. */
  begin(turnId: number, hangoverMs: number): void {
    this.turnId = turnId;
    this.open = true;
    this.stoppedAt = this.clock.now() - hangoverMs;
    this.stages = [];
    this.mark('vad-stop');
  }

  /** The caller started speaking again before the bot answered. */
  abandon(): void {
    this.open = false;
  }

  get active(): boolean {
    return this.open;
  }

  mark(stage: string): void {
    if (!this.open) return;
    for (const s of this.stages) if (s.stage === stage) return;
    this.stages.push({ stage, sinceStopMs: this.clock.now() - this.stoppedAt });
  }

  firstAudioOut(): void {
    if (!this.open) return;
    this.mark('first-audio-out');
    this.open = false;
    const last = this.stages[this.stages.length - 1];
    this.report({ turnId: this.turnId, callerStoppedAtMs: this.stoppedAt, stages: this.stages, totalMs: last?.sinceStopMs ?? 0 });
  }
}
