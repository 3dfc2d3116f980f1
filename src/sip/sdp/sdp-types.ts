/**
 * The media model of one audio stream as Trunkline negotiates it: G.711 only (RFC 3551 §4.5.14),
 * RFC 4733 telephone-event for DTMF, RFC 3264 offer/answer directions.
 */

export type G711 = 'PCMU' | 'PCMA';

/** RFC 4566 §6 / RFC 3264 §5.1 direction attributes. */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What the remote side described in its SDP (the first usable audio m-line). */
export interface RemoteMedia {
  /** Connection address (c=, media level over session level). '0.0.0.0' for RFC 2543 hold. */
  address: string;
  port: number;
  /** a=rtcp (RFC 3605) when present, else port + 1; equal to port when rtcp-mux is in use. */
  rtcpPort: number;
  rtcpMux: boolean;
  codec: G711;
  payloadType: number;
  /** RFC 4733 telephone-event/8000 payload type, when offered. */
  dtmfPayloadType?: number;
  /** ms, from a=ptime, default 20. */
  ptime: number;
  /** As seen from the remote: what it said (a=sendonly means it sends only). */
  direction: Direction;
  /** sendonly, inactive, or c=0.0.0.0 (RFC 3264 §8.4, RFC 2543 hold). */
  onHold: boolean;
}

export interface NegotiatedMedia {
  remote: RemoteMedia;
  /** Our direction in the answer (or in our offer, when this comes from acceptAnswer). */
  localDirection: Direction;
  /** We should send RTP to remote.address:remote.port. */
  send: boolean;
  /** We should expect RTP. */
  receive: boolean;
}

export interface LocalMediaOptions {
  /** Our RTP address (c= line). */
  address: string;
  /** Our RTP port (RTCP on port + 1 unless rtcp-mux). */
  port: number;
  /** 'offerer' keeps the offer's order; a list picks the first of ours the offer has. */
  codecPreference: 'offerer' | readonly G711[];
  /** Offer / accept rtcp-mux (RFC 5761). Default false. */
  rtcpMux?: boolean;
  /** Default 20. */
  ptime?: number;
  /** Offer / accept RFC 4733 telephone-event. Default true. */
  telephoneEvent?: boolean;
}
