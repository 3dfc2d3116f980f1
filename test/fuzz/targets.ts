/**
 * Fuzz targets shared by the short property runs in `npm test` (test/fuzz/*.test.ts) and the
 * nightly-style 1,000,000-case run (`npm run fuzz`, scripts/fuzz.ts). Each target is a
 * fast-check arbitrary of hostile inputs plus a check that throws `FuzzFailure` when the unit
 * under test does anything but succeed or fail in its typed way:
 *
 * - SIP: parseMessage and SipStreamFramer throw SipParseError (status 400/413/505) or nothing;
 * - SDP: parseSdp and LocalSdpSession.answer throw SdpError or nothing;
 * - RTP: RtpPacketView.parse returns null or one of RTP_MALFORMED_REASONS, and a parsed view
 *   reads back in bounds;
 * - RTCP: RtcpSession.handle returns a boolean;
 * - DTMF: DtmfReceiver.push never throws and only reports digits 0-16 with sane durations.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { RTP_MALFORMED_REASONS, RtcpSession, RtpPacketView, RtpReceiveStats, DtmfReceiver } from '../../src/rtp/index.js';
import { SipParseError, SipStreamFramer, parseMessage } from '../../src/sip/message/index.js';
import { LocalSdpSession, SdpError, parseSdp } from '../../src/sip/sdp/index.js';
import { FakeClock } from '../../src/shared/index.js';

export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export interface FuzzTarget<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws FuzzFailure (or lets an untyped error escape) when the property is broken. */
  check(input: T): void;
}

// ---- corpus ----------------------------------------------------------------------------------

/** The repository root (this file also runs compiled, from dist/test/fuzz, under `npm run fuzz`). */
function repoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

const VECTORS = join(repoRoot(import.meta.dirname), 'test/vectors/rfc4475');
const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

const INVITE = crlf([
  'INVITE sip:bot@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: <sip:bot@127.0.0.1>',
  'From: "Alice" <sip:alice@192.0.2.10>;tag=1928301774',
  'Call-ID: a84b4c76e66710@192.0.2.10',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.10:5060>',
  'Supported: timer, replaces',
  'Session-Expires: 1800;refresher=uac',
  'Content-Type: application/sdp',
  'Content-Length: 131',
  '',
  'v=0',
  'o=- 1 1 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 20000 RTP/AVP 0 8 101',
  'a=rtpmap:101 telephone-event/8000',
]);

function sipCorpus(): Buffer[] {
  const files = readdirSync(VECTORS).filter((f) => f.endsWith('.sip')).sort();
  return [Buffer.from(INVITE), ...files.map((f) => readFileSync(join(VECTORS, f)))];
}

export const SDP_CORPUS: readonly string[] = [
  crlf(['v=0', 'o=root 1467453587 1467453587 IN IP4 54.172.60.1', 's=Twilio Media Gateway', 'c=IN IP4 54.172.60.1', 't=0 0', 'm=audio 13956 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=maxptime:150', 'a=sendrecv']),
  crlf(['v=0', 'o=Telnyx 1 1 IN IP4 192.76.120.10', 's=Telnyx', 'c=IN IP4 192.76.120.10', 't=0 0', 'm=audio 18448 RTP/AVP 0 8 9 18 101', 'a=rtpmap:18 G729/8000', 'a=fmtp:18 annexb=no', 'a=rtcp:18449 IN IP4 192.76.120.10', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20']),
  crlf(['v=0', 'o=- 2 2 IN IP6 2001:db8::1', 's=-', 'c=IN IP6 2001:db8::1', 't=0 0', 'm=audio 40000 RTP/AVP 96 8', 'a=rtpmap:96 PCMU/8000', 'a=rtcp-mux', 'a=recvonly']),
  crlf(['v=0', 'o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com', 's=', 'c=IN IP4 host.atlanta.example.com', 't=0 0', 'm=audio 49170 RTP/AVP 0 8 97', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:97 iLBC/8000', 'm=video 51372 RTP/AVP 31 32', 'a=rtpmap:31 H261/90000', 'a=rtpmap:32 MPV/90000']),
  crlf(['v=0', 'o=- 3 3 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 30000 RTP/SAVP 0', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz', 'm=audio 0 RTP/AVP 0']),
];

// ---- mutation --------------------------------------------------------------------------------

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice-token'; at: number; token: string };

/** Bytes that break SIP/SDP framing in interesting ways. */
const TOKENS = ['\r\n', '\r\n\r\n', '\n', '\r', ':', ';', ',', '<', '>', '"', '\\', '%', '%00', '\0', ' ', '\t', 'SIP/2.0', 'Content-Length: 999999\r\n', 'Content-Length: -1\r\n', 'Via: \r\n', ';branch=', '=', 'm=audio 0 RTP/AVP\r\n', 'a=rtpmap:0\r\n', 'c=IN IP4\r\n', 'm=audio 70000 RTP/AVP 0\r\n', '\xff\xfe'];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice-token' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
);

export function mutate(base: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'flip':
        if (at < b.length) b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'splice-token':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.token, 'latin1'), b.subarray(at)]);
        break;
    }
  }
  return b;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 8 });

