/**
 * Symmetric RTP source latching (RFC 4961 "Symmetric RTP / RTCP", comedia-style latching as
 * SBCs do it). We send to the address from the SDP and accept media from it. A caller behind
 * NAT sends from an address that differs from its SDP: we move ("latch") to that source only
 * after `threshold` consecutive valid packets from that same address:port carrying the
 * expected payload type and one SSRC — and, once we know the stream's SSRC, only with that
 * SSRC. Packets from anyone else are dropped and counted, so a stray or hostile sender cannot
 * take over the stream with a single packet.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4961
 */
export type LatchVerdict = 'accept' | 'drop';

export class SymmetricLatch {
  readonly threshold: number;
  /** Where we send and whose packets we accept. */
  address = '';
  port = 0;
  latched = false;
  /** SSRC of the stream we accept (0 + `haveSsrc` false until we hear it). */
  ssrc = 0;
  haveSsrc = false;
  /** Counters. */
  dropped = 0;
  latchCount = 0;
  private candidateAddress = '';
  private candidatePort = 0;
  private candidateSsrc = 0;
  private candidateCount = 0;

  constructor(threshold = 3) {
    if (!Number.isInteger(threshold) || threshold < 1) throw new RangeError(`latch threshold must be ≥ 1, got ${threshold}`);
    this.threshold = threshold;
  }

  /** The remote from SDP (initial offer/answer or a re-INVITE): start over. */
  setExpected(address: string, port: number): void {
    if (address === this.address && port === this.port) return;
    this.address = address;
    this.port = port;
    this.latched = false;
    this.haveSsrc = false;
    this.candidateCount = 0;
  }

  /**
   * Decides for one valid RTP packet. `payloadTypeOk` says whether the PT is one we negotiated.
   * Strings are compared, not stored, on the fast path (the current source).
   */
  check(address: string, port: number, ssrc: number, payloadTypeOk: boolean): LatchVerdict {
    if (port === this.port && address === this.address) {
      if (payloadTypeOk) {
        // The current source may restart its stream with a new SSRC; follow it.
        this.ssrc = ssrc;
        this.haveSsrc = true;
        // The current source is alive: a foreign source's run of packets is not "consecutive".
        this.candidateCount = 0;
      }
      return 'accept';
    }
    if (!payloadTypeOk || (this.haveSsrc && ssrc !== this.ssrc)) {
      this.candidateCount = 0;
      this.dropped++;
      return 'drop';
    }
    if (this.candidateCount > 0 && port === this.candidatePort && address === this.candidateAddress && ssrc === this.candidateSsrc) {
      this.candidateCount++;
    } else {
      this.candidateAddress = address;
      this.candidatePort = port;
      this.candidateSsrc = ssrc;
      this.candidateCount = 1;
    }
    if (this.candidateCount >= this.threshold) {
      this.address = address;
      this.port = port;
      this.ssrc = ssrc;
      this.haveSsrc = true;
      this.latched = true;
      this.latchCount++;
      this.candidateCount = 0;
      return 'accept';
    }
    this.dropped++;
    return 'drop';
  }
}
