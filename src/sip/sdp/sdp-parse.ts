import { parse } from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { SdpError } from './sdp-error.js';
import type { Direction, G711, RemoteMedia } from './sdp-types.js';

/**
 * Reading a remote session description (RFC 4566) for RFC 3264 offer/answer, G.711 only.
 *
 * sdp-transform does the line grammar; this file decides what each m-line means for us: which
 * G.711 formats it carries (static PT 0/8 or named by a=rtpmap with any PT, RFC 3551 §6 and
 * RFC 4566 §6), the RFC 4733 telephone-event PT, packetization time, direction, RTCP port
 * (RFC 3605) and rtcp-mux (RFC 5761).
 */

/** One G.711 format an m-line offers, in the m-line's order. */
export interface CodecCandidate {
  codec: G711;
  payloadType: number;
}

/** Why an m-line cannot carry our audio (drives the Warning code when nothing can). */
export type Unusable = 'disabled' | 'not-audio' | 'transport' | 'format';

/** Everything we read from one m-line. */
export interface MediaLine {
  type: string;
  port: number;
  protocol: string;
  /** The m-line's fmt list as written (echoed in a rejected m-line). */
  formats: string;
  candidates: CodecCandidate[];
  dtmfPayloadType: number | undefined;
  /** pt → "NAME/rate[/channels]" from a=rtpmap, for keeping payload type numbers stable (RFC 3264 §8.3.2). */
  rtpmap: Map<number, string>;
  address: string;
  rtcpPort: number;
  rtcpMux: boolean;
  ptime: number;
  direction: Direction;
  unusable: Unusable | undefined;
}

export interface ParsedSdp {
  origin: { username: string; sessionId: string; version: number };
  media: MediaLine[];
}

const DEFAULT_PTIME = 20;
const MIN_PTIME = 10;
const MAX_PTIME = 60;

/** RFC 3551 §6 Table 4: the static payload types of G.711. */
const STATIC_PT: ReadonlyMap<number, G711> = new Map([
  [0, 'PCMU'],
  [8, 'PCMA'],
]);

/**
 * Parses a session description into its m-lines. Throws SdpError(400) when it is not SDP we can
 * read: no v=0, no o=, an active m-line without a connection address, a bad port.
 */
export function parseSessionDescription(sdp: string): ParsedSdp {
  let session: SessionDescription;
  try {
    session = parse(sdp);
  } catch (err) {
    throw new SdpError(400, 399, 'Malformed SDP', (err as Error).message);
  }
  // RFC 4566 §5: "An SDP session description consists of ... v= ... o= ... s= ... t=". We insist on
  // v=0 and o= (the offer/answer version lives there); s= and t= are forgiven, some gateways drop them.
  if ((session.version as unknown) !== 0) throw new SdpError(400, 399, 'Malformed SDP', 'no v=0 line');
  const origin = session.origin as SessionDescription['origin'] | undefined;
  if (origin === undefined || origin.address === undefined) throw new SdpError(400, 399, 'Malformed SDP', 'no o= line');
  const media = (session.media as MediaDescription[] | undefined) ?? [];
  const sessionAddress = connectionAddress(session.connection?.ip);
  const sessionDirection = session.direction;
  return {
    origin: { username: origin.username, sessionId: String(origin.sessionId), version: Number(origin.sessionVersion) },
    media: media.map((m, i) => readMediaLine(m, i, sessionAddress, sessionDirection)),
  };
}

function connectionAddress(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  // sdp-transform turns a numeric-looking value ("c=IN IP4 0") into a number: read it as text.
  const ip = String(raw);
  const slash = ip.indexOf('/'); // multicast TTL / count (RFC 4566 §5.7)
  return slash === -1 ? ip : ip.slice(0, slash);
}

