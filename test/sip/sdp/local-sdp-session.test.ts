import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { LocalSdpSession, SdpError } from '../../../src/sip/sdp/index.js';
import type { LocalMediaOptions } from '../../../src/sip/sdp/index.js';
import * as fx from './carrier-sdp.js';

const LOCAL: LocalMediaOptions = { address: '192.0.2.10', port: 20000, codecPreference: 'offerer' };

function session(): LocalSdpSession {
  return new LocalSdpSession({ username: 'trunkline', address: '192.0.2.10', sessionId: '4242' });
}

function sdpError(fn: () => unknown): SdpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SdpError) return err;
    throw err;
  }
  throw new Error('expected an SdpError');
}

/** m-lines of an SDP as "type port fmts", plus the parsed form. */
function mlines(sdp: string): string[] {
  return parse(sdp).media.map((m) => `${m.type} ${m.port} ${m.protocol} ${String(m.payloads)}`);
}

describe('LocalSdpSession.answer', () => {
  it('answers Twilio exactly', () => {
    const { sdp, media } = session().answer(fx.TWILIO, LOCAL);
    expect(sdp).toBe(
      [
        'v=0',
        'o=trunkline 4242 1 IN IP4 192.0.2.10',
        's=-',
        'c=IN IP4 192.0.2.10',
        't=0 0',
        'm=audio 20000 RTP/AVP 0 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
    expect(media).toMatchObject({ localDirection: 'sendrecv', send: true, receive: true });
    expect(media.remote).toMatchObject({ address: '54.172.60.1', port: 13956, codec: 'PCMU', dtmfPayloadType: 101 });
  });

  it('one codec in the answer: Telnyx offers five, we answer PCMU + telephone-event', () => {
    const { sdp } = session().answer(fx.TELNYX, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0 101']);
  });

  it("configured preference overrides the offerer's order", () => {
    expect(session().answer(fx.TELNYX, { ...LOCAL, codecPreference: ['PCMA', 'PCMU'] }).media.remote.codec).toBe('PCMA');
    expect(session().answer(fx.ASTERISK, LOCAL).media.remote.codec).toBe('PCMA');
    expect(session().answer(fx.ASTERISK, { ...LOCAL, codecPreference: ['PCMU'] }).media.remote.codec).toBe('PCMU');
  });

  it('a preference list also restricts: PCMA-only config against a PCMU-only offer is 488/305', () => {
    const e = sdpError(() => session().answer(fx.TWILIO, { ...LOCAL, codecPreference: ['PCMA'] }));
    expect(e.status).toBe(488);
    expect(e.warning).toMatch(/^305 /);
  });

  it('echoes dynamic payload types (RFC 3264 §6.1)', () => {
    const { sdp, media } = session().answer(fx.DYNAMIC_PTS, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 97 98']);
    expect(sdp).toContain('a=rtpmap:97 PCMA/8000\r\n');
    expect(sdp).toContain('a=rtpmap:98 telephone-event/8000\r\n');
    expect(media.remote).toMatchObject({ payloadType: 97, dtmfPayloadType: 98 });
  });

  it('telephoneEvent: false leaves DTMF out', () => {
    const { sdp, media } = session().answer(fx.TWILIO, { ...LOCAL, telephoneEvent: false });
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0']);
    expect(sdp).not.toContain('telephone-event');
    expect(media.remote.dtmfPayloadType).toBeUndefined();
  });

  it('a=ptime:30 offer: we send 30 and ask for 20', () => {
    const { sdp, media } = session().answer(fx.PTIME_30, LOCAL);
    expect(media.remote.ptime).toBe(30);
    expect(sdp).toContain('a=ptime:20\r\n');
  });

  it('SIPp default offer', () => {
    const { sdp, media } = session().answer(fx.SIPP_UAC, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0']);
    expect(media).toMatchObject({ send: true, receive: true });
  });

  it('FreeSWITCH with video: video refused with port 0, same m-line count and order (RFC 3264 §6)', () => {
    const { sdp } = session().answer(fx.FREESWITCH, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0 101', 'video 0 RTP/AVP 96']);
  });

  it('RFC 3264 §10.1: audio accepted, both video streams refused', () => {
    const { sdp, media } = session().answer(fx.RFC3264_10_1_OFFER, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0', 'video 0 RTP/AVP 31', 'video 0 RTP/AVP 32']);
    expect(media.remote).toMatchObject({ address: 'host.anywhere.com', port: 49170 });
  });

  it("RFC 3264 §10.1: Bob's re-offer (new port, second audio) — first audio taken, version bumps once", () => {
    const s = session();
    s.answer(fx.RFC3264_10_1_OFFER, LOCAL);
    expect(s.version).toBe(1);
    const { sdp, media } = s.answer(fx.RFC3264_10_1_REOFFER, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0', 'video 0 RTP/AVP 31', 'video 0 RTP/AVP 32', 'audio 0 RTP/AVP 110']);
    expect(media.remote.port).toBe(65422);
    expect(s.version).toBe(2); // one more m-line in our body → changed
  });

  it('RFC 3264 §10.2: an inactive offer gets an inactive answer, one codec', () => {
    const { sdp, media } = session().answer(fx.RFC3264_10_2_OFFER, LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0']);
    expect(sdp).toContain('a=inactive\r\n');
    expect(media).toMatchObject({ localDirection: 'inactive', send: false, receive: false });
  });

  it('hold and resume (RFC 3264 §8.4, RFC 4317 §3.1): sendonly→recvonly, inactive→inactive, recvonly→sendonly, sendrecv→sendrecv', () => {
    const s = session();
    const cases = [
      ['a=sendonly', 'recvonly', false, true],
      ['a=inactive', 'inactive', false, false],
      ['a=recvonly', 'sendonly', true, false],
      ['a=sendrecv', 'sendrecv', true, true],
    ] as const;
    for (const [offerDir, answerDir, send, receive] of cases) {
      const { sdp, media } = s.answer(fx.withLine(fx.TWILIO, 'a=sendrecv', offerDir), LOCAL);
      expect(sdp, offerDir).toContain(`a=${answerDir}\r\n`);
      expect(media, offerDir).toMatchObject({ localDirection: answerDir, send, receive });
    }
  });

  it('c=0.0.0.0 hold: answer recvonly, no RTP sent to 0.0.0.0', () => {
    const { sdp, media } = session().answer(fx.HOLD_C0, LOCAL);
    expect(sdp).toContain('a=recvonly\r\n');
    expect(media).toMatchObject({ localDirection: 'recvonly', send: false, receive: true });
    expect(media.remote.onHold).toBe(true);
  });

  it('our own hold survives a sendrecv re-offer', () => {
    const { media } = session().answer(fx.TWILIO, { ...LOCAL, direction: 'sendonly' });
    expect(media).toMatchObject({ localDirection: 'sendonly', send: true, receive: false });
  });

  it('rtcp-mux only when offered and allowed (RFC 5761)', () => {
    const allowed = session().answer(fx.IPV6_MUX, { ...LOCAL, address: '2001:db8::20', rtcpMux: true });
    expect(allowed.sdp).toContain('a=rtcp-mux\r\n');
    expect(allowed.sdp).toContain('c=IN IP6 2001:db8::20\r\n');
    expect(allowed.media.remote).toMatchObject({ rtcpMux: true, rtcpPort: 5004 });
    const refused = session().answer(fx.IPV6_MUX, LOCAL);
    expect(refused.sdp).not.toContain('rtcp-mux');
    expect(refused.media.remote).toMatchObject({ rtcpMux: false, rtcpPort: 5005 });
    const notOffered = session().answer(fx.TWILIO, { ...LOCAL, rtcpMux: true });
    expect(notOffered.sdp).not.toContain('rtcp-mux');
  });

  it('G.729 only: 488 with Warning 305; the session is untouched', () => {
    const s = session();
    const e = sdpError(() => s.answer(fx.G729_ONLY, LOCAL));
    expect(e.status).toBe(488);
    expect(e.warning).toBe('305 trunkline "Incompatible media format"');
    expect(s.version).toBe(0);
  });

  it('unparseable: 400', () => {
    expect(sdpError(() => session().answer('garbage', LOCAL)).status).toBe(400);
  });

  it('o= version: unchanged for an identical answer, bumped when our body changes (RFC 3264 §8)', () => {
    const s = session();
    const a1 = s.answer(fx.TWILIO, LOCAL).sdp;
    const a2 = s.answer(fx.TWILIO, LOCAL).sdp; // session refresh re-INVITE
    expect(a2).toBe(a1);
    expect(s.version).toBe(1);
    const a3 = s.answer(fx.withLine(fx.TWILIO, 'a=sendrecv', 'a=sendonly'), LOCAL).sdp;
    expect(a3).toContain('o=trunkline 4242 2 IN IP4 192.0.2.10');
    const a4 = s.answer(fx.TWILIO, LOCAL).sdp;
    expect(a4).toContain('o=trunkline 4242 3 IN IP4 192.0.2.10');
    expect(a4.replace(' 3 IN', ' 1 IN')).toBe(a1);
  });
});

describe('LocalSdpSession.offer / acceptAnswer', () => {
  it('offers PCMU, PCMA and telephone-event by default', () => {
    const sdp = session().offer(LOCAL);
    expect(mlines(sdp)).toEqual(['audio 20000 RTP/AVP 0 8 101']);
    expect(sdp).toContain('a=rtpmap:8 PCMA/8000\r\n');
    expect(sdp).toContain('a=fmtp:101 0-16\r\n');
    expect(sdp).toContain('a=sendrecv\r\n');
  });

  it('the configured preference sets the offer order; hold offers sendonly', () => {
    const s = session();
    expect(mlines(s.offer({ ...LOCAL, codecPreference: ['PCMA'] }))).toEqual(['audio 20000 RTP/AVP 8 101']);
    expect(s.offer({ ...LOCAL, direction: 'sendonly' })).toContain('a=sendonly\r\n');
  });

  it("accepts a Twilio-style answer to our offer", () => {
    const s = session();
    s.offer(LOCAL);
    const media = s.acceptAnswer(fx.TWILIO);
    expect(media).toMatchObject({ localDirection: 'sendrecv', send: true, receive: true });
    expect(media.remote).toMatchObject({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, port: 13956 });
    expect(s.offerPending).toBe(false);
  });

  it('our hold answered recvonly: we send, they do not', () => {
    const s = session();
    s.offer({ ...LOCAL, direction: 'sendonly' });
    const media = s.acceptAnswer(fx.withLine(fx.TWILIO, 'a=sendrecv', 'a=recvonly'));
    expect(media).toMatchObject({ localDirection: 'sendonly', send: true, receive: false });
  });

  it('refused audio (port 0) or an answer with a codec we did not offer is 488', () => {
    const s = session();
    s.offer({ ...LOCAL, codecPreference: ['PCMU'] });
    expect(sdpError(() => s.acceptAnswer(fx.withLine(fx.TWILIO, 'm=audio 13956', 'm=audio 0'))).status).toBe(488);
    expect(sdpError(() => s.acceptAnswer(fx.ASTERISK.replace('RTP/AVP 8 0 3 101', 'RTP/AVP 8 101'))).status).toBe(488);
  });

  it('an answer with a different m-line count is malformed (RFC 3264 §6)', () => {
    const s = session();
    s.offer(LOCAL);
    expect(sdpError(() => s.acceptAnswer(fx.RFC3264_10_1_OFFER)).status).toBe(400);
  });

  it('acceptAnswer without an offer is a programming error', () => {
    expect(() => session().acceptAnswer(fx.TWILIO)).toThrow(/no offer/);
  });

  it('a re-offer after answering keeps the refused m-lines in place and the PTs of the session (RFC 3264 §8)', () => {
    const s = session();
    s.answer(fx.FREESWITCH, LOCAL);
    const reoffer = s.offer({ ...LOCAL, direction: 'sendonly' });
    expect(mlines(reoffer)).toEqual(['audio 20000 RTP/AVP 0 8 101', 'video 0 RTP/AVP 96']);
    expect(s.version).toBe(2);
    const media = s.acceptAnswer(fx.withLine(fx.FREESWITCH, 'a=ptime:20', 'a=ptime:20\r\na=recvonly').replace('m=video 24690', 'm=video 0'));
    expect(media).toMatchObject({ localDirection: 'sendonly', send: true, receive: false });
  });

  it('a re-offer keeps a dynamic telephone-event PT from the answer it followed', () => {
    const s = session();
    s.answer(fx.DYNAMIC_PTS, LOCAL);
    const reoffer = s.offer({ ...LOCAL, codecPreference: ['PCMA', 'PCMU'] });
    expect(mlines(reoffer)).toEqual(['audio 20000 RTP/AVP 97 0 98']);
  });

  it('identical re-offers keep the version; a changed one bumps it by one', () => {
    const s = session();
    s.offer(LOCAL);
    s.acceptAnswer(fx.TWILIO);
    expect(s.version).toBe(1);
    s.offer(LOCAL);
    expect(s.version).toBe(1);
    s.cancelOffer();
    s.offer({ ...LOCAL, port: 20002 });
    expect(s.version).toBe(2);
  });
});