function mutatedFrom(corpus: readonly Uint8Array[]): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.constantFrom(...corpus), mutations).map(([base, ms]) => mutate(base, ms));
}

// ---- SIP -------------------------------------------------------------------------------------

const SIP_STATUSES = new Set([400, 413, 505]);

function expectSipParseError(err: unknown, what: string): void {
  if (!(err instanceof SipParseError)) throw new FuzzFailure(`${what} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
  if (!SIP_STATUSES.has(err.status)) throw new FuzzFailure(`${what}: SipParseError with status ${err.status}`);
}

export const SIP_MESSAGE: FuzzTarget<{ data: Buffer; datagram: boolean }> = {
  name: 'sip-message (parseMessage: random bytes + mutated RFC 4475 / INVITE)',
  arbitrary: fc.record({
    data: fc.oneof(
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
      { weight: 4, arbitrary: mutatedFrom(sipCorpus()) },
    ),
    datagram: fc.boolean(),
  }),
  check({ data, datagram }) {
    try {
      const m = parseMessage(data, { datagram, maxBytes: 65_536, maxHeaders: 256 });
      // A parsed message must be readable without surprises.
      for (const f of m.headers) void f.value.length;
      if (m.type === 'request' && typeof m.method !== 'string') throw new FuzzFailure('request without method');
    } catch (err) {
      if (err instanceof FuzzFailure) throw err;
      expectSipParseError(err, 'parseMessage');
    }
  },
};

export const SIP_STREAM: FuzzTarget<{ chunks: Buffer[] }> = {
  name: 'sip-stream (SipStreamFramer.push + parseMessage on arbitrary chunking)',
  arbitrary: fc
    .tuple(fc.array(fc.oneof(mutatedFrom(sipCorpus()), fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a))), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }))
    .map(([messages, cuts]) => {
      const all = Buffer.concat(messages);
      const chunks: Buffer[] = [];
      let off = 0;
      for (let i = 0; off < all.length; i++) {
        const n = cuts[i % cuts.length] ?? 1;
        chunks.push(all.subarray(off, off + n));
        off += n;
      }
      return { chunks };
    }),
  check({ chunks }) {
    const framer = new SipStreamFramer({ maxBytes: 8192, maxHeaders: 256 });
    let total = 0;
    for (const c of chunks) {
      let frames: Buffer[];
      try {
        frames = framer.push(c);
      } catch (err) {
        expectSipParseError(err, 'SipStreamFramer.push');
        return; // the connection would be closed here
      }
      for (const f of frames) {
        total += f.length;
        if (f.length > 8192) throw new FuzzFailure(`framer emitted ${f.length} bytes over its 8192 limit`);
        try {
          parseMessage(f, { datagram: false, maxBytes: 8192, maxHeaders: 256 });
        } catch (err) {
          expectSipParseError(err, 'parseMessage(stream frame)');
        }
      }
    }
    void total;
  },
};

// ---- SDP -------------------------------------------------------------------------------------

const sdpCorpus = SDP_CORPUS.map((s) => Buffer.from(s, 'latin1'));

export const SDP: FuzzTarget<string> = {
  name: 'sdp (parseSdp + LocalSdpSession.answer on mutated offers)',
  arbitrary: fc.oneof(
    { weight: 4, arbitrary: mutatedFrom(sdpCorpus).map((b) => b.toString('latin1')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom('v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 'c=IN IP6 ::1', 't=0 0', 'm=audio 1 RTP/AVP 0', 'm=audio 0 RTP/AVP 8', 'm=video 2 RTP/AVP 31', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:96 PCMA/8000', 'a=rtcp-mux', 'a=ptime:0', 'a=ptime:99999', 'a=fmtp:101 0-16', 'a=sendonly', 'a=inactive', 'b=AS:64', 'x'), { maxLength: 20 }).map((ls) => crlf(ls)),
    },
  ),
  check(sdp) {
    try {
      parseSdp(sdp);
    } catch (err) {
      if (!(err instanceof SdpError)) throw new FuzzFailure(`parseSdp threw ${String(err)}`, { cause: err });
    }
    const session = new LocalSdpSession({ address: '127.0.0.1' });
    try {
      const { sdp: answer } = session.answer(sdp, { address: '127.0.0.1', port: 40_000, codecPreference: 'offerer' });
      // Our answer must itself be a valid description we can read back.
      parseSdp(answer);
    } catch (err) {
      if (!(err instanceof SdpError)) throw new FuzzFailure(`LocalSdpSession.answer threw ${String(err)}`, { cause: err });
    }
  },
};

// ---- RTP / RTCP / DTMF -----------------------------------------------------------------------

const rtpValid = fc
  .record({
    version: fc.constantFrom(2, 2, 2, 0, 1, 3),
    padding: fc.boolean(),
    extension: fc.boolean(),
    cc: fc.integer({ min: 0, max: 15 }),
    marker: fc.boolean(),
    pt: fc.integer({ min: 0, max: 127 }),
    rest: fc.uint8Array({ maxLength: 200 }),
  })
  .map((r) => {
    const b = Buffer.alloc(12 + r.rest.length);
    b[0] = (r.version << 6) | (r.padding ? 0x20 : 0) | (r.extension ? 0x10 : 0) | r.cc;
    b[1] = (r.marker ? 0x80 : 0) | r.pt;
    b.set(r.rest, 12);
    return b;
  });

const view = new RtpPacketView();
const reasons = new Set<string>(RTP_MALFORMED_REASONS);

export const RTP: FuzzTarget<{ data: Uint8Array; offset: number }> = {
  name: 'rtp (RtpPacketView.parse)',
  arbitrary: fc.record({ data: fc.oneof(fc.uint8Array({ maxLength: 300 }), rtpValid), offset: fc.integer({ min: 0, max: 16 }) }),
  check({ data, offset }) {
    const o = Math.min(offset, data.length);
    const reason = view.parse(data, o, data.length - o);
    if (reason !== null) {
      if (!reasons.has(reason)) throw new FuzzFailure(`unknown reason ${String(reason)}`);
      return;
    }
    const d = view.dump();
    if (view.payloadLength < 0 || view.payloadOffset + view.payloadLength > data.length) throw new FuzzFailure(`payload out of bounds: ${view.payloadOffset}+${view.payloadLength} > ${data.length}`);
    for (let i = 0; i < view.payloadLength; i++) void view.payloadByte(i);
    for (let i = 0; i < d.csrcs.length; i++) void view.csrc(i);
  },
};

function rtcpCorpus(): Uint8Array[] {
  const clock = new FakeClock();
  const s = new RtcpSession({ ssrc: 0x11223344, cname: 'fuzz@trunkline', clock, random: () => 0.5 });
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(512);
  const receiver = new RtpReceiveStats();
  for (let i = 0; i < 50; i++) if (i % 7 !== 3) receiver.update(0x55667788, 1000 + i, 160 * i, 160 * i + (i % 5), 160);
  for (const [sender, bye] of [[null, false], [{ rtpTimestamp: 1000, packetCount: 50, octetCount: 8000 }, false], [null, true]] as const) {
    const n = s.buildReport(buf, sender, receiver, bye, bye ? 'going away' : undefined);
    out.push(buf.slice(0, n));
  }
  return out;
}

export const RTCP: FuzzTarget<Uint8Array> = {
  name: 'rtcp (RtcpSession.handle on random + mutated SR/RR/SDES/BYE)',
  arbitrary: fc.oneof(fc.uint8Array({ maxLength: 300 }), mutatedFrom(rtcpCorpus()).map((b) => new Uint8Array(b))),
  check(data) {
    const s = new RtcpSession({ ssrc: 1, cname: 'x', clock: new FakeClock(), random: () => 0.5 });
    const r = s.handle(data, 0, data.length);
    if (typeof r !== 'boolean') throw new FuzzFailure('handle returned a non-boolean');
  },
};

/** RFC 4733 §3.2 events 0-16: 0-9, *, #, A-D, flash. */
const DIGITS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D', '!', 'flash']);

interface DtmfPacket {
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
  dtMs: number;
}

const dtmfPacket: fc.Arbitrary<DtmfPacket> = fc.record({
  timestamp: fc.oneof(fc.constantFrom(0, 160, 320, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
  marker: fc.boolean(),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 8 }),
    fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean(), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 0xffff })).map(([ev, end, vol, dur]) => Uint8Array.of(ev, (end ? 0x80 : 0) | vol, dur >> 8, dur & 0xff)),
  ),
  dtMs: fc.integer({ min: 0, max: 2000 }),
});

export const DTMF: FuzzTarget<DtmfPacket[]> = {
  name: 'dtmf (DtmfReceiver.push on RFC 4733 packet sequences)',
  arbitrary: fc.array(dtmfPacket, { minLength: 1, maxLength: 30 }),
  check(packets) {
    let now = 0;
    const r = new DtmfReceiver((e) => {
      if (!DIGITS.has(e.digit)) throw new FuzzFailure(`digit ${JSON.stringify(e.digit)} reported`);
      // 16 bits of duration at 8 kHz is 8.2 s per segment; long presses span segments (§2.5.2.3).
      if (!(e.durationMs >= 0 && e.durationMs < 3_600_000)) throw new FuzzFailure(`duration ${e.durationMs} reported`);
    });
    for (const p of packets) {
      now += p.dtMs;
      r.push(p.timestamp, p.marker, p.payload, 0, p.payload.length, now);
    }
    if (r.stats.packets !== packets.length) throw new FuzzFailure('packets miscounted');
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ALL_TARGETS: readonly FuzzTarget<any>[] = [SIP_MESSAGE, SIP_STREAM, SDP, RTP, RTCP, DTMF];
