import type { RemoteInfo, Socket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock, Logger, TimerHandle } from '../shared/index.js';
import { JitterBuffer, type JitterBufferStats } from './jitter-buffer.js';
import { DtmfReceiver, type DtmfEvent } from './dtmf-receiver.js';
import { DtmfSender } from './dtmf-sender.js';
import type { Pacer, PacerRegistration, PacedTask } from './pacer.js';
import type { PortLease, PortPool } from './port-pool.js';
import { RtcpSession } from './rtcp-session.js';
import { RTP_HEADER_LENGTH, RtpPacketView, isRtcpMuxed, type RtpMalformedReason } from './rtp-packet.js';
import { RtpReceiveStats } from './rtp-stats.js';
import { RtpWriter } from './rtp-writer.js';
import { SymmetricLatch } from './symmetric-latch.js';

/**
 * One call's media: an RTP/RTCP port pair, the receive path (socket → RtpPacketView → source
 * and SSRC/PT checks → DTMF or jitter buffer; per tick jitter buffer → decode → concealment →
 * `onFrame`) and the send path (per tick: queued frame → encode → RTP packet → socket), RTCP
 * reports (RFC 3550 §6), DTMF both ways (RFC 4733), symmetric RTP latching (RFC 4961) and an
 * RTP inactivity timeout. The codec and the concealer are injected (src/codec implements them).
 *
 * The per-packet and per-tick paths allocate nothing of their own: one header view, one
 * payload scratch, a ring of send buffers and one PCM frame are reused. (Node's dgram allocates
 * the received Buffer and a send request per datagram; the benchmark accounts for that.)
 */

/** A G.711 codec as src/codec provides it (structural). */
export interface PayloadCodec {
  readonly name: 'PCMU' | 'PCMA';
  readonly payloadType: number;
  readonly sampleRate: number;
  decode(payload: Uint8Array, out: Int16Array): void;
  encode(pcm: Int16Array, out: Uint8Array): void;
}

/** Packet-loss concealment as src/codec provides it (structural). */
export interface Concealer {
  good(frame: Int16Array): void;
  conceal(out: Int16Array): void;
  reset(): void;
}

/** Where outgoing audio comes from when nothing is queued (the bot's playout). */
export interface PlayoutPull {
  /** Writes one frame into `out`; false when there is nothing to play this tick. */
  pull(out: Int16Array): boolean;
}

export interface MediaSessionOptions {
  pool: PortPool;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
  codec: PayloadCodec;
  concealer: Concealer;
  jitter?: { minDelayMs: number; maxDelayMs: number };
  inactivityTimeoutMs: number;
  rtcpMux?: boolean;
  dtmfPayloadType?: number;
  cname?: string;
  /** Bind address (default 0.0.0.0). */
  localAddress?: string;
  /** Frames the send queue holds (default 100 = 2 s). */
  sendQueueFrames?: number;
  /** Consecutive packets from a new source before we latch to it (default 3). */
  latchThreshold?: number;
  /** RTCP report interval (default 5000 ms, randomised ×0.5–1.5). */
  rtcpIntervalMs?: number;
  /**
   * Keep the stream continuous: send a silence frame on ticks with nothing to play (default
   * false). Carriers and NATs that time out a call with no RTP never see a gap while the bot
   * listens; the marker bit still marks the first packet of each talkspurt of real audio.
   */
  sendSilence?: boolean;
}

export interface MediaRemote {
  address: string;
  port: number;
  rtcpPort?: number;
  rtcpMux?: boolean;
  codec?: PayloadCodec;
  dtmfPayloadType?: number;
  /** We send RTP to the remote (SDP direction sendrecv/sendonly from our side). */
  send: boolean;
  /** We expect RTP from the remote. */
  receive: boolean;
}

export interface FrameInfo {
  /** The frame was synthesised by the concealer (packet lost). */
  concealed: boolean;
  /** Nothing to play (no packet yet / buffer empty): the frame is zeros. */
  silent: boolean;
}

