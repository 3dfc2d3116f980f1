import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipParseError, SipStreamFramer, parseMessage, serializeMessage } from '../../../src/sip/message/index.js';

const token = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}$/);
const host = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}$/),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const user = fc.stringMatching(/^[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,12}$/);
const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/).filter((v) => !v.includes(','));
const extName = fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/);

/** A well-formed request or response in canonical form (long names, ": ", Content-Length last). */
const message = fc
  .record({
    isRequest: fc.boolean(),
    method: token,
    status: fc.integer({ min: 100, max: 699 }),
    reason: fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}$/),
    user,
    host,
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    viaHosts: fc.array(host, { minLength: 1, maxLength: 3 }),
    branch: fc.stringMatching(/^[A-Za-z0-9]{4,16}$/),
    tag: fc.stringMatching(/^[A-Za-z0-9]{1,10}$/),
    callId: fc.stringMatching(/^[A-Za-z0-9.@-]{1,30}$/),
    seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    display: fc.option(fc.string({ maxLength: 12 }).filter((s) => [...s].every((ch) => ch.charCodeAt(0) >= 0x20 && ch !== '"' && ch !== '\\' && ch !== '\x7f')), { nil: undefined }),
    extra: fc.array(fc.tuple(extName, headerValue), { maxLength: 6 }),
    body: fc.uint8Array({ maxLength: 300 }),
  })
  .map((r) => {
    const uri = `sip:${r.user}@${r.host}${r.port === undefined ? '' : `:${r.port}`}`;
    const start = r.isRequest ? `${r.method} ${uri} SIP/2.0` : `SIP/2.0 ${r.status} ${r.reason}`;
    const lines = [
      start,
      ...r.viaHosts.map((h, i) => `Via: SIP/2.0/UDP ${h};branch=z9hG4bK${r.branch}${i}`),
      `From: ${r.display === undefined ? '' : `"${r.display}" `}<sip:a@example.com>;tag=${r.tag}`,
      `To: <${uri}>`,
      `Call-ID: ${r.callId}`,
      `CSeq: ${r.seq} ${r.isRequest ? r.method : 'INVITE'}`,
      ...r.extra.map(([n, v]) => `${n}: ${v}`),
      `Content-Length: ${r.body.length}`,
      '',
      '',
    ];
    return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), Buffer.from(r.body)]);
  });

function onlySipParseError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
}

describe('parser properties (fast-check)', () => {
  it('serialize(parse(x)) === x for canonical valid messages (datagram and stream)', () => {
    fc.assert(
      fc.property(message, (x) => {
        expect(serializeMessage(parseMessage(x, { datagram: true })).equals(x)).toBe(true);
        const framed = new SipStreamFramer().push(x);
        expect(framed.length).toBe(1);
        expect(serializeMessage(parseMessage(framed[0]!)).equals(x)).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  it('truncations and byte flips of valid messages throw nothing but SipParseError', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (x, cut, at, byte) => {
        onlySipParseError(() => parseMessage(x.subarray(0, cut % (x.length + 1)), { datagram: true }));
        const y = Buffer.from(x);
        y[at % y.length] = byte;
        onlySipParseError(() => parseMessage(y, { datagram: true }));
        onlySipParseError(() => new SipStreamFramer().push(y));
      }),
      { numRuns: 700 },
    );
  });

  it('random bytes throw nothing but SipParseError (parser and framer)', () => {
    const sipish = fc.array(fc.constantFrom('INVITE ', 'SIP/2.0', ' ', '\r\n', ':', ';', ',', '"', '<', '>', 'Via', 'v', 'l', 'Content-Length', '5', 'sip:', '@', '[', ']', '%', '\t'), { maxLength: 60 }).map((a) => Buffer.from(a.join('')));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), sipish), (b) => {
        onlySipParseError(() => parseMessage(b, { datagram: true }));
        onlySipParseError(() => parseMessage(b));
        onlySipParseError(() => new SipStreamFramer({ maxBytes: 256 }).push(b));
      }),
      { numRuns: 700 },
    );
  });
});
