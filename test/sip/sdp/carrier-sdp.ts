/**
 * Session descriptions as real peers write them (addresses from documentation ranges or the
 * peers' usual private ranges), and the RFC 3264 §10 examples. Lines end in CRLF as on the wire.
 */
const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

/** Twilio Elastic SIP Trunking style: PCMU + telephone-event, maxptime 150. */
export const TWILIO = crlf([
  'v=0',
  'o=root 1467453587 1467453587 IN IP4 54.172.60.1',
  's=Twilio Media Gateway',
  'c=IN IP4 54.172.60.1',
  't=0 0',
  'm=audio 13956 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
]);

/** Telnyx style: several codecs incl. G.729, a=rtcp. */
export const TELNYX = crlf([
  'v=0',
  'o=Telnyx 1691415155 1691415155 IN IP4 192.76.120.10',
  's=Telnyx',
  'c=IN IP4 192.76.120.10',
  't=0 0',
  'm=audio 18448 RTP/AVP 0 8 9 18 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=rtcp:18449',
  'a=sendrecv',
]);

/** Asterisk chan_pjsip: PCMA first (a European trunk), GSM, maxptime. */
export const ASTERISK = crlf([
  'v=0',
  'o=- 1234567890 1234567890 IN IP4 10.0.0.5',
  's=Asterisk',
  'c=IN IP4 10.0.0.5',
  't=0 0',
  'm=audio 10024 RTP/AVP 8 0 3 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
]);

/** FreeSWITCH: opus and G722 first, CN, a=rtcp with address, a video m-line we must refuse. */
export const FREESWITCH = crlf([
  'v=0',
  'o=FreeSWITCH 1700000000 1700000001 IN IP4 172.16.1.10',
  's=FreeSWITCH',
  'c=IN IP4 172.16.1.10',
  't=0 0',
  'm=audio 24680 RTP/AVP 102 9 0 8 101 13',
  'a=rtpmap:102 opus/48000/2',
  'a=fmtp:102 useinbandfec=1; maxplaybackrate=16000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtpmap:13 CN/8000',
  'a=ptime:20',
  'a=rtcp:24681 IN IP4 172.16.1.10',
  'm=video 24690 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=42e01f',
]);

/** SIPp's built-in uac scenario body (LF only, no a=ptime, no telephone-event). */
export const SIPP_UAC = [
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\n');

/** A softphone with only dynamic payload types: opus, PCMA as 97, telephone-event as 98. */
export const DYNAMIC_PTS = crlf([
  'v=0',
  'o=- 3894567712 3894567712 IN IP4 198.51.100.33',
  's=Softphone',
  'c=IN IP4 198.51.100.33',
  't=0 0',
  'm=audio 30000 RTP/AVP 96 97 98',
  'a=rtpmap:96 opus/48000/2',
  'a=rtpmap:97 PCMA/8000',
  'a=rtpmap:98 telephone-event/8000',
  'a=fmtp:98 0-15',
]);

/** A carrier asking for 30 ms packets. */
export const PTIME_30 = crlf([
  'v=0',
  'o=sbc 100 200 IN IP4 203.0.113.50',
  's=SBC',
  'c=IN IP4 203.0.113.50',
  't=0 0',
  'm=audio 40000 RTP/AVP 8 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=ptime:30',
]);

/** RFC 2543-style hold re-INVITE: c=0.0.0.0, no direction attribute. */
export const HOLD_C0 = crlf([
  'v=0',
  'o=root 1467453587 1467453588 IN IP4 54.172.60.1',
  's=Twilio Media Gateway',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'm=audio 13956 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
]);

/** G.729 only (a cost-optimised route). */
export const G729_ONLY = crlf([
  'v=0',
  'o=- 5 5 IN IP4 203.0.113.80',
  's=-',
  'c=IN IP4 203.0.113.80',
  't=0 0',
  'm=audio 20000 RTP/AVP 18 101',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
]);

/** An SRTP-only offer. */
export const SRTP_ONLY = crlf([
  'v=0',
  'o=- 6 6 IN IP4 203.0.113.81',
  's=-',
  'c=IN IP4 203.0.113.81',
  't=0 0',
  'm=audio 20002 RTP/SAVP 0',
  'a=rtpmap:0 PCMU/8000',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32',
]);

/** IPv6 with rtcp-mux and media-level c=. */
export const IPV6_MUX = crlf([
  'v=0',
  'o=- 7 7 IN IP6 2001:db8::10',
  's=-',
  't=0 0',
  'm=audio 5004 RTP/AVP 0 8 101',
  'c=IN IP6 2001:db8::10',
  'a=rtpmap:101 telephone-event/8000',
  'a=rtcp-mux',
]);

/** RFC 3264 §10.1, Alice's offer: audio and two video streams. */
export const RFC3264_10_1_OFFER = crlf([
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 host.anywhere.com',
  's=',
  'c=IN IP4 host.anywhere.com',
  't=0 0',
  'm=audio 49170 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'm=video 51372 RTP/AVP 31',
  'a=rtpmap:31 H261/90000',
  'm=video 53000 RTP/AVP 32',
  'a=rtpmap:32 MPV/90000',
]);

/** RFC 3264 §10.1, Bob's later offer: new audio port and a second, recvonly audio stream for events. */
export const RFC3264_10_1_REOFFER = crlf([
  'v=0',
  'o=bob 2890844730 2890844731 IN IP4 host.example.com',
  's=',
  'c=IN IP4 host.example.com',
  't=0 0',
  'm=audio 65422 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'm=video 0 RTP/AVP 31',
  'm=video 53000 RTP/AVP 32',
  'a=rtpmap:32 MPV/90000',
  'm=audio 51434 RTP/AVP 110',
  'a=rtpmap:110 telephone-events/8000',
  'a=recvonly',
]);

/** RFC 3264 §10.2: one of N codec selection, offered inactive. */
export const RFC3264_10_2_OFFER = crlf([
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 host.anywhere.com',
  's=',
  'c=IN IP4 host.anywhere.com',
  't=0 0',
  'm=audio 62986 RTP/AVP 0 4 18',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:4 G723/8000',
  'a=rtpmap:18 G729/8000',
  'a=inactive',
]);

/** Replaces one line of a body (for hold/resume variants). */
export function withLine(sdp: string, from: string, to: string): string {
  if (!sdp.includes(from)) throw new Error(`fixture has no ${from}`);
  return sdp.replace(from, to);
}
