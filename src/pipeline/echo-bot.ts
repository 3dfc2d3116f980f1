import type { Bot, BotContext } from './bot.js';
import { BotEventHub } from './bot.js';
import type { BotEvent } from './events.js';
import { PLAYOUT_FRAME_SAMPLES, type PlayoutSource } from './playout.js';

/** Frames the loopback holds at most; older ones are dropped (a stalled reader must not grow it). */
const SLOTS = 8;

/**
 * The media loopback used by load tests: every caller frame comes back bit-exact in the same
 * tick. No VAD, no TTS. Frames are copied into preallocated slots, so nothing is allocated per
 * frame. The media session delivers the received frame, then pulls the one to send, in one 20 ms
 * tick: the frame decoded this tick is the frame sent this tick, so the echo adds only the jitter
 * buffer's delay (issue goal: RTP in → out ≤ 25 ms p50 on a clean stream). A frame not pulled in
 * its own tick (a pull skipped, e.g. while a DTMF event plays) waits for the next pull.
 */
export class EchoBot implements Bot, PlayoutSource {
  private readonly slots: Int16Array[] = [];
  private readonly arrivedAtPull = new Float64Array(SLOTS);
  private head = 0;
  private count = 0;
  private pulls = 0;
  private started = false;
  private closed = false;
  private readonly events: BotEventHub;

  constructor(private readonly context: BotContext) {
    for (let i = 0; i < SLOTS; i++) this.slots.push(new Int16Array(PLAYOUT_FRAME_SAMPLES));
    this.events = new BotEventHub(context.logger);
  }

  get playout(): PlayoutSource {
    return this;
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  start(): void {
    if (!this.closed) this.started = true;
  }

  onAudio(frame: Int16Array): void {
    if (!this.started || this.closed) return;
    if (this.count === SLOTS) {
      this.head = (this.head + 1) % SLOTS;
      this.count--;
    }
    const i = (this.head + this.count) % SLOTS;
    const slot = this.slots[i]!;
    if (frame.length === slot.length) slot.set(frame);
    else {
      slot.fill(0);
      slot.set(frame.length > slot.length ? frame.subarray(0, slot.length) : frame);
    }
    this.arrivedAtPull[i] = this.pulls;
    this.count++;
  }

  onDtmf(digit: string): void {
    this.context.logger.debug({ pii: { digit } }, 'dtmf (echo bot ignores it)');
    this.events.emit({ type: 'dtmf', digit });
  }

  pull(out: Int16Array): boolean {
    this.pulls++;
    if (this.count === 0) return false;
    if (this.arrivedAtPull[this.head]! > this.pulls - 1) return false;
    out.set(this.slots[this.head]!);
    this.head = (this.head + 1) % SLOTS;
    this.count--;
    return true;
  }

  clear(): number {
    const n = this.count;
    this.count = 0;
    return n;
  }

  get queuedFrames(): number {
    return this.count;
  }

  onEvent(handler: (event: BotEvent) => void): void {
    this.events.add(handler);
  }

  close(): Promise<void> {
    this.closed = true;
    this.count = 0;
    return Promise.resolve();
  }
}
