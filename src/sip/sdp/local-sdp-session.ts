import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { SdpError } from './sdp-error.js';
import { firstUsableAudio, isUnspecified, orderCandidates, parseSessionDescription, remoteMediaOf } from './sdp-parse.js';
import type { CodecCandidate, MediaLine } from './sdp-parse.js';
import type { Direction, G711, LocalMediaOptions, NegotiatedMedia } from './sdp-types.js';

/** Options for answering: our media, and optionally our own hold (the answer never sends more than this). */
export type AnswerOptions = LocalMediaOptions & { direction?: Direction };
export type OfferOptions = LocalMediaOptions & { direction?: Direction };

const STATIC_PT: Readonly<Record<G711, number>> = { PCMU: 0, PCMA: 8 };
const DEFAULT_DTMF_PT = 101;
/** RFC 4733 §3.2: events 0-15 are the DTMF digits, 16 is flash. */
const DTMF_EVENTS = '0-16';

/** One m-line slot of the session, kept so later offers keep the m-line count and order (RFC 3264 §8). */
type Slot = { kind: 'audio' } | { kind: 'rejected'; line: string };

interface PendingOffer {
  codecs: CodecCandidate[];
  dtmfPayloadType: number | undefined;
  direction: Direction;
  rtcpMux: boolean;
  audioIndex: number;
  slots: Slot[];
}

/**
 * Our side of one SIP dialog's offer/answer exchanges (RFC 3264), G.711 only.
 *
 * Keeps the o= line across the dialog: the session id is fixed, the version goes up by one only
 * when our SDP body changes (RFC 3264 §8: "the version number ... MUST be incremented by one
 * ... If the SDP is identical to the previous one, the version number stays the same"), keeps the
 * m-line layout of the session so a later offer repeats rejected streams with port 0 in place
 * (RFC 3264 §8: a new offer "MUST include all existing media streams"), and keeps payload type
 * numbers stable within the session (RFC 3264 §8.3.2).
 */
export class LocalSdpSession {
  private readonly username: string;
  private readonly address: string;
  private readonly sessionId: string;
  private sessionVersion = 0;
  /** Our last body without the o= line, to decide whether the version moves. */
  private lastBody: string | undefined;
  private slots: Slot[] = [{ kind: 'audio' }];
  private audioIndex = 0;
  private pendingOffer: PendingOffer | undefined;
  /** Payload types in use in this session: codec → pt, and the telephone-event pt. */
  private readonly codecPts = new Map<G711, number>();
  private dtmfPt: number | undefined;
  /** The remote's dynamic pt map of the audio m-line, to avoid reusing a number it gave another meaning. */
  private remoteRtpmap = new Map<number, string>();
  private current: NegotiatedMedia | undefined;

  /**
   * @param options.username o= username (RFC 4566 §5.2; '-' when not given)
   * @param options.address o= unicast address (usually our SIP/RTP address)
   * @param options.sessionId fixed o= sess-id; default a random number
   */
  constructor(options: { username?: string; address: string; sessionId?: string }) {
    this.username = options.username ?? '-';
    this.address = options.address;
    this.sessionId = options.sessionId ?? String(randomInt(1, 2 ** 47));
  }

  /** The o= sess-version of the last SDP we produced (0 before the first). */
  get version(): number {
    return this.sessionVersion;
  }

  /** The media state after the last completed exchange. */
  get negotiated(): NegotiatedMedia | undefined {
    return this.current;
  }

  /** Whether an offer of ours awaits its answer. */
  get offerPending(): boolean {
    return this.pendingOffer !== undefined;
  }

  /**
   * Parses an offer and builds our answer. Throws SdpError(488) (Warning 302/304/305) when no
   * m-line carries G.711 over RTP/AVP, SdpError(400) on unparseable SDP; the session is unchanged
   * by a throw.
   */
  answer(offerSdp: string, local: AnswerOptions): { sdp: string; media: NegotiatedMedia } {
    const offer = parseSessionDescription(offerSdp);
    const index = firstUsableAudio(offer, local.codecPreference);
    const line = offer.media[index];
    const chosen = line === undefined ? undefined : orderCandidates(line, local.codecPreference)[0];
    if (line === undefined || chosen === undefined) throw new SdpError(488, 305, 'Incompatible media format');

    const remote = remoteMediaOf(line, chosen);
    const telephoneEvent = local.telephoneEvent !== false && line.dtmfPayloadType !== undefined;
    if (!telephoneEvent) delete remote.dtmfPayloadType;
    // RFC 5761 §5.1.1: the answerer includes a=rtcp-mux only if it will multiplex.
    const mux = line.rtcpMux && local.rtcpMux === true;
    remote.rtcpMux = mux;
    if (!mux && line.rtcpMux) remote.rtcpPort = line.port + 1;

    // RFC 3264 §6.1: "If a stream is offered as sendonly, the corresponding stream MUST be marked as
    // recvonly or inactive in the answer ... If ... recvonly ... MUST be marked as sendonly or inactive".
    let localDirection = intersect(mirror(line.direction), local.direction ?? 'sendrecv');
    // RFC 3264 §8.4: c=0.0.0.0 (RFC 2543 hold) — nothing may be sent to that address.
    if (isUnspecified(line.address)) localDirection = withoutSend(localDirection);
    const media = negotiatedMedia(remote, localDirection);

    const slots: Slot[] = offer.media.map((m, i) => (i === index ? { kind: 'audio' } : { kind: 'rejected', line: rejectedLine(m) }));
    // RFC 3264 §6.1: "the answerer MUST use the same payload type numbers as the offerer".
    const codecs: CodecCandidate[] = [{ codec: chosen.codec, payloadType: chosen.payloadType }];
    const dtmf = telephoneEvent ? line.dtmfPayloadType : undefined;
    const sdp = this.render(slots, index, {
      port: local.port,
      address: local.address,
      codecs,
      dtmfPayloadType: dtmf,
      ptime: local.ptime ?? 20,
      rtcpMux: mux,
      direction: localDirection,
    });

    this.slots = slots;
    this.audioIndex = index;
    this.pendingOffer = undefined;
    this.codecPts.set(chosen.codec, chosen.payloadType);
    if (dtmf !== undefined) this.dtmfPt = dtmf;
    this.remoteRtpmap = line.rtpmap;
    this.current = media;
    return { sdp, media };
  }

