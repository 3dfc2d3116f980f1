import { RTP_HEADER_LENGTH, writeU32 } from './rtp-packet.js';

/**
 * Serializes RTP packets (RFC 3550 §5.1 fixed header, no CSRCs, no extension) into a buffer the
 * caller owns, the `MarshalTo(buf)` way: one writer per outgoing stream keeps the SSRC and the
 * sequence number; `write()` fills header + payload and returns the byte count. No allocation.
 *
 * Sequence numbers start at a random value and timestamps are chosen by the caller
 * (RFC 3550 §5.1: "The initial value of the sequence number SHOULD be random").
 *
 * @see https://www.rfc-editor.org/rfc/rfc3550#section-5.1
 */
export class RtpWriter {
  /** Next sequence number to use (16 bits). */
  sequenceNumber: number;
  readonly ssrc: number;

  constructor(ssrc: number, initialSequenceNumber: number = Math.floor(Math.random() * 0x10000)) {
    if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) throw new RangeError(`invalid SSRC ${ssrc}`);
    this.ssrc = ssrc >>> 0;
    this.sequenceNumber = initialSequenceNumber & 0xffff;
  }

  /** Bytes needed for a packet with `payloadLength` payload bytes. */
  static byteLength(payloadLength: number): number {
    return RTP_HEADER_LENGTH + payloadLength;
  }

  /**
   * Writes one packet at `buffer[offset]` and advances the sequence number. The payload is
   * `payload[payloadOffset, payloadOffset + payloadLength)`. Returns the packet length.
   */
  write(
    buffer: Uint8Array,
    offset: number,
    payloadType: number,
    marker: boolean,
    timestamp: number,
    payload: Uint8Array,
    payloadOffset = 0,
    payloadLength = payload.length - payloadOffset,
  ): number {
    const total = RTP_HEADER_LENGTH + payloadLength;
    if (offset + total > buffer.length) {
      throw new RangeError(`buffer too small: need ${total} bytes at offset ${offset}, have ${buffer.length - offset}`);
    }
    if (payloadType < 0 || payloadType > 127) throw new RangeError(`invalid payload type ${payloadType}`);
    this.writeHeader(buffer, offset, payloadType, marker, timestamp, this.sequenceNumber);
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    const dst = offset + RTP_HEADER_LENGTH;
    if (payloadOffset === 0 && payloadLength === payload.length) {
      buffer.set(payload, dst);
    } else {
      // A loop instead of subarray(): a view object per packet is an allocation.
      for (let i = 0; i < payloadLength; i++) buffer[dst + i] = payload[payloadOffset + i]!;
    }
    return total;
  }

  /**
   * Writes the 12-byte header for a payload the caller has already put at
   * `buffer[offset + 12]` (e.g. a codec encoding straight into the send buffer) and advances
   * the sequence number. Returns the header length.
   */
  writeHeaderInPlace(buffer: Uint8Array, offset: number, payloadType: number, marker: boolean, timestamp: number): number {
    this.writeHeader(buffer, offset, payloadType, marker, timestamp, this.sequenceNumber);
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    return RTP_HEADER_LENGTH;
  }

  private writeHeader(buffer: Uint8Array, offset: number, payloadType: number, marker: boolean, timestamp: number, seq: number): void {
    buffer[offset] = 0x80; // V=2, P=0, X=0, CC=0
    buffer[offset + 1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
    buffer[offset + 2] = (seq >>> 8) & 0xff;
    buffer[offset + 3] = seq & 0xff;
    writeU32(buffer, offset + 4, timestamp >>> 0);
    writeU32(buffer, offset + 8, this.ssrc);
  }
}