export interface MediaSessionStats {
  packetsSent: number;
  bytesSent: number;
  framesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** RFC 3550 A.3 cumulative lost and last fraction lost (0–1) of the remote's stream. */
  packetsLost: number;
  fractionLost: number;
  /** RFC 3550 A.8 interarrival jitter, ms. */
  jitterMs: number;
  /** Round-trip time from RTCP (§6.4.1), ms; -1 until known. */
  rttMs: number;
  /** The remote's view of our stream (from its reception reports). */
  remoteFractionLost: number;
  remotePacketsLost: number;
  remoteJitterMs: number;
  malformed: number;
  malformedByReason: Record<RtpMalformedReason, number>;
  wrongSource: number;
  unknownPayloadType: number;
  /** Packets that arrived before setRemote() or while not receiving. */
  unexpected: number;
  rtcpSent: number;
  rtcpReceived: number;
  rtcpMalformed: number;
  dtmfReceived: number;
  dtmfSent: number;
  sendQueueFull: number;
  framesFlushed: number;
  sendErrors: number;
  latched: boolean;
  /** The remote sent RTCP BYE (RFC 3550 §6.6). */
  remoteBye: boolean;
  inactive: boolean;
  jitterBuffer: JitterBufferStats;
}

/** Send buffers in rotation: dgram may hold a buffer until the datagram is out. */
const SEND_BUFFERS = 4;
const FRAME_MS = 20;

export class MediaSession implements PacedTask {
  readonly localPort: number;
  readonly localRtcpPort: number;
  readonly ssrc: number;

  private readonly options: MediaSessionOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly lease: PortLease;
  private readonly rtpSocket: Socket;
  private readonly rtcpSocket: Socket | null;
  private codec: PayloadCodec;
  private readonly concealer: Concealer;
  private readonly frameSamples: number;
  private readonly jitter: JitterBuffer;
  private readonly view = new RtpPacketView();
  private readonly receiveStats = new RtpReceiveStats();
  private readonly writer: RtpWriter;
  private readonly latch: SymmetricLatch;
  private readonly rtcp: RtcpSession;
  private readonly dtmfReceiver: DtmfReceiver;
  private readonly dtmfSender = new DtmfSender();
  private registration: PacerRegistration | null = null;

  // Receive-side reusable memory.
  private readonly rxPayload: Uint8Array;
  private readonly rxPcm: Int16Array;
  private readonly frameInfo: FrameInfo = { concealed: false, silent: false };

  // Send-side reusable memory.
  private readonly txBuffers: Buffer[] = [];
  private readonly txPayloads: Uint8Array[] = [];
  private txIndex = 0;
  private readonly ring: Int16Array;
  private readonly ringFrames: number;
  private ringHead = 0;
  private ringCount = 0;
  private readonly txPcm: Int16Array;
  private enqueuedTotal = 0;
  private consumedTotal = 0;
  private marks: { target: number; callback: (ts: number) => void }[] = [];
  private nextMarker = true;
  private timestampBase: number;
  private currentTimestamp = 0;
  private sentThisInterval = false;
  private sentPreviousInterval = false;
  private readonly rtcpBuffer = Buffer.alloc(1500);

  private remote: MediaRemote | null = null;
  private dtmfPayloadType: number;
  private rtcpMux: boolean;
  private rtcpRemotePort = 0;
  private rtcpTimer: TimerHandle | null = null;
  private lastRtpMs = 0;
  private inactivityArmed = false;
  private inactiveFired = false;
  private closing: Promise<void> | null = null;

  private playoutSource: PlayoutPull | null = null;
  private frameHandler: ((pcm: Int16Array, info: FrameInfo) => void) | null = null;
  private dtmfHandler: ((event: DtmfEvent) => void) | null = null;
  private inactiveHandler: (() => void) | null = null;

