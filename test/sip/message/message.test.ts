import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  SipStreamFramer,
  createHeaders,
  createRequest,
  createResponse,
  formatNameAddr,
  formatUri,
  formatVia,
  generateBranch,
  generateCallId,
  generateTag,
  headerName,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseParams,
  parseUri,
  parseVia,
  reasonPhrase,
  serializeMessage,
  uriEquals,
} from '../../../src/sip/message/index.js';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));
const BASE = [
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds',
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
  'To: <sip:bob@biloxi.example.com>',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
];
const invite = (extra: string[] = [], body = ''): Buffer =>
  crlf(['INVITE sip:bob@biloxi.example.com SIP/2.0', ...BASE, 'CSeq: 314159 INVITE', ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body]);
function status(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof SipParseError) return e.status;
    throw e;
  }
  return 0;
}

describe('header names (RFC 3261 §7.3.3)', () => {
  it('expands compact forms and canonicalises case', () => {
    expect(headerName('v')).toBe('Via');
    expect(headerName('I')).toBe('Call-ID');
    expect(headerName('call-id')).toBe('Call-ID');
    expect(headerName('CSEQ')).toBe('CSeq');
    expect(headerName('www-authenticate')).toBe('WWW-Authenticate');
    expect(headerName('x-custom-thing')).toBe('X-Custom-Thing');
  });
});

describe('SipHeaders', () => {
  it('splits list headers outside quotes and <>; never splits Authorization or Date', () => {
    const h = createHeaders([
      ['Contact', '"Doe, John" <sip:j@x.com;a=b,c>;q=0.5, <sip:k@y.com>'],
      ['Authorization', 'Digest username="a", realm="b", nonce="c"'],
      ['Date', 'Sat, 13 Nov 2010 23:29:00 GMT'],
      ['Allow', 'INVITE, ACK'],
      ['allow', 'BYE'],
    ]);
    expect(h.getAll('m')).toEqual(['"Doe, John" <sip:j@x.com;a=b,c>;q=0.5', '<sip:k@y.com>']);
    expect(h.get('Contact')).toBe('"Doe, John" <sip:j@x.com;a=b,c>;q=0.5');
    expect(h.getAll('Authorization')).toEqual(['Digest username="a", realm="b", nonce="c"']);
    expect(h.get('Date')).toBe('Sat, 13 Nov 2010 23:29:00 GMT');
    expect(h.getAll('Allow')).toEqual(['INVITE', 'ACK', 'BYE']);
    expect(h.size).toBe(5);
  });

  it('set / append / prepend / delete / clone keep order', () => {
    const h = createHeaders([['Via', 'SIP/2.0/UDP a'], ['To', '<sip:b@b>'], ['Via', 'SIP/2.0/UDP c']]);
    h.prepend('v', 'SIP/2.0/UDP top');
    expect(h.getAll('Via')).toEqual(['SIP/2.0/UDP top', 'SIP/2.0/UDP a', 'SIP/2.0/UDP c']);
    const c = h.clone();
    h.set('Via', ['SIP/2.0/UDP x', 'SIP/2.0/UDP y']);
    expect([...h].map((f) => f.value)).toEqual(['SIP/2.0/UDP x', 'SIP/2.0/UDP y', '<sip:b@b>']);
    expect(c.getAll('Via').length).toBe(3);
    h.delete('t');
    expect(h.has('To')).toBe(false);
    h.append('X-A', '1');
    expect([...h].at(-1)).toEqual({ name: 'X-A', lname: 'x-a', value: '1' });
  });
});