  /**
   * Our offer: for dial-out, a delayed offer in a 2xx, or our re-INVITE/UPDATE (hold with
   * direction 'sendonly', resume with 'sendrecv'). Repeats the session's rejected m-lines.
   */
  offer(local: OfferOptions): string {
    const order: readonly G711[] = local.codecPreference === 'offerer' ? ['PCMU', 'PCMA'] : local.codecPreference;
    if (order.length === 0) throw new RangeError('offer needs at least one codec');
    const codecs: CodecCandidate[] = [];
    for (const codec of order) {
      if (!codecs.some((c) => c.codec === codec)) codecs.push({ codec, payloadType: this.codecPts.get(codec) ?? STATIC_PT[codec] });
    }
    const dtmf = local.telephoneEvent === false ? undefined : (this.dtmfPt ?? this.freeDynamicPt());
    const direction = local.direction ?? 'sendrecv';
    const rtcpMux = local.rtcpMux === true;
    const slots = this.slots.slice();
    const sdp = this.render(slots, this.audioIndex, {
      port: local.port,
      address: local.address,
      codecs,
      dtmfPayloadType: dtmf,
      ptime: local.ptime ?? 20,
      rtcpMux,
      direction,
    });
    this.pendingOffer = { codecs, dtmfPayloadType: dtmf, direction, rtcpMux, audioIndex: this.audioIndex, slots };
    return sdp;
  }

  /**
   * Parses the answer to our last offer. Throws SdpError(400) if it is unparseable or does not
   * match the offer's m-lines, SdpError(488) when the audio stream was refused (port 0) or carries
   * no codec we offered; Error when no offer is pending.
   */
  acceptAnswer(answerSdp: string): NegotiatedMedia {
    const offer = this.pendingOffer;
    if (offer === undefined) throw new Error('acceptAnswer: no offer of ours is pending');
    const answer = parseSessionDescription(answerSdp);
    // RFC 3264 §6: "The answer MUST contain exactly the same number of "m=" lines as the offer."
    if (answer.media.length !== offer.slots.length) {
      throw new SdpError(400, 399, 'Malformed SDP', `answer has ${answer.media.length} m-lines, offer had ${offer.slots.length}`);
    }
    const line = answer.media[offer.audioIndex];
    if (line === undefined || line.port === 0) throw new SdpError(488, 304, 'Media type not available', 'audio stream refused');
    if (line.type.toLowerCase() !== 'audio') throw new SdpError(400, 399, 'Malformed SDP', 'answer m-line type differs from the offer');

    // The answer lists what the answerer will receive, in our payload type numbers (RFC 3264 §6.1);
    // a dynamic PT without rtpmap is read with our offer's mapping.
    let chosen: CodecCandidate | undefined;
    for (const token of line.formats.split(/\s+/)) {
      const pt = Number(token);
      const named = line.candidates.find((c) => c.payloadType === pt) ?? offer.codecs.find((c) => c.payloadType === pt && !line.rtpmap.has(pt));
      if (named !== undefined && offer.codecs.some((c) => c.codec === named.codec)) {
        chosen = { codec: named.codec, payloadType: pt };
        break;
      }
    }
    if (chosen === undefined) throw new SdpError(488, 305, 'Incompatible media format', 'answer has no G.711 codec we offered');

    const remote = remoteMediaOf({ ...line, candidates: [chosen] }, chosen);
    const dtmf = offer.dtmfPayloadType !== undefined ? line.dtmfPayloadType : undefined;
    if (dtmf === undefined) delete remote.dtmfPayloadType;
    else remote.dtmfPayloadType = dtmf;
    const mux = offer.rtcpMux && line.rtcpMux;
    remote.rtcpMux = mux;
    if (!mux && line.rtcpMux) remote.rtcpPort = line.port + 1;

    let localDirection = intersect(offer.direction, mirror(line.direction));
    if (isUnspecified(line.address)) localDirection = withoutSend(localDirection);
    const media = negotiatedMedia(remote, localDirection);

    this.pendingOffer = undefined;
    this.slots = offer.slots;
    this.audioIndex = offer.audioIndex;
    this.codecPts.set(chosen.codec, chosen.payloadType);
    if (dtmf !== undefined) this.dtmfPt = dtmf;
    this.remoteRtpmap = line.rtpmap;
    this.current = media;
    return media;
  }

