/**
 * RTP fixed header, read in place (RFC 3550 §5.1).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |   (only when X = 1,
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    RFC 3550 §5.3.1)
 * |                        header extension                       |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            payload  ....  | padding | count   |   (only when P = 1)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * One `RtpPacketView` is kept per socket and re-pointed at every datagram with `parse()`: the
 * header fields are plain numbers on a stable object shape, the payload is described by
 * `payloadOffset`/`payloadLength` into the caller's buffer. Nothing is allocated per packet.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#section-5.1
 */

/** Why a datagram was rejected as RTP. Constant strings: returning one allocates nothing. */
export type RtpMalformedReason =
  | 'too-short'
  | 'bad-version'
  | 'csrc-overrun'
  | 'extension-overrun'
  | 'bad-padding';

export const RTP_MALFORMED_REASONS: readonly RtpMalformedReason[] = [
  'too-short',
  'bad-version',
  'csrc-overrun',
  'extension-overrun',
  'bad-padding',
];

/** Fixed header length in bytes (RFC 3550 §5.1: 12 octets before the CSRC list). */
export const RTP_HEADER_LENGTH = 12;
export const RTP_VERSION = 2;

/** Plain object for logs and tests (like rtp.js `dump()`). */
export interface RtpPacketDump {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extensionProfile: number;
  extensionLength: number;
  paddingLength: number;
  payloadOffset: number;
  payloadLength: number;
}

export class RtpPacketView {
  /** The datagram currently viewed (not copied). Valid only until the caller reuses it. */
  buffer: Uint8Array = EMPTY;
  /** Offset of the RTP header inside `buffer`, and total length of the RTP packet. */
  offset = 0;
  length = 0;
  version = 0;
  padding = false;
  extension = false;
  csrcCount = 0;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  /** RFC 3550 §5.3.1 "defined by profile" 16 bits, and the extension body length in bytes. */
  extensionProfile = 0;
  extensionLength = 0;
  /** Offset (absolute in `buffer`) of the extension body, when `extension`. */
  extensionOffset = 0;
  /** Padding bytes at the end including the count byte itself (RFC 3550 §5.1, P bit). */
  paddingLength = 0;
  /** Absolute offset of the payload in `buffer`, and its length without padding. */
  payloadOffset = 0;
  payloadLength = 0;

  /**
   * Points the view at `buffer[offset, offset + length)` and decodes the header. Returns `null`
   * when the packet is well formed, or the reason it is not (the view's fields are then
   * unspecified).
   */
  parse(buffer: Uint8Array, offset = 0, length = buffer.length - offset): RtpMalformedReason | null {
    this.buffer = buffer;
    this.offset = offset;
    this.length = length;
    if (length < RTP_HEADER_LENGTH) return 'too-short';
    const b0 = buffer[offset]!;
    const b1 = buffer[offset + 1]!;
    this.version = b0 >>> 6;
    if (this.version !== RTP_VERSION) return 'bad-version';
    this.padding = (b0 & 0x20) !== 0;
    this.extension = (b0 & 0x10) !== 0;
    this.csrcCount = b0 & 0x0f;
    this.marker = (b1 & 0x80) !== 0;
    this.payloadType = b1 & 0x7f;
    this.sequenceNumber = (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
    this.timestamp = readU32(buffer, offset + 4);
    this.ssrc = readU32(buffer, offset + 8);

    const end = offset + length;
    let cursor = offset + RTP_HEADER_LENGTH + this.csrcCount * 4;
    if (cursor > end) return 'csrc-overrun';

    if (this.extension) {
      // RFC 3550 §5.3.1: a 4-octet header (profile, length in 32-bit words) then `length` words.
      if (cursor + 4 > end) return 'extension-overrun';
      this.extensionProfile = (buffer[cursor]! << 8) | buffer[cursor + 1]!;
      this.extensionLength = ((buffer[cursor + 2]! << 8) | buffer[cursor + 3]!) * 4;
      this.extensionOffset = cursor + 4;
      cursor += 4 + this.extensionLength;
      if (cursor > end) return 'extension-overrun';
    } else {
      this.extensionProfile = 0;
      this.extensionLength = 0;
      this.extensionOffset = 0;
    }

    if (this.padding) {
      // RFC 3550 §5.1: "The last octet of the padding contains a count of how many padding
      // octets should be ignored, including itself." Zero or more than what follows the header
      // cannot be valid.
      const count = buffer[end - 1]!;
      if (count === 0 || cursor + count > end) return 'bad-padding';
      this.paddingLength = count;
    } else {
      this.paddingLength = 0;
    }
    this.payloadOffset = cursor;
    this.payloadLength = end - cursor - this.paddingLength;
    return null;
  }

  /** The i-th CSRC (RFC 3550 §5.1), 0 ≤ i < csrcCount. */
  csrc(i: number): number {
    if (i < 0 || i >= this.csrcCount) throw new RangeError(`CSRC index ${i} out of range (count ${this.csrcCount})`);
    return readU32(this.buffer, this.offset + RTP_HEADER_LENGTH + i * 4);
  }

  /** Payload byte at index i (relative to the payload start), without bounds allocation. */
  payloadByte(i: number): number {
    return this.buffer[this.payloadOffset + i]!;
  }

  dump(): RtpPacketDump {
    const csrcs: number[] = [];
    for (let i = 0; i < this.csrcCount; i++) csrcs.push(this.csrc(i));
    return {
      version: this.version,
      padding: this.padding,
      extension: this.extension,
      csrcCount: this.csrcCount,
      marker: this.marker,
      payloadType: this.payloadType,
      sequenceNumber: this.sequenceNumber,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      csrcs,
      extensionProfile: this.extensionProfile,
      extensionLength: this.extensionLength,
      paddingLength: this.paddingLength,
      payloadOffset: this.payloadOffset - this.offset,
      payloadLength: this.payloadLength,
    };
  }
}

const EMPTY = new Uint8Array(0);

/** Big-endian unsigned 32-bit read without a DataView. */
export function readU32(b: Uint8Array, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * RFC 5761 §4: with RTCP multiplexed on the RTP port, a packet whose second octet is 192–223
 * (RTP marker + PT 64–95) is RTCP. RTP payload types 64–95 must not be used with rtcp-mux.
 */
export function isRtcpMuxed(buffer: Uint8Array, offset: number, length: number): boolean {
  if (length < 2) return false;
  const b1 = buffer[offset + 1]!;
  return b1 >= 192 && b1 <= 223;
}
