import type { DtmfEvent, FrameInfo, PlayoutPull } from '../rtp/index.js';
import type { Logger } from '../shared/index.js';

/**
 * What a bridge needs of each leg's media. MediaSession satisfies it: per tick it hands over the
 * frame it decoded (onFrame) and pulls the frame it will encode and send (the playout source), so
 * relaying PCM between two sessions passes G.711 through losslessly when both legs use the same
 * law (μ-law → linear → μ-law is exact) and transcodes μ-law ↔ A-law when they differ.
 */
export interface BridgeMedia {
  onFrame(handler: (pcm: Int16Array, info: FrameInfo) => void): void;
  onDtmf(handler: (event: DtmfEvent) => void): void;
  setPlayoutSource(source: PlayoutPull | null): void;
  clearPlayout(): number;
  /** RFC 4733: queues a telephone-event on this leg's RTP stream. */
  sendDtmf(digit: string, durationMs?: number): void;
}

/** One side of a bridge: its media, and a way to end it when the other side ends. */
export interface BridgeLeg {
  readonly id: string;
  readonly media: BridgeMedia;
  /** Resolves when the leg has ended (whoever ended it). */
  readonly ended: Promise<unknown>;
  /** Ends the leg from our side (BYE); resolves once it has released everything. */
  hangup(): Promise<void>;
}

export type BridgeState = 'open' | 'closing' | 'closed';
export type BridgeEndReason = 'a-ended' | 'b-ended' | 'closed';

export interface BridgeStats {
  /** Frames relayed from leg A's receive path to leg B's send path (and back). */
  framesAtoB: number;
  framesBtoA: number;
  /** Frames dropped because the other side had not pulled the previous ones (tick skew). */
  overrunsAtoB: number;
  overrunsBtoA: number;
  dtmfAtoB: number;
  dtmfBtoA: number;
}

/** Frames a direction may hold between one leg's receive tick and the other's send tick. */
const RELAY_FRAMES = 3;
const FRAME_SAMPLES = 160;

/**
 * One direction of the relay: a fixed ring of 20 ms PCM frames. The receiving leg's onFrame
 * writes, the sending leg's playout pull reads — both on the pacer's tick, whichever leg the
 * pacer visits first, so at most one frame of extra delay. Allocates nothing per frame.
 */
class RelayDirection implements PlayoutPull {
  private readonly ring = new Int16Array(RELAY_FRAMES * FRAME_SAMPLES);
  private head = 0;
  private count = 0;
  relayed = 0;
  overruns = 0;

  /** The receiving leg's decoded frame. A silent tick (nothing received) sends nothing. */
  readonly push = (pcm: Int16Array, info: FrameInfo): void => {
    if (info.silent || pcm.length !== FRAME_SAMPLES) return;
    if (this.count === RELAY_FRAMES) {
      // The sender fell behind: drop the oldest so the delay stays bounded.
      this.head = (this.head + 1) % RELAY_FRAMES;
      this.count--;
      this.overruns++;
    }
    this.ring.set(pcm, ((this.head + this.count) % RELAY_FRAMES) * FRAME_SAMPLES);
    this.count++;
  };

  pull(out: Int16Array): boolean {
    if (this.count === 0) return false;
    const start = this.head * FRAME_SAMPLES;
    out.set(this.ring.subarray(start, start + FRAME_SAMPLES));
    this.head = (this.head + 1) % RELAY_FRAMES;
    this.count--;
    this.relayed++;
    return true;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
  }
}

const ignoreFrame = (): void => undefined;
const ignoreDtmf = (): void => undefined;

/**
 * A media bridge between two answered calls (the bridged fallback of an attended transfer, or
 * transfer mode `bridge`): each tick leg A's received frame is sent on leg B and vice versa, and
 * RFC 4733 telephone-events received on one leg are regenerated on the other. The bridge owns the
 * wiring of both legs' media; when either leg ends, the bridge closes and hangs up the other.
 * `close()` hangs up both and is idempotent; `closed` resolves once both legs have ended.
 */
export class Bridge {
  readonly closed: Promise<BridgeEndReason>;
  private current: BridgeState = 'open';
  private readonly aToB = new RelayDirection();
  private readonly bToA = new RelayDirection();
  private dtmfAtoB = 0;
  private dtmfBtoA = 0;
  private endReason: BridgeEndReason | undefined;
  private resolveClosed!: (reason: BridgeEndReason) => void;

  constructor(
    readonly a: BridgeLeg,
    readonly b: BridgeLeg,
    private readonly log: Logger,
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    a.media.clearPlayout();
    b.media.clearPlayout();
    a.media.onFrame(this.aToB.push);
    b.media.onFrame(this.bToA.push);
    b.media.setPlayoutSource(this.aToB);
    a.media.setPlayoutSource(this.bToA);
    a.media.onDtmf((event) => {
      if (this.current !== 'open') return;
      this.dtmfAtoB++;
      b.media.sendDtmf(event.digit, event.durationMs);
    });
    b.media.onDtmf((event) => {
      if (this.current !== 'open') return;
      this.dtmfBtoA++;
      a.media.sendDtmf(event.digit, event.durationMs);
    });
    void a.ended.then(() => this.end('a-ended'));
    void b.ended.then(() => this.end('b-ended'));
    this.log.info({ a: a.id, b: b.id }, 'bridge open');
  }

  get state(): BridgeState {
    return this.current;
  }

  get stats(): BridgeStats {
    return {
      framesAtoB: this.aToB.relayed,
      framesBtoA: this.bToA.relayed,
      overrunsAtoB: this.aToB.overruns,
      overrunsBtoA: this.bToA.overruns,
      dtmfAtoB: this.dtmfAtoB,
      dtmfBtoA: this.dtmfBtoA,
    };
  }

  /** Ends the bridge and both legs (BYE each one still up). Idempotent. */
  close(): Promise<BridgeEndReason> {
    void this.end('closed');
    return this.closed;
  }

  private async end(reason: BridgeEndReason): Promise<void> {
    if (this.current !== 'open') return;
    this.current = 'closing';
    this.endReason = reason;
    this.unwire(this.a.media);
    this.unwire(this.b.media);
    this.aToB.reset();
    this.bToA.reset();
    this.log.info({ reason, ...this.stats }, 'bridge closing');
    // The leg that ended is already gone; hanging it up again is a no-op in Call.
    const hangups: Promise<void>[] = [];
    if (reason !== 'a-ended') hangups.push(this.a.hangup());
    if (reason !== 'b-ended') hangups.push(this.b.hangup());
    const results = await Promise.allSettled([...hangups, this.a.ended, this.b.ended]);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: r.reason as unknown }, 'bridge leg did not end cleanly');
    this.current = 'closed';
    this.resolveClosed(this.endReason);
  }

  private unwire(media: BridgeMedia): void {
    media.setPlayoutSource(null);
    media.onFrame(ignoreFrame);
    media.onDtmf(ignoreDtmf);
  }
}
