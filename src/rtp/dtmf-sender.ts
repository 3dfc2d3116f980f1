import { DTMF_PAYLOAD_LENGTH, dtmfDigitToEvent } from './dtmf-event.js';

/**
 * RFC 4733 sender, driven by the pacer one packet per tick (§2.5.1):
 *  - the first packet of an event has the marker bit set (§2.5.1.1) and the event's RTP
 *    timestamp: the audio timestamp at the moment the event starts, so the audio clock never
 *    jumps; the audio stream is suppressed while the event plays and resumes continuous;
 *  - every following packet repeats that timestamp with a duration that grows by one packet
 *    interval (§2.5.1.2 "the duration ... cumulative from the start of the event");
 *  - the final packet has the E bit and is sent three times with the same timestamp and
 *    duration (§2.5.1.4), each with its own sequence number (RFC 3550 §5.1).
 * Digits queue up; a gap of `gapTicks` packet intervals of audio separates two events.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4733#section-2.5.1
 */
export interface DtmfSenderOptions {
  /** Samples per packet interval (20 ms at 8 kHz → 160). */
  samplesPerTick?: number;
  clockRate?: number;
  /** §2.3.4 volume: power level in −dBm0 (10 = −10 dBm0). */
  volume?: number;
  /** Packet intervals of audio between two queued events. */
  gapTicks?: number;
  /** Copies of the final packet (§2.5.1.4: three). */
  endRepeats?: number;
}

interface PendingDigit {
  event: number;
  durationSamples: number;
}

export class DtmfSender {
  /** Fields of the packet `next()` just wrote. */
  marker = false;
  timestamp = 0;
  eventsSent = 0;
  private readonly samplesPerTick: number;
  private readonly clockRate: number;
  private readonly volume: number;
  private readonly gapTicks: number;
  private readonly endRepeats: number;
  private readonly queue: PendingDigit[] = [];
  private current: PendingDigit | null = null;
  private ticks = 0;
  private endsSent = 0;
  private gapLeft = 0;

  constructor(options: DtmfSenderOptions = {}) {
    this.samplesPerTick = options.samplesPerTick ?? 160;
    this.clockRate = options.clockRate ?? 8000;
    this.volume = options.volume ?? 10;
    this.gapTicks = options.gapTicks ?? 3;
    this.endRepeats = options.endRepeats ?? 3;
  }

  /** Queues one digit (0-9 * # A-D, 'flash'). Throws RangeError for anything else. */
  enqueue(digit: string, durationMs = 100): void {
    const event = dtmfDigitToEvent(digit);
    if (!(durationMs > 0) || durationMs > 8000) throw new RangeError(`DTMF duration must be in (0, 8000] ms, got ${durationMs}`);
    // Whole packet intervals, at least two so the receiver sees a start and an end.
    const ticks = Math.max(2, Math.round((durationMs * this.clockRate) / 1000 / this.samplesPerTick));
    this.queue.push({ event, durationSamples: ticks * this.samplesPerTick });
  }

  /** Whether this tick belongs to DTMF (audio must be suppressed). */
  get busy(): boolean {
    return this.current !== null || (this.queue.length > 0 && this.gapLeft === 0);
  }

  get pending(): number {
    return this.queue.length + (this.current === null ? 0 : 1);
  }

  /** Drops everything queued and the event in progress (close). */
  clear(): void {
    this.queue.length = 0;
    this.current = null;
  }

  /**
   * Called once per tick. When `busy`, writes the 4-byte event payload for this tick at
   * `out[offset]`, sets `marker` and `timestamp`, and returns 4; otherwise returns 0 (audio
   * tick). `audioTimestamp` is the audio stream's timestamp for this tick.
   */
  next(out: Uint8Array, offset: number, audioTimestamp: number): number {
    if (this.current === null) {
      if (this.gapLeft > 0) {
        this.gapLeft--;
        return 0;
      }
      const digit = this.queue.shift();
      if (digit === undefined) return 0;
      this.current = digit;
      this.ticks = 0;
      this.endsSent = 0;
      this.timestamp = audioTimestamp >>> 0;
    }
    const cur = this.current;
    this.ticks++;
    this.marker = this.ticks === 1;
    const elapsed = this.ticks * this.samplesPerTick;
    const end = elapsed >= cur.durationSamples;
    const duration = Math.min(elapsed, cur.durationSamples);
    out[offset] = cur.event;
    out[offset + 1] = (end ? 0x80 : 0) | (this.volume & 0x3f);
    out[offset + 2] = (duration >>> 8) & 0xff;
    out[offset + 3] = duration & 0xff;
    if (end) {
      this.endsSent++;
      if (this.endsSent >= this.endRepeats) {
        this.current = null;
        this.eventsSent++;
        this.gapLeft = this.queue.length > 0 ? this.gapTicks : 0;
      }
    }
    return DTMF_PAYLOAD_LENGTH;
  }
}