describe('URIs (RFC 3261 §19.1)', () => {
  it('parses IPv6 references, ports, params and escaped headers', () => {
    const u = parseUri('sips:alice:secret@[2001:db8::10]:5070;transport=tcp;lr?subject=project%20x&priority=urgent');
    expect(u).toMatchObject({ scheme: 'sips', user: 'alice', password: 'secret', host: '2001:db8::10', port: 5070 });
    expect(u.params.get('lr')).toBeNull();
    expect(u.headers.get('subject')).toBe('project x');
    expect(parseUri(formatUri(u))).toEqual(u);
  });

  it('parses tel: URIs (RFC 3966)', () => {
    const u = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    expect(u).toMatchObject({ scheme: 'tel', host: '+1-201-555-0123' });
    expect(u.params.get('phone-context')).toBe('example.com');
    expect(formatUri(u)).toBe('tel:+1-201-555-0123;phone-context=example.com');
    expect(uriEquals(u, parseUri('tel:+12015550123;phone-context=example.com'))).toBe(true);
  });

  it('rejects garbage with 400', () => {
    for (const bad of ['sip:', 'sip:user@', 'sip:a b@c', 'sip:host:99999', 'sip:[::1', '<sip:a@b>', 'sip:%zz@h']) {
      expect(status(() => parseUri(bad))).toBe(400);
    }
  });

  it('compares per §19.1.4', () => {
    const eq = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b));
    // the equal pairs of §19.1.4
    expect(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp')).toBe(true);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com')).toBe(true);
    expect(eq('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x')).toBe(true);
    // the unequal pairs of §19.1.4
    expect(eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp')).toBe(false);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting')).toBe(false);
    expect(eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4')).toBe(false);
  });
});

describe('name-addr, Via, CSeq, params', () => {
  it('parses name-addr forms and formats them back', () => {
    const n = parseNameAddr('"Zoë \\"Z\\"" <sip:zoe@[2001:db8::1]:5070>;tag=abc;expires=60');
    expect(n.displayName).toBe('Zoë "Z"');
    expect(n.uri.host).toBe('2001:db8::1');
    expect(parseNameAddr(formatNameAddr(n))).toEqual(n);
    expect(parseNameAddr('*').wildcard).toBe(true);
    expect(parseNameAddr('tel:+15551234;tag=x').uri.scheme).toBe('tel');
  });

  it('parses Via with IPv6, rport flag and spaces around separators', () => {
    const v = parseVia('SIP / 2.0 / tcp [2001:db8::10] : 5070 ;branch=z9hG4bKx;rport;received=2001:db8::9');
    expect(v).toMatchObject({ protocol: 'SIP/2.0', transport: 'TCP', host: '2001:db8::10', port: 5070 });
    expect(v.params.get('rport')).toBeNull();
    expect(formatVia(v)).toBe('SIP/2.0/TCP [2001:db8::10]:5070;branch=z9hG4bKx;rport;received=2001:db8::9');
  });

  it('CSeq must be < 2^31', () => {
    expect(parseCSeq('2147483647 BYE')).toEqual({ seq: 2147483647, method: 'BYE' });
    expect(status(() => parseCSeq('2147483648 BYE'))).toBe(400);
    expect(status(() => parseCSeq('12BYE'))).toBe(400);
  });

  it('params keep quoted values, lower-case names', () => {
    expect([...parseParams(' ;Tag=A1 ; lr;reason="a;b"')]).toEqual([['tag', 'A1'], ['lr', null], ['reason', '"a;b"']]);
  });
});

