import { describe, expect, it } from 'vitest';
import { parseSdp, SdpError } from '../../../src/sip/sdp/index.js';
import * as fx from './carrier-sdp.js';

function sdpError(fn: () => unknown): SdpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SdpError) return err;
    throw err;
  }
  throw new Error('expected an SdpError');
}

describe('parseSdp', () => {
  it('Twilio: PCMU, telephone-event 101, ptime 20, RTCP on port+1', () => {
    expect(parseSdp(fx.TWILIO)).toEqual({
      address: '54.172.60.1',
      port: 13956,
      rtcpPort: 13957,
      rtcpMux: false,
      codec: 'PCMU',
      payloadType: 0,
      dtmfPayloadType: 101,
      ptime: 20,
      direction: 'sendrecv',
      onHold: false,
    });
  });

  it('Telnyx: a=rtcp port honoured (RFC 3605)', () => {
    const m = parseSdp(fx.TELNYX);
    expect(m.rtcpPort).toBe(18449);
    expect(m.codec).toBe('PCMU');
  });

  it("Asterisk: the offerer's order (PCMA first)", () => {
    const m = parseSdp(fx.ASTERISK);
    expect(m).toMatchObject({ codec: 'PCMA', payloadType: 8, dtmfPayloadType: 101, address: '10.0.0.5', port: 10024 });
  });

  it('FreeSWITCH: skips opus and G722, takes PCMU; a=rtcp with address', () => {
    expect(parseSdp(fx.FREESWITCH)).toMatchObject({ codec: 'PCMU', payloadType: 0, rtcpPort: 24681 });
  });

  it('SIPp default: LF line ends, no ptime, no DTMF', () => {
    const m = parseSdp(fx.SIPP_UAC);
    expect(m).toMatchObject({ codec: 'PCMU', payloadType: 0, ptime: 20, address: '127.0.0.1', port: 6000 });
    expect(m.dtmfPayloadType).toBeUndefined();
  });

  it('dynamic payload types named by rtpmap', () => {
    expect(parseSdp(fx.DYNAMIC_PTS)).toMatchObject({ codec: 'PCMA', payloadType: 97, dtmfPayloadType: 98 });
  });

  it('a=ptime:30 is kept, out-of-range values are clamped to 10-60', () => {
    expect(parseSdp(fx.PTIME_30).ptime).toBe(30);
    expect(parseSdp(fx.withLine(fx.PTIME_30, 'a=ptime:30', 'a=ptime:5')).ptime).toBe(10);
    expect(parseSdp(fx.withLine(fx.PTIME_30, 'a=ptime:30', 'a=ptime:120')).ptime).toBe(60);
    expect(parseSdp(fx.withLine(fx.PTIME_30, 'a=ptime:30', 'a=ptime:40\r\na=maxptime:20')).ptime).toBe(20);
  });

  it('hold forms: sendonly, inactive, c=0.0.0.0; recvonly is not hold', () => {
    expect(parseSdp(fx.HOLD_C0)).toMatchObject({ address: '0.0.0.0', onHold: true, direction: 'sendrecv' });
    expect(parseSdp(fx.withLine(fx.TWILIO, 'a=sendrecv', 'a=sendonly'))).toMatchObject({ onHold: true, direction: 'sendonly' });
    expect(parseSdp(fx.withLine(fx.TWILIO, 'a=sendrecv', 'a=inactive'))).toMatchObject({ onHold: true, direction: 'inactive' });
    expect(parseSdp(fx.withLine(fx.TWILIO, 'a=sendrecv', 'a=recvonly'))).toMatchObject({ onHold: false, direction: 'recvonly' });
  });

  it('session-level direction applies when the m-line has none', () => {
    const s = fx.withLine(fx.SIPP_UAC, 't=0 0', 't=0 0\na=sendonly');
    expect(parseSdp(s).direction).toBe('sendonly');
  });

  it('IPv6, media-level c=, rtcp-mux', () => {
    expect(parseSdp(fx.IPV6_MUX)).toMatchObject({ address: '2001:db8::10', port: 5004, rtcpMux: true, rtcpPort: 5004, codec: 'PCMU' });
  });

  it('no G.711: 488 with Warning 305', () => {
    const e = sdpError(() => parseSdp(fx.G729_ONLY));
    expect(e.status).toBe(488);
    expect(e.warning).toBe('305 trunkline "Incompatible media format"');
  });

  it('SRTP only: 488 with Warning 302', () => {
    const e = sdpError(() => parseSdp(fx.SRTP_ONLY));
    expect(e.status).toBe(488);
    expect(e.warning).toMatch(/^302 trunkline "Incompatible transport protocol"$/);
  });

  it('no audio at all: 488 with Warning 304', () => {
    const videoOnly = fx.FREESWITCH.slice(0, fx.FREESWITCH.indexOf('m=audio')) + fx.FREESWITCH.slice(fx.FREESWITCH.indexOf('m=video'));
    const e = sdpError(() => parseSdp(videoOnly));
    expect(e.status).toBe(488);
    expect(e.warning).toBe('304 trunkline "Media type not available"');
  });

  it('unparseable: 400', () => {
    expect(sdpError(() => parseSdp('hello')).status).toBe(400);
    expect(sdpError(() => parseSdp('')).status).toBe(400);
    expect(sdpError(() => parseSdp(fx.TWILIO.replace(/^o=.*\r\n/m, ''))).status).toBe(400);
    expect(sdpError(() => parseSdp(fx.TWILIO.replace(/^c=.*\r\n/m, ''))).status).toBe(400);
  });

  it('a disabled (port 0) audio m-line is skipped for the next usable one', () => {
    const two = fx.withLine(fx.TWILIO, 'm=audio 13956 RTP/AVP 0 101', 'm=audio 0 RTP/AVP 0\r\nm=audio 14000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000');
    expect(parseSdp(two)).toMatchObject({ port: 14000, codec: 'PCMA' });
  });
});