  private readonly counters = {
    packetsSent: 0,
    bytesSent: 0,
    framesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    malformed: 0,
    wrongSource: 0,
    unknownPayloadType: 0,
    unexpected: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    dtmfReceived: 0,
    dtmfSent: 0,
    sendQueueFull: 0,
    framesFlushed: 0,
    sendErrors: 0,
  };
  private readonly malformedByReason: Record<RtpMalformedReason, number> = {
    'too-short': 0,
    'bad-version': 0,
    'csrc-overrun': 0,
    'extension-overrun': 0,
    'bad-padding': 0,
  };

  /** Allocates a port pair (throws TrunklineError CAPACITY_NO_PORTS when exhausted). */
  static async open(options: MediaSessionOptions): Promise<MediaSession> {
    const lease = await options.pool.allocate({
      rtcpMux: options.rtcpMux === true,
      ...(options.localAddress === undefined ? {} : { address: options.localAddress }),
    });
    return new MediaSession(options, lease);
  }

  private constructor(options: MediaSessionOptions, lease: PortLease) {
    this.options = options;
    this.clock = options.clock;
    this.logger = options.logger;
    this.lease = lease;
    this.rtpSocket = lease.rtp;
    this.rtcpSocket = lease.rtcp;
    this.localPort = lease.rtpPort;
    this.localRtcpPort = lease.rtcp === null ? lease.rtpPort : lease.rtcpPort;
    this.codec = options.codec;
    this.concealer = options.concealer;
    this.frameSamples = (options.codec.sampleRate * FRAME_MS) / 1000;
    this.dtmfPayloadType = options.dtmfPayloadType ?? 101;
    this.rtcpMux = options.rtcpMux === true;
    // RFC 3550 §8.1: the SSRC "SHOULD be chosen randomly".
    this.ssrc = randomBytes(4).readUInt32BE(0);
    this.writer = new RtpWriter(this.ssrc, randomInt(0x10000));
    // §5.1: "The initial value of the timestamp SHOULD be random".
    this.timestampBase = randomBytes(4).readUInt32BE(0);
    this.latch = new SymmetricLatch(options.latchThreshold ?? 3);
    this.rtcp = new RtcpSession({
      ssrc: this.ssrc,
      cname: options.cname ?? `trunkline-${this.ssrc.toString(16)}@${lease.address}`,
      clock: this.clock,
      ...(options.rtcpIntervalMs === undefined ? {} : { intervalMs: options.rtcpIntervalMs }),
    });
    this.jitter = new JitterBuffer({
      clockRate: options.codec.sampleRate,
      frameMs: FRAME_MS,
      bytesPerSample: 1,
      ...(options.jitter === undefined ? {} : { minDelayMs: options.jitter.minDelayMs, maxDelayMs: options.jitter.maxDelayMs }),
    });
    this.dtmfReceiver = new DtmfReceiver(this.onDtmfEvent, { clockRate: options.codec.sampleRate });
    this.rxPayload = new Uint8Array(this.frameSamples);
    this.rxPcm = new Int16Array(this.frameSamples);
    this.ringFrames = options.sendQueueFrames ?? 100;
    // The frame being sent is one more slot at the end of the queue's ring, so taking a frame off
    // the queue is a native copyWithin instead of a per-sample loop.
    this.ring = new Int16Array((this.ringFrames + 1) * this.frameSamples);
    this.txPcm = this.ring.subarray(this.ringFrames * this.frameSamples);
    for (let i = 0; i < SEND_BUFFERS; i++) {
      const b = Buffer.alloc(RTP_HEADER_LENGTH + this.frameSamples);
      this.txBuffers.push(b);
      this.txPayloads.push(b.subarray(RTP_HEADER_LENGTH, RTP_HEADER_LENGTH + this.frameSamples));
    }
    this.rtpSocket.on('message', this.onRtpMessage);
    this.rtpSocket.on('error', this.onSocketError);
    if (this.rtcpSocket !== null) {
      this.rtcpSocket.on('message', this.onRtcpMessage);
      this.rtcpSocket.on('error', this.onSocketError);
    }
    this.registration = options.pacer.add(this);
    this.lastRtpMs = this.clock.now();
  }