describe('parseMessage validation', () => {
  it('parses a request, keeps the body as a view, expands compact names', () => {
    const m = parseMessage(invite(['c: application/sdp'], 'v=0\r\n'));
    expect(m.type).toBe('request');
    expect(m.body.toString()).toBe('v=0\r\n');
    expect([...m.headers].find((f) => f.lname === 'content-type')?.name).toBe('Content-Type');
  });

  it('SIP/3.0 → 505 with partial headers; bad method token → 400', () => {
    let err: unknown;
    try {
      parseMessage(crlf(['OPTIONS sip:a@b SIP/3.0', ...BASE, 'CSeq: 1 OPTIONS', '', '']));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SipParseError);
    expect((err as SipParseError).status).toBe(505);
    expect((err as SipParseError).partial?.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(status(() => parseMessage(crlf(['INV(TE sip:a@b SIP/2.0', ...BASE, 'CSeq: 1 INV(TE', '', ''])))).toBe(400);
  });

  it('bounds header count and size', () => {
    const many = Array.from({ length: 300 }, (_, i) => `X-H${i}: ${i}`);
    expect(status(() => parseMessage(invite(many)))).toBe(400);
    expect(status(() => parseMessage(invite(many), { maxHeaders: 400 }))).toBe(0);
    expect(status(() => parseMessage(invite([], 'x'.repeat(70_000))))).toBe(413);
    expect(status(() => parseMessage(invite([], 'x'.repeat(100)), { maxBytes: 200 }))).toBe(413);
  });

  it('bounds one header field: 413 naming it, answerable unless it is a field the answer copies', () => {
    const caught = (buf: Buffer): SipParseError => {
      try {
        parseMessage(buf);
      } catch (e) {
        return e as SipParseError;
      }
      throw new Error('parsed');
    };
    expect(status(() => parseMessage(invite([`X-Big: ${'a'.repeat(16_000)}`])))).toBe(0);
    const big = caught(invite([`X-Big: ${'a'.repeat(16_400)}`]));
    expect([big.status, big.reason]).toEqual([413, 'Header Field Too Large (X-Big, more than 16384 bytes)']);
    expect(big.partial?.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    // Folded continuation lines count towards their field.
    const folded = caught(invite(['X-Folded: start', ...Array.from({ length: 20 }, () => ` ${'b'.repeat(1000)}`)]));
    expect(folded.reason).toMatch(/^Header Field Too Large \(X-Folded/);
    // A 20 KB Subject is answerable (the answer does not copy it); a 20 KB To is not.
    expect(caught(invite([`Subject: ${'s'.repeat(20_000)}`])).partial).toBeDefined();
    const to = caught(crlf(['INVITE sip:bob@biloxi.example.com SIP/2.0', ...BASE.filter((l) => !l.startsWith('To:')), `To: <sip:${'t'.repeat(20_000)}@b>`, 'CSeq: 1 INVITE', '', '']));
    expect([to.status, to.partial]).toEqual([413, undefined]);
    expect(status(() => parseMessage(invite([`X-Big: ${'a'.repeat(2000)}`]), { maxFieldBytes: 1000 }))).toBe(413);
  });

  it('UDP: shorter Content-Length truncates, larger → 400 (§18.3)', () => {
    const buf = Buffer.concat([invite([], 'abcd'), Buffer.from('EXTRA')]);
    expect(parseMessage(buf, { datagram: true }).body.toString()).toBe('abcd');
    const short = invite([], 'abcd').subarray(0, -2);
    let err: unknown;
    try {
      parseMessage(short, { datagram: true });
    } catch (e) {
      err = e;
    }
    expect((err as SipParseError).reason).toBe('Content-Length larger than datagram');
  });

  it('status line: range 100-699, reason with spaces', () => {
    const r = parseMessage(crlf(['SIP/2.0 183 Session Progress', ...BASE, 'CSeq: 1 INVITE', '', '']));
    expect(r.type === 'response' && r.reason).toBe('Session Progress');
    expect(status(() => parseMessage(crlf(['SIP/2.0 099 Early', ...BASE, 'CSeq: 1 INVITE', '', ''])))).toBe(400);
    expect(status(() => parseMessage(crlf(['SIP/2.0 700 Late', ...BASE, 'CSeq: 1 INVITE', '', ''])))).toBe(400);
  });

  it('tel: Request-URI and UTF-8 display names', () => {
    const m = parseMessage(crlf(['INVITE tel:+15551234567 SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: "Ünïcödé 名前" <tel:+15550000>;tag=9', 'To: <tel:+15551234567>', 'Call-ID: c', 'CSeq: 1 INVITE', '', '']));
    expect(m.type === 'request' && m.uri.host).toBe('+15551234567');
    expect(parseNameAddr(m.headers.get('From')!).displayName).toBe('Ünïcödé 名前');
  });
});

describe('SipStreamFramer', () => {
  it('frames back-to-back messages split at every byte, skipping CRLF keep-alives', () => {
    const a = invite([], 'hello');
    const b = invite(['Subject: second']);
    const stream = Buffer.concat([Buffer.from('\r\n\r\n'), a, Buffer.from('\r\n'), b]);
    const f = new SipStreamFramer();
    const out: Buffer[] = [];
    let pings = 0;
    for (let i = 0; i < stream.length; i++) {
      out.push(...f.push(stream.subarray(i, i + 1)));
      if (f.pingReceived) pings++;
    }
    expect(out.map((x) => x.equals(a) || x.equals(b))).toEqual([true, true]);
    expect(pings).toBe(1);
    expect(f.pendingBytes).toBe(0);
  });

  it('returns several messages from one chunk, reports a ping', () => {
    const f = new SipStreamFramer();
    const out = f.push(Buffer.concat([invite(), invite(), Buffer.from('\r\n\r\n')]));
    expect(out.length).toBe(2);
    expect(f.pingReceived).toBe(true);
    expect(f.push(Buffer.from('\r\n')).length).toBe(0);
    expect(f.pingReceived).toBe(false);
  });

  it('missing Content-Length on a stream is treated as 0', () => {
    const msg = crlf(['OPTIONS sip:a@b SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', '', '']);
    expect(new SipStreamFramer().push(Buffer.concat([msg, msg])).length).toBe(2);
  });

  it('413 when headers never end or Content-Length is too large; memory stays bounded', () => {
    const f = new SipStreamFramer({ maxBytes: 4096 });
    const junk = Buffer.alloc(1000, 0x41);
    let code = 0;
    try {
      for (let i = 0; i < 10; i++) f.push(junk);
    } catch (e) {
      code = (e as SipParseError).status;
    }
    expect(code).toBe(413);
    expect(f.pendingBytes).toBeLessThanOrEqual(5000);
    expect(status(() => new SipStreamFramer({ maxBytes: 4096 }).push(invite(['Content-Length: 999999'])))).toBe(400);
    const big = crlf(['OPTIONS sip:a@b SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Content-Length: 999999', '', '']);
    expect(status(() => new SipStreamFramer({ maxBytes: 4096 }).push(big))).toBe(413);
  });
});

describe('builders', () => {
  it('createResponse copies Via/From/To/Call-ID/CSeq, adds the To tag, 100 copies Timestamp', () => {
    const m = parseMessage(invite(['Timestamp: 54', 'Via: SIP/2.0/UDP second;branch=z9hG4bK2']));
    if (m.type !== 'request') throw new Error('request expected');
    const ok = createResponse(m, 200, undefined, { toTag: 'tt1', headers: [['Contact', '<sip:bot@127.0.0.1>']] });
    expect(ok.reason).toBe('OK');
    expect(ok.headers.getAll('Via').length).toBe(2);
    expect(ok.headers.get('To')).toBe('<sip:bob@biloxi.example.com>;tag=tt1');
    expect(ok.headers.has('Timestamp')).toBe(false);
    const trying = createResponse(m, 100, undefined, { toTag: 'tt1' });
    expect(trying.headers.get('To')).toBe('<sip:bob@biloxi.example.com>');
    expect(trying.headers.get('Timestamp')).toBe('54');
    const again = parseMessage(serializeMessage(ok));
    expect(again.type === 'response' && again.status).toBe(200);
  });

  it('does not add a second tag', () => {
    const r = createRequest({ method: 'BYE', uri: 'sip:bob@b', headers: [['Via', 'SIP/2.0/UDP a;branch=z9hG4bK1'], ['From', '<sip:a@a>;tag=1'], ['To', '<sip:b@b>;tag=2'], ['Call-ID', 'c'], ['CSeq', '2 BYE']] });
    expect(createResponse(r, 200, 'OK', { toTag: 'zz' }).headers.get('To')).toBe('<sip:b@b>;tag=2');
    expect(serializeMessage(r).toString()).toContain('Content-Length: 0\r\n\r\n');
  });

  it('identifiers: branch magic cookie, ≥ 64 random bits, unique', () => {
    const b = new Set(Array.from({ length: 1000 }, () => generateBranch()));
    expect(b.size).toBe(1000);
    for (const x of b) expect(x).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
    expect(generateTag()).toMatch(/^[0-9a-f]{16}$/);
    expect(generateCallId('h.example')).toMatch(/^[0-9a-f]{32}@h\.example$/);
    expect(reasonPhrase(486)).toBe('Busy Here');
    expect(reasonPhrase(499)).toBe('Bad Request');
  });
});
