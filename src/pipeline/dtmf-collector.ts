import type { TimerHandle } from '../shared/index.js';
import { FrameProcessor } from './frame-processor.js';
import type { Frame, FrameDirection } from './frames.js';

export interface DtmfCollectorOptions {
  /** Silence between digits that ends the entry. */
  readonly interDigitTimeoutMs: number;
  /** Digit that ends the entry (not included in the digits); null for none. */
  readonly terminator: string | null;
  /** Entry ends once this many digits were collected. */
  readonly maxDigits: number;
}

export const DEFAULT_DTMF_COLLECTOR_OPTIONS = { interDigitTimeoutMs: 3000, terminator: '#', maxDigits: 32 } as const satisfies DtmfCollectorOptions;

/**
 * Collects DTMF digits into an entry (a PIN, an account number): ends on the terminator, on the
 * inter-digit timeout or at maxDigits, and sends a dtmf-collected system frame downstream. Each
 * digit also passes on unchanged. A lone terminator with nothing collected is passed on only.
 */
export class DtmfCollector extends FrameProcessor {
  readonly options: DtmfCollectorOptions;
  private digits = '';
  private timer: TimerHandle | null = null;

  constructor(options: Partial<DtmfCollectorOptions> = {}) {
    super('dtmf-collector');
    this.options = { ...DEFAULT_DTMF_COLLECTOR_OPTIONS, ...options };
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    this.pushFrame(frame, direction);
    if (frame.kind !== 'dtmf' || direction !== 'downstream') return;
    this.timer?.cancel();
    this.timer = null;
    if (frame.digit === this.options.terminator) {
      if (this.digits.length > 0) this.finish('terminator');
      return;
    }
    this.digits += frame.digit;
    if (this.digits.length >= this.options.maxDigits) {
      this.finish('max-digits');
      return;
    }
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = null;
      this.finish('timeout');
    }, this.options.interDigitTimeoutMs);
  }

  private finish(reason: 'terminator' | 'timeout' | 'max-digits'): void {
    const digits = this.digits;
    this.digits = '';
    this.ctx.emit({ type: 'dtmf-collected', digits, reason });
    this.pushFrame({ kind: 'dtmf-collected', tier: 'system', digits, reason });
  }

  override cleanup(): void {
    super.cleanup();
    this.timer?.cancel();
    this.timer = null;
  }
}
