import {
  ByePacket,
  CompoundPacket,
  ReceiverReportPacket,
  ReceptionReport,
  SdesChunk,
  SdesPacket,
  SenderReportPacket,
  isRtcp,
} from 'rtp.js/packets';
import type { Clock } from '../shared/index.js';
import type { RtpReceiveStats } from './rtp-stats.js';

/**
 * RTCP for one RTP session with one remote participant (RFC 3550 §6): builds compound packets
 * (SR when we sent RTP since the last report, else RR, always followed by SDES CNAME —
 * §6.1 "each compound RTCP packet MUST include a CNAME item"; BYE last on close, §6.6),
 * parses the remote's compound packets and keeps what they tell us: the remote's view of our
 * stream (fraction / cumulative lost, jitter) and the round-trip time from LSR/DLSR (§6.4.1).
 *
 * Packets are built and parsed with rtp.js. RTCP is sent once every few seconds, so the objects
 * rtp.js allocates here are not on the per-packet path.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#section-6
 */

/** What we sent since the session began (RFC 3550 §6.4.1 sender info). */
export interface RtcpSenderInfo {
  packetCount: number;
  octetCount: number;
  /** RTP timestamp corresponding to "now" on the sender's media clock. */
  rtpTimestamp: number;
}

export interface RtcpRemoteView {
  /** Round-trip time from the last report block about us with a non-zero LSR (§6.4.1), ms. */
  rttMs: number;
  /** The remote's fraction lost of our stream (0–1), cumulative lost and jitter (timestamp units). */
  fractionLost: number;
  cumulativeLost: number;
  jitter: number;
  /** Counters. */
  reportsReceived: number;
  sendersReportsReceived: number;
  byeReceived: boolean;
  malformed: number;
}

export interface RtcpSessionOptions {
  ssrc: number;
  cname: string;
  clock: Clock;
  /** Deterministic intervals in tests; returns [0, 1). */
  random?: () => number;
  /** Nominal report interval (RFC 3550 §6.2 minimum: 5 s). */
  intervalMs?: number;
  /** Wall clock in ms since the Unix epoch, sampled once to place the monotonic clock on NTP time. */
  wallClockMs?: number;
}

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2208988800;

export class RtcpSession {
  readonly ssrc: number;
  readonly cname: string;
  readonly remote: RtcpRemoteView = {
    rttMs: -1,
    fractionLost: 0,
    cumulativeLost: 0,
    jitter: 0,
    reportsReceived: 0,
    sendersReportsReceived: 0,
    byeReceived: false,
    malformed: 0,
  };
  reportsSent = 0;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly intervalMs: number;
  private readonly epochOffsetMs: number;
  /** Middle 32 bits of the remote's last SR NTP timestamp and when it arrived (§6.4.1 LSR/DLSR). */
  private lastSrNtpMiddle = 0;
  private lastSrArrivalMs = 0;
  private haveRemoteSr = false;

  constructor(options: RtcpSessionOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.cname = options.cname;
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.intervalMs = options.intervalMs ?? 5000;
    this.epochOffsetMs = (options.wallClockMs ?? Date.now()) - options.clock.now();
  }

  /**
   * Delay until the next report: the nominal interval × a uniform factor in [0.5, 1.5]
   * (RFC 3550 §6.3.1 "to avoid unintended synchronization of all participants").
   */
  nextIntervalMs(): number {
    return this.intervalMs * (0.5 + this.random());
  }