  /** Drops a pending offer (its transaction failed, e.g. 488 or 491 to our re-INVITE). */
  cancelOffer(): void {
    this.pendingOffer = undefined;
  }

  /** 101 unless the remote gave 101 another meaning; then the first free dynamic PT (RFC 3551 §3: 96-127). */
  private freeDynamicPt(): number {
    const taken = (pt: number): boolean => {
      const name = this.remoteRtpmap.get(pt);
      return name !== undefined && !/^telephone-event\/8000/i.test(name);
    };
    if (!taken(DEFAULT_DTMF_PT)) return DEFAULT_DTMF_PT;
    for (let pt = 96; pt <= 127; pt++) if (!taken(pt) && ![...this.codecPts.values()].includes(pt)) return pt;
    return DEFAULT_DTMF_PT;
  }

  private render(
    slots: readonly Slot[],
    audioIndex: number,
    a: { port: number; address: string; codecs: readonly CodecCandidate[]; dtmfPayloadType: number | undefined; ptime: number; rtcpMux: boolean; direction: Direction },
  ): string {
    const lines: string[] = [];
    // RFC 4566 §5.3: 's=-' when the session has no meaningful name.
    lines.push('s=-');
    lines.push(`c=IN ${ipVersion(a.address)} ${a.address}`);
    lines.push('t=0 0');
    slots.forEach((slot, i) => {
      if (i !== audioIndex || slot.kind === 'rejected') {
        if (slot.kind === 'rejected') lines.push(slot.line);
        return;
      }
      const fmts = a.codecs.map((c) => c.payloadType);
      if (a.dtmfPayloadType !== undefined) fmts.push(a.dtmfPayloadType);
      lines.push(`m=audio ${a.port} RTP/AVP ${fmts.join(' ')}`);
      for (const c of a.codecs) lines.push(`a=rtpmap:${c.payloadType} ${c.codec}/8000`);
      if (a.dtmfPayloadType !== undefined) {
        lines.push(`a=rtpmap:${a.dtmfPayloadType} telephone-event/8000`);
        lines.push(`a=fmtp:${a.dtmfPayloadType} ${DTMF_EVENTS}`);
      }
      lines.push(`a=ptime:${a.ptime}`);
      if (a.rtcpMux) lines.push('a=rtcp-mux');
      lines.push(`a=${a.direction}`);
    });
    const body = lines.join('\r\n');
    // RFC 3264 §8 / RFC 4566 §5.2: sess-version moves only when the description changes.
    if (this.lastBody !== body) {
      this.sessionVersion++;
      this.lastBody = body;
    }
    const origin = `o=${this.username} ${this.sessionId} ${this.sessionVersion} IN ${ipVersion(this.address)} ${this.address}`;
    return `v=0\r\n${origin}\r\n${body}\r\n`;
  }
}

function ipVersion(address: string): 'IP4' | 'IP6' {
  return isIP(address) === 6 ? 'IP6' : 'IP4';
}

/** A refused stream: same media type and transport, port 0, the offered formats (RFC 3264 §6). */
function rejectedLine(m: MediaLine): string {
  return `m=${m.type} 0 ${m.protocol} ${m.formats === '' ? '0' : m.formats}`;
}

/** The direction that answers `remote` (RFC 3264 §6.1): the remote's send is our receive. */
function mirror(remote: Direction): Direction {
  if (remote === 'sendonly') return 'recvonly';
  if (remote === 'recvonly') return 'sendonly';
  return remote;
}

function sends(d: Direction): boolean {
  return d === 'sendrecv' || d === 'sendonly';
}

function receives(d: Direction): boolean {
  return d === 'sendrecv' || d === 'recvonly';
}

function direction(send: boolean, receive: boolean): Direction {
  if (send) return receive ? 'sendrecv' : 'sendonly';
  return receive ? 'recvonly' : 'inactive';
}

function intersect(a: Direction, b: Direction): Direction {
  return direction(sends(a) && sends(b), receives(a) && receives(b));
}

function withoutSend(d: Direction): Direction {
  return direction(false, receives(d));
}

function negotiatedMedia(remote: NegotiatedMedia['remote'], localDirection: Direction): NegotiatedMedia {
  return {
    remote,
    localDirection,
    send: sends(localDirection) && remote.port !== 0 && !isUnspecified(remote.address),
    receive: receives(localDirection),
  };
}
