import { DTMF_PAYLOAD_LENGTH, dtmfEventToDigit } from './dtmf-event.js';

/**
 * RFC 4733 receiver: turns the stream of telephone-event packets into one report per key press.
 *
 * What arrives for one press (§2.5.1): a first packet (marker bit set — but some senders omit
 * it, and it may be lost), updates every packet interval with a growing duration and the same
 * RTP timestamp (the event's start), then the end packet (E bit) sent three times (§2.5.1.4).
 * Some senders repeat end packets with the same sequence number (SIPp does), some with new
 * ones. An event is identified by its RTP timestamp (§2.5.2.1: "a new event is indicated by a
 * new timestamp"), so the report is made once — at the first end packet, or when a new event
 * starts while the previous one never saw its end, or after `endTimeoutMs` of silence.
 * Events longer than 0xFFFF samples are sent in segments (§2.5.1.3), each with a new timestamp
 * continuing the previous one without the E bit; those are joined into one press.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4733#section-2.5.2
 */
export interface DtmfEvent {
  digit: string;
  /** Duration of the press in ms (from the final duration field, 8 kHz clock by default). */
  durationMs: number;
  /** RTP timestamp at which the event ended (start timestamp + duration). */
  endTimestamp: number;
}

export interface DtmfReceiverStats {
  packets: number;
  events: number;
  malformed: number;
  duplicates: number;
  /** Events reported without an end packet (lost ends, timeout). */
  endsMissing: number;
  /** Events outside 0–16 (not DTMF), ignored. */
  ignored: number;
}

export class DtmfReceiver {
  readonly stats: DtmfReceiverStats = { packets: 0, events: 0, malformed: 0, duplicates: 0, endsMissing: 0, ignored: 0 };
  private readonly clockRate: number;
  private readonly endTimeoutMs: number;
  private readonly onEvent: (event: DtmfEvent) => void;
  private active = false;
  private event = 0;
  /** RTP timestamp of the current segment, and of the whole press's first segment. */
  private segmentTimestamp = 0;
  private startTimestamp = 0;
  /** Samples in completed earlier segments + the current segment's duration. */
  private priorSegments = 0;
  private duration = 0;
  private lastPacketMs = 0;
  /** Timestamp of the last reported event, to drop its repeated end packets. */
  private lastReportedTimestamp = -1;

  constructor(onEvent: (event: DtmfEvent) => void, options: { clockRate?: number; endTimeoutMs?: number } = {}) {
    this.onEvent = onEvent;
    this.clockRate = options.clockRate ?? 8000;
    this.endTimeoutMs = options.endTimeoutMs ?? 1000;
  }

  /** One telephone-event RTP packet: header fields plus the payload bytes. */
  push(timestamp: number, marker: boolean, payload: Uint8Array, offset: number, length: number, nowMs: number): void {
    this.stats.packets++;
    void marker; // The timestamp, not the marker, identifies a new event (§2.5.2.1).
    if (length < DTMF_PAYLOAD_LENGTH) {
      this.stats.malformed++;
      return;
    }
    const event = payload[offset]!;
    const end = (payload[offset + 1]! & 0x80) !== 0;
    const duration = (payload[offset + 2]! << 8) | payload[offset + 3]!;
    if (event > 16) {
      this.stats.ignored++;
      return;
    }
    if (timestamp === this.lastReportedTimestamp && !this.active) {
      // Repeated end packet (§2.5.1.4) or a late update of an event already reported.
      this.stats.duplicates++;
      return;
    }
    if (this.active && timestamp !== this.segmentTimestamp) {
      // §2.5.1.3 long-event segment: same event, new timestamp exactly where the last ended.
      const continues = event === this.event && ((this.segmentTimestamp + this.duration) >>> 0) === timestamp;
      if (continues) {
        this.priorSegments += this.duration;
        this.segmentTimestamp = timestamp;
        this.duration = 0;
      } else {
        // A new event while the previous one never ended (its end packets were lost).
        this.stats.endsMissing++;
        this.report();
      }
    }
    if (!this.active) {
      this.active = true;
      this.event = event;
      this.segmentTimestamp = timestamp;
      this.startTimestamp = timestamp;
      this.priorSegments = 0;
      this.duration = 0;
    }
    if (timestamp === this.segmentTimestamp) {
      if (duration > this.duration) this.duration = duration;
      else if (!end) this.stats.duplicates++;
    }
    this.lastPacketMs = nowMs;
    if (end) this.report();
  }

  /** Reports an event whose end packets never came, `endTimeoutMs` after its last packet. */
  poll(nowMs: number): void {
    if (this.active && nowMs - this.lastPacketMs >= this.endTimeoutMs) {
      this.stats.endsMissing++;
      this.report();
    }
  }

  private report(): void {
    this.active = false;
    this.lastReportedTimestamp = this.segmentTimestamp;
    const digit = dtmfEventToDigit(this.event);
    const total = this.priorSegments + this.duration;
    this.stats.events++;
    if (digit === undefined) return;
    this.onEvent({
      digit,
      durationMs: (total * 1000) / this.clockRate,
      endTimestamp: (this.startTimestamp + total) >>> 0,
    });
  }
}