  // ------------------------------------------------------------------------------------------
  // Public API

  /** Applies the remote description (initial answer, re-INVITE, hold / resume). */
  setRemote(remote: MediaRemote): void {
    if (this.closing !== null) return;
    const first = this.remote === null;
    this.remote = remote;
    this.latch.setExpected(remote.address, remote.port);
    if (remote.codec !== undefined) this.codec = remote.codec;
    if (remote.dtmfPayloadType !== undefined) this.dtmfPayloadType = remote.dtmfPayloadType;
    if (remote.rtcpMux !== undefined) this.rtcpMux = remote.rtcpMux || this.rtcpSocket === null;
    this.rtcpRemotePort = 0;
    // Inactivity is watched only while media should flow both ways: on hold (sendonly /
    // recvonly / inactive) a silent remote is expected.
    const armed = remote.send && remote.receive;
    if (armed && !this.inactivityArmed) {
      this.lastRtpMs = this.clock.now();
      this.inactiveFired = false;
    }
    this.inactivityArmed = armed;
    if (first) this.scheduleRtcp();
  }

  onFrame(handler: (pcm: Int16Array, info: FrameInfo) => void): void {
    this.frameHandler = handler;
  }

  onDtmf(handler: (event: DtmfEvent) => void): void {
    this.dtmfHandler = handler;
  }

  onInactive(handler: () => void): void {
    this.inactiveHandler = handler;
  }

  /** Queues one frame (copied). Returns false when the queue is full. */
  sendFrame(pcm: Int16Array): boolean {
    if (pcm.length !== this.frameSamples) throw new RangeError(`frame must have ${this.frameSamples} samples, got ${pcm.length}`);
    if (this.closing !== null) return false;
    if (this.ringCount === this.ringFrames) {
      this.counters.sendQueueFull++;
      return false;
    }
    const slot = (this.ringHead + this.ringCount) % this.ringFrames;
    this.ring.set(pcm, slot * this.frameSamples);
    this.ringCount++;
    this.enqueuedTotal++;
    return true;
  }

  /**
   * A pull source for outgoing audio, read once per tick when the send queue is empty: the bot's
   * playout hands over one 160-sample frame by writing into `out` (returning false for nothing to
   * send). Pulling costs no copy into the queue and keeps barge-in a matter of clearing the source.
   */
  setPlayoutSource(source: PlayoutPull | null): void {
    this.playoutSource = source;
  }

  /** Barge-in: drops every queued frame and returns how many were dropped. */
  clearPlayout(): number {
    const n = this.ringCount;
    this.ringCount = 0;
    this.ringHead = 0;
    this.consumedTotal += n;
    this.counters.framesFlushed += n;
    return n;
  }

  /** Calls back once every frame queued before this call has been sent (or flushed). */
  mark(callback: (sentAtRtpTimestamp: number) => void): void {
    this.marks.push({ target: this.enqueuedTotal, callback });
  }

  get queuedFrames(): number {
    return this.ringCount;
  }

  /** Queues an RFC 4733 event; audio is suppressed while it plays. */
  sendDtmf(digit: string, durationMs?: number): void {
    this.dtmfSender.enqueue(digit, durationMs);
  }

  get stats(): MediaSessionStats {
    const rate = this.codec.sampleRate / 1000;
    const remote = this.rtcp.remote;
    return {
      ...this.counters,
      packetsLost: this.receiveStats.started ? this.receiveStats.cumulativeLost : 0,
      fractionLost: this.receiveStats.fractionLost / 256,
      jitterMs: this.receiveStats.jitter / rate,
      rttMs: remote.rttMs,
      remoteFractionLost: remote.fractionLost,
      remotePacketsLost: remote.cumulativeLost,
      remoteJitterMs: remote.jitter / rate,
      rtcpMalformed: remote.malformed,
      malformedByReason: { ...this.malformedByReason },
      latched: this.latch.latched,
      remoteBye: remote.byeReceived,
      inactive: this.inactiveFired,
      jitterBuffer: { ...this.jitter.stats },
    };
  }