function readMediaLine(m: MediaDescription, index: number, sessionAddress: string | undefined, sessionDirection: Direction | undefined): MediaLine {
  const port = Number(m.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SdpError(400, 399, 'Malformed SDP', `m-line ${index}: bad port`);
  const formats = m.payloads === undefined ? '' : String(m.payloads).trim();
  const rtpmap = new Map<number, string>();
  for (const r of m.rtp) {
    rtpmap.set(r.payload, `${r.codec}/${r.rate ?? ''}${r.encoding !== undefined ? `/${r.encoding}` : ''}`);
  }
  const candidates: CodecCandidate[] = [];
  let dtmfPayloadType: number | undefined;
  for (const token of formats.split(/\s+/)) {
    if (!/^\d{1,3}$/.test(token)) continue;
    const pt = Number(token);
    if (pt > 127) continue;
    const map = m.rtp.find((r) => r.payload === pt);
    if (map === undefined) {
      const codec = STATIC_PT.get(pt);
      if (codec !== undefined && !candidates.some((c) => c.codec === codec)) candidates.push({ codec, payloadType: pt });
      continue;
    }
    const name = String(map.codec ?? '').toUpperCase(); // sdp-transform may hand back a number
    const mono = map.encoding === undefined || Number(map.encoding) === 1;
    if ((name === 'PCMU' || name === 'PCMA') && map.rate === 8000 && mono) {
      if (!candidates.some((c) => c.codec === name)) candidates.push({ codec: name, payloadType: pt });
    } else if (name === 'TELEPHONE-EVENT' && map.rate === 8000 && dtmfPayloadType === undefined) {
      // RFC 4733 §7.1.1: telephone-event at the audio clock rate; 16 kHz events are for wideband.
      dtmfPayloadType = pt;
    }
  }
  const mux = m.rtcpMux !== undefined;
  const rtcpAttr = m.rtcp?.port;
  const address = connectionAddress(m.connection?.ip) ?? sessionAddress;
  const direction = m.direction ?? sessionDirection ?? 'sendrecv';

  let unusable: Unusable | undefined;
  if (port === 0) unusable = 'disabled';
  else if (String(m.type ?? '').toLowerCase() !== 'audio') unusable = 'not-audio';
  // Plain RTP/AVP only (RFC 3551): SRTP (RTP/SAVP), AVPF feedback and DTLS profiles are refused per m-line.
  else if (String(m.protocol ?? '').toUpperCase() !== 'RTP/AVP') unusable = 'transport';
  else if (candidates.length === 0) unusable = 'format';

  if (unusable === undefined && address === undefined) {
    // RFC 4566 §5.7: "A session description MUST contain either at least one "c=" field in each media description or a single "c=" field at the session level."
    throw new SdpError(400, 399, 'Malformed SDP', `m-line ${index}: no c= line`);
  }
  return {
    type: String(m.type ?? ''),
    port,
    protocol: m.protocol,
    formats,
    candidates,
    dtmfPayloadType,
    rtpmap,
    address: address ?? '0.0.0.0',
    rtcpPort: mux ? port : rtcpAttr !== undefined && rtcpAttr > 0 ? rtcpAttr : port + 1,
    rtcpMux: mux,
    ptime: packetTime(m.ptime, m.maxptime),
    direction,
    unusable,
  };
}

/** RFC 4566 §6 a=ptime / a=maxptime → the packet time to send with, kept within 10-60 ms. */
function packetTime(ptime: number | undefined, maxptime: number | undefined): number {
  let t = ptime !== undefined && Number.isFinite(ptime) && ptime > 0 ? Math.round(ptime) : DEFAULT_PTIME;
  if (maxptime !== undefined && Number.isFinite(maxptime) && maxptime > 0 && t > maxptime) t = Math.floor(maxptime);
  return Math.min(MAX_PTIME, Math.max(MIN_PTIME, t));
}

/** RFC 3264 §8.4 / RFC 2543: a connection address of 0.0.0.0 means "do not send to me". */
export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || (address.includes(':') && /^[0:]+$/.test(address));
}

/**
 * The candidates of an m-line ordered by preference: the offerer's order, or ours (a list that
 * also restricts which codecs we take).
 */
export function orderCandidates(line: MediaLine, preference: 'offerer' | readonly G711[]): CodecCandidate[] {
  if (preference === 'offerer') return line.candidates;
  const out: CodecCandidate[] = [];
  for (const codec of preference) {
    const c = line.candidates.find((x) => x.codec === codec);
    if (c !== undefined) out.push(c);
  }
  return out;
}

/**
 * The index of the first m-line that can carry our audio under `preference`, or throws the
 * SdpError(488) whose Warning says why none can (RFC 3261 §20.43 warn-codes 302, 304, 305).
 */
export function firstUsableAudio(parsed: ParsedSdp, preference: 'offerer' | readonly G711[]): number {
  let sawFormat = false;
  let sawTransport = false;
  for (let i = 0; i < parsed.media.length; i++) {
    const line = parsed.media[i];
    if (line === undefined) continue;
    if (line.unusable === 'format') sawFormat = true;
    if (line.unusable === 'transport') sawTransport = true;
    if (line.unusable !== undefined) continue;
    if (orderCandidates(line, preference).length > 0) return i;
    sawFormat = true;
  }
  if (sawFormat) throw new SdpError(488, 305, 'Incompatible media format', 'no G.711 (PCMU/PCMA) audio we accept');
  if (sawTransport) throw new SdpError(488, 302, 'Incompatible transport protocol', 'audio only over RTP/AVP');
  throw new SdpError(488, 304, 'Media type not available', 'no audio stream');
}

/** The remote media of one usable m-line with the chosen codec. */
export function remoteMediaOf(line: MediaLine, codec: CodecCandidate): RemoteMedia {
  const remote: RemoteMedia = {
    address: line.address,
    port: line.port,
    rtcpPort: line.rtcpPort,
    rtcpMux: line.rtcpMux,
    codec: codec.codec,
    payloadType: codec.payloadType,
    ptime: line.ptime,
    direction: line.direction,
    onHold: line.direction === 'sendonly' || line.direction === 'inactive' || isUnspecified(line.address),
  };
  if (line.dtmfPayloadType !== undefined) remote.dtmfPayloadType = line.dtmfPayloadType;
  return remote;
}

/**
 * The first usable audio m-line of a session description, with the offerer's first G.711 codec.
 * Throws SdpError(400) on unparseable SDP, SdpError(488) when no m-line carries G.711 over RTP/AVP.
 */
export function parseSdp(sdp: string): RemoteMedia {
  const parsed = parseSessionDescription(sdp);
  const line = parsed.media[firstUsableAudio(parsed, 'offerer')];
  const codec = line?.candidates[0];
  if (line === undefined || codec === undefined) throw new SdpError(488, 305, 'Incompatible media format');
  return remoteMediaOf(line, codec);
}