  /** NTP timestamp (§4) for a monotonic clock reading: [seconds, fraction]. */
  ntpTime(nowMs: number): [number, number] {
    const unixMs = this.epochOffsetMs + nowMs;
    const seconds = Math.floor(unixMs / 1000);
    const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 0x100000000);
    return [(seconds + NTP_UNIX_OFFSET) >>> 0, fraction >>> 0];
  }

  /** §4 "middle 32 bits" compact NTP form, in units of 1/65536 s. */
  ntpShort(nowMs: number): number {
    const [seconds, fraction] = this.ntpTime(nowMs);
    return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
  }

  /**
   * Serializes one compound packet into `out` and returns its length: SR (when `sender` is
   * given) or RR, a reception report about `receiver` when we have heard from the remote,
   * SDES CNAME, and BYE when `bye` (§6.6). `out` must have room (≤ 200 bytes for one source).
   */
  buildReport(out: Uint8Array, sender: RtcpSenderInfo | null, receiver: RtpReceiveStats | null, bye = false, byeReason?: string): number {
    const now = this.clock.now();
    const compound = new CompoundPacket();
    const report = receiver !== null && receiver.started && receiver.received > 0 ? this.receptionReport(receiver, now) : null;
    if (sender !== null) {
      // §6.4.1 SR: NTP and RTP timestamps of the same instant, packet and octet counts.
      const sr = new SenderReportPacket();
      sr.setSsrc(this.ssrc);
      const [seconds, fraction] = this.ntpTime(now);
      sr.setNtpSeconds(seconds);
      sr.setNtpFraction(fraction);
      sr.setRtpTimestamp(sender.rtpTimestamp >>> 0);
      sr.setPacketCount(sender.packetCount >>> 0);
      sr.setOctetCount(sender.octetCount >>> 0);
      if (report !== null) sr.addReport(report);
      compound.addPacket(sr);
    } else {
      // §6.4.2 RR; §6.1: the first packet of a compound packet is always SR or RR, even empty.
      const rr = new ReceiverReportPacket();
      rr.setSsrc(this.ssrc);
      if (report !== null) rr.addReport(report);
      compound.addPacket(rr);
    }
    const sdes = new SdesPacket();
    const chunk = new SdesChunk();
    chunk.setSsrc(this.ssrc);
    chunk.addItem(1 /* CNAME, §6.5.1 */, this.cname);
    sdes.addChunk(chunk);
    compound.addPacket(sdes);
    if (bye) {
      const byePacket = new ByePacket();
      byePacket.addSsrc(this.ssrc);
      if (byeReason !== undefined) byePacket.setReason(byeReason);
      compound.addPacket(byePacket);
    }
    const length = compound.getByteLength();
    if (length > out.length) throw new RangeError(`RTCP buffer too small: need ${length} bytes, have ${out.length}`);
    compound.serialize(out.buffer, out.byteOffset);
    if (report !== null) {
      // Report block starts after the SR/RR header (8) and, for SR, the sender info (20).
      const lostAt = (sender !== null ? 28 : 8) + 5;
      const lost = receiver === null ? 0 : receiver.cumulativeLost;
      const wire = lost < 0 ? (lost + 0x1000000) & 0xffffff : lost;
      out[lostAt] = (wire >>> 16) & 0xff;
      out[lostAt + 1] = (wire >>> 8) & 0xff;
      out[lostAt + 2] = wire & 0xff;
    }
    this.reportsSent++;
    return length;
  }

  /**
   * Parses a received compound packet. Returns false (and counts it) when it is not valid RTCP.
   */
  handle(buffer: Uint8Array, offset: number, length: number): boolean {
    const view = new DataView(buffer.buffer, buffer.byteOffset + offset, length);
    if (length < 8 || !isRtcp(view)) {
      this.remote.malformed++;
      return false;
    }
    let compound: CompoundPacket;
    try {
      compound = new CompoundPacket(view);
    } catch {
      this.remote.malformed++;
      return false;
    }
    const now = this.clock.now();
    for (const packet of compound.getPackets()) {
      if (packet instanceof SenderReportPacket) {
        this.remote.sendersReportsReceived++;
        // §6.4.1 LSR: "the middle 32 bits out of 64 in the NTP timestamp".
        this.lastSrNtpMiddle = (((packet.getNtpSeconds() & 0xffff) << 16) | (packet.getNtpFraction() >>> 16)) >>> 0;
        this.lastSrArrivalMs = now;
        this.haveRemoteSr = true;
        this.readReports(packet.getReports(), now);
      } else if (packet instanceof ReceiverReportPacket) {
        this.readReports(packet.getReports(), now);
      } else if (packet instanceof ByePacket) {
        this.remote.byeReceived = true;
      }
    }
    return true;
  }

  private readReports(reports: ReceptionReport[], now: number): void {
    for (const block of reports) {
      if (block.getSsrc() >>> 0 !== this.ssrc) continue;
      this.remote.reportsReceived++;
      this.remote.fractionLost = block.getFractionLost() / 256;
      // Read the 24-bit signed field ourselves: rtp.js 0.15 masks it to 12 bits.
      const v = block.getView();
      const raw = (v.getUint8(5) << 16) | (v.getUint8(6) << 8) | v.getUint8(7);
      this.remote.cumulativeLost = raw & 0x800000 ? raw - 0x1000000 : raw;
      this.remote.jitter = block.getJitter();
      const lsr = block.getLastSRTimestamp() >>> 0;
      if (lsr !== 0) {
        // §6.4.1: RTT = A - LSR - DLSR, all in 1/65536 s.
        const a = this.ntpShort(now);
        const rtt = (a - lsr - (block.getDelaySinceLastSR() >>> 0)) >>> 0;
        // A huge value is a negative one wrapped (clock steps, bogus DLSR): ignore it.
        if (rtt < 0x80000000) this.remote.rttMs = (rtt / 65536) * 1000;
      }
    }
  }

  private receptionReport(receiver: RtpReceiveStats, now: number): ReceptionReport {
    // §6.4.1 report block fields, computed as RFC 3550 A.3 / A.8 describe.
    const block = new ReceptionReport();
    block.setSsrc(receiver.ssrc >>> 0);
    block.setFractionLost(receiver.takeFractionLost());
    // Negative values (duplicates) are patched in after serialization: rtp.js writes
    // sign-magnitude, RFC 3550 A.3 a 24-bit two's complement.
    block.setTotalLost(Math.max(0, receiver.cumulativeLost));
    block.setHighestSeqNumber(receiver.extendedMaxSeq >>> 0);
    block.setJitter(Math.floor(receiver.jitter) >>> 0);
    if (this.haveRemoteSr) {
      block.setLastSRTimestamp(this.lastSrNtpMiddle);
      block.setDelaySinceLastSR(Math.floor(((now - this.lastSrArrivalMs) / 1000) * 65536) >>> 0);
    } else {
      block.setLastSRTimestamp(0);
      block.setDelaySinceLastSR(0);
    }
    return block;
  }
}