  /** Where we currently send RTP (after latching, the observed source). */
  get remoteAddress(): { address: string; port: number } | null {
    return this.remote === null ? null : { address: this.latch.address, port: this.latch.port };
  }

  /** Sends RTCP BYE, stops pacing, closes the sockets, returns the ports. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  // ------------------------------------------------------------------------------------------
  // Per tick (pacer)

  onTick(tick: number, _deadlineMs: number, nowMs: number): void {
    if (this.closing !== null) return;
    const firstTick = this.registration?.firstTick ?? 0;
    this.currentTimestamp = (this.timestampBase + (tick - firstTick) * this.frameSamples) >>> 0;
    this.receiveTick(nowMs);
    this.sendTick();
    this.dtmfReceiver.poll(nowMs);
    if (this.inactivityArmed && !this.inactiveFired && nowMs - this.lastRtpMs >= this.options.inactivityTimeoutMs) {
      this.inactiveFired = true;
      this.logger.info({ localPort: this.localPort, silentMs: nowMs - this.lastRtpMs }, 'RTP inactivity timeout');
      this.emit(this.inactiveHandler);
    }
  }

  private receiveTick(nowMs: number): void {
    const remote = this.remote;
    if (remote === null || !remote.receive) return;
    const info = this.frameInfo;
    const pcm = this.rxPcm;
    const result = this.jitter.pop(nowMs, this.rxPayload);
    if (result === 'packet') {
      this.codec.decode(this.rxPayload, pcm);
      this.concealer.good(pcm);
      info.concealed = false;
      info.silent = false;
    } else if (result === 'lost') {
      this.concealer.conceal(pcm);
      info.concealed = true;
      info.silent = false;
    } else {
      // After a talkspurt the concealer's delayed tail must not leak into the next one.
      if (!info.silent) this.concealer.reset();
      pcm.fill(0);
      info.concealed = false;
      info.silent = true;
    }
    const handler = this.frameHandler;
    if (handler !== null) {
      try {
        handler(pcm, info);
      } catch (err) {
        this.logger.error({ err }, 'onFrame handler threw');
      }
    }
  }

  private sendTick(): void {
    const remote = this.remote;
    const canSend = remote !== null && remote.send;
    const buf = this.txBuffers[this.txIndex]!;
    // RFC 4733 §2.5.1: while an event plays, its packets replace the audio packets.
    const dtmfLength = this.dtmfSender.next(buf, RTP_HEADER_LENGTH, this.currentTimestamp);
    if (dtmfLength > 0) {
      if (canSend) {
        this.writer.writeHeaderInPlace(buf, 0, this.dtmfPayloadType, this.dtmfSender.marker, this.dtmfSender.timestamp);
        this.transmit(buf, RTP_HEADER_LENGTH + dtmfLength, dtmfLength);
        if (this.dtmfSender.marker) this.counters.dtmfSent++;
      }
      this.nextMarker = true;
      this.fireMarks();
      return;
    }
    let havePcm = false;
    const pcm = this.txPcm;
    if (this.ringCount > 0) {
      const start = this.ringHead * this.frameSamples;
      this.ring.copyWithin(this.ringFrames * this.frameSamples, start, start + this.frameSamples);
      this.ringHead = (this.ringHead + 1) % this.ringFrames;
      this.ringCount--;
      this.consumedTotal++;
      havePcm = true;
    } else if (this.playoutSource !== null) {
      try {
        havePcm = this.playoutSource.pull(pcm);
      } catch (err) {
        this.logger.error({ err }, 'playout source threw');
      }
    }
    if (havePcm) {
      this.counters.framesSent++;
      if (canSend) {
        this.codec.encode(pcm, this.txPayloads[this.txIndex]!);
        // RFC 3551 §4.1: the marker bit marks the first packet of a talkspurt.
        this.writer.writeHeaderInPlace(buf, 0, this.codec.payloadType, this.nextMarker, this.currentTimestamp);
        this.transmit(buf, RTP_HEADER_LENGTH + this.frameSamples, this.frameSamples);
      }
      this.nextMarker = false;
    } else {
      if (canSend && this.options.sendSilence === true) {
        pcm.fill(0);
        this.codec.encode(pcm, this.txPayloads[this.txIndex]!);
        this.writer.writeHeaderInPlace(buf, 0, this.codec.payloadType, false, this.currentTimestamp);
        this.transmit(buf, RTP_HEADER_LENGTH + this.frameSamples, this.frameSamples);
      }
      this.nextMarker = true;
    }
    this.fireMarks();
  }

  private transmit(buf: Buffer, length: number, payloadLength: number): void {
    // dgram slices (allocates a Buffer view) whenever offset/length are given: audio packets
    // fill their buffer exactly, so they go without.
    if (length === buf.length) this.rtpSocket.send(buf, this.latch.port, this.latch.address);
    else this.rtpSocket.send(buf, 0, length, this.latch.port, this.latch.address);
    this.txIndex = (this.txIndex + 1) % SEND_BUFFERS;
    this.counters.packetsSent++;
    this.counters.bytesSent += payloadLength;
    this.sentThisInterval = true;
  }

  private fireMarks(): void {
    while (this.marks.length > 0 && this.marks[0]!.target <= this.consumedTotal) {
      const mark = this.marks.shift()!;
      try {
        mark.callback(this.currentTimestamp);
      } catch (err) {
        this.logger.error({ err }, 'mark callback threw');
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Per packet (socket)

  private readonly onRtpMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closing !== null) return;
    const length = msg.length;
    if (this.rtcpMux && isRtcpMuxed(msg, 0, length)) {
      // RFC 5761 §4: PT 64–95 (second octet 192–223) on the RTP port is RTCP.
      this.receiveRtcp(msg, rinfo);
      return;
    }
    const view = this.view;
    const reason = view.parse(msg, 0, length);
    if (reason !== null) {
      this.counters.malformed++;
      this.malformedByReason[reason]++;
      return;
    }
    const remote = this.remote;
    if (remote === null || !remote.receive) {
      this.counters.unexpected++;
      return;
    }
    const pt = view.payloadType;
    const isDtmf = pt === this.dtmfPayloadType;
    const isAudio = pt === this.codec.payloadType;
    if (this.latch.check(rinfo.address, rinfo.port, view.ssrc, isDtmf || isAudio) === 'drop') {
      this.counters.wrongSource++;
      return;
    }
    const now = this.clock.now();
    this.counters.packetsReceived++;
    this.counters.bytesReceived += view.payloadLength;
    this.lastRtpMs = now;
    this.inactiveFired = false;
    if (isDtmf) {
      this.dtmfReceiver.push(view.timestamp, view.marker, msg, view.payloadOffset, view.payloadLength, now);
      return;
    }
    if (!isAudio) {
      // E.g. comfort noise (PT 13) we did not negotiate.
      this.counters.unknownPayloadType++;
      return;
    }
    this.receiveStats.update(view.ssrc, view.sequenceNumber, view.timestamp, Math.floor(now * (this.codec.sampleRate / 1000)), view.payloadLength);
    // The jitter buffer copies the payload straight out of the datagram (no view, no scratch copy).
    this.jitter.pushFrom(view.sequenceNumber, view.timestamp, view.ssrc, view.marker, msg, view.payloadOffset, view.payloadLength, now);
  };

  private readonly onRtcpMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closing !== null) return;
    this.receiveRtcp(msg, rinfo);
  };

  private receiveRtcp(msg: Buffer, rinfo: RemoteInfo): void {
    // Only the remote we exchange RTP with may report on it.
    if (this.remote === null || rinfo.address !== this.latch.address) {
      this.counters.wrongSource++;
      return;
    }
    if (this.rtcp.handle(msg, 0, msg.length)) {
      this.counters.rtcpReceived++;
      this.rtcpRemotePort = rinfo.port;
    }
  }

  private readonly onDtmfEvent = (event: DtmfEvent): void => {
    this.counters.dtmfReceived++;
    const handler = this.dtmfHandler;
    if (handler === null) return;
    try {
      handler(event);
    } catch (err) {
      this.logger.error({ err }, 'onDtmf handler threw');
    }
  };

  private readonly onSocketError = (err: Error): void => {
    this.counters.sendErrors++;
    this.logger.debug({ err, localPort: this.localPort }, 'RTP socket error');
  };

  private emit(handler: (() => void) | null): void {
    if (handler === null) return;
    try {
      handler();
    } catch (err) {
      this.logger.error({ err }, 'media session handler threw');
    }
  }

  // ------------------------------------------------------------------------------------------
  // RTCP

  private scheduleRtcp(): void {
    this.rtcpTimer = this.clock.setTimeout(() => {
      this.rtcpTimer = null;
      if (this.closing !== null) return;
      this.sendRtcp(false);
      this.scheduleRtcp();
    }, this.rtcp.nextIntervalMs());
  }

  /** RFC 3550 §6.4: SR if we sent RTP in the last two intervals, else RR; plus SDES (and BYE). */
  private sendRtcp(bye: boolean, callback?: () => void): boolean {
    const remote = this.remote;
    if (remote === null) return false;
    const sender = this.sentThisInterval || this.sentPreviousInterval;
    this.sentPreviousInterval = this.sentThisInterval;
    this.sentThisInterval = false;
    const rate = this.codec.sampleRate / 1000;
    const firstTick = this.registration?.firstTick ?? 0;
    const length = this.rtcp.buildReport(
      this.rtcpBuffer,
      sender
        ? {
            packetCount: this.counters.packetsSent,
            octetCount: this.counters.bytesSent,
            // The RTP timestamp of "now" on our media clock (§6.4.1).
            rtpTimestamp: (this.timestampBase + Math.round((this.clock.now() - this.options.pacer.deadline(this.registration?.slot ?? 0, firstTick)) * rate)) >>> 0,
          }
        : null,
      this.receiveStats,
      bye,
    );
    let socket: Socket;
    let port: number;
    if (this.rtcpMux || this.rtcpSocket === null) {
      socket = this.rtpSocket;
      port = this.latch.port;
    } else {
      socket = this.rtcpSocket;
      port = this.rtcpRemotePort !== 0 ? this.rtcpRemotePort : this.latch.latched ? this.latch.port + 1 : (remote.rtcpPort ?? remote.port + 1);
    }
    this.counters.rtcpSent++;
    socket.send(this.rtcpBuffer, 0, length, port, this.latch.address, () => callback?.());
    return true;
  }

  private async doClose(): Promise<void> {
    this.registration?.cancel();
    this.registration = null;
    this.rtcpTimer?.cancel();
    this.rtcpTimer = null;
    this.dtmfSender.clear();
    this.marks = [];
    this.playoutSource = null;
    // §6.6: a participant leaving the session sends BYE.
    if (this.remote !== null) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, 50);
        try {
          if (!this.sendRtcp(true, () => {
            timer.cancel();
            resolve();
          })) {
            timer.cancel();
            resolve();
          }
        } catch (err) {
          this.logger.debug({ err }, 'RTCP BYE not sent');
          timer.cancel();
          resolve();
        }
      });
    }
    this.rtpSocket.off('message', this.onRtpMessage);
    this.rtcpSocket?.off('message', this.onRtcpMessage);
    await this.options.pool.release(this.lease);
  }
}
