/**
 * RFC 4475 torture messages (test/vectors/rfc4475/*.sip), each asserted against what the RFC
 * says an element does with it. Messages arrive as UDP datagrams unless the test says otherwise.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  SipStreamFramer,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  serializeMessage,
} from '../../../src/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'vectors', 'rfc4475');
const vector = (name: string): Buffer => readFileSync(join(dir, `${name}.sip`));
const parse = (name: string): SipMessage => parseMessage(vector(name), { datagram: true });
const req = (name: string): SipRequest => {
  const m = parse(name);
  if (m.type !== 'request') throw new Error(`${name} is not a request`);
  return m;
};
const res = (name: string): SipResponse => {
  const m = parse(name);
  if (m.type !== 'response') throw new Error(`${name} is not a response`);
  return m;
};
function rejects(name: string, status: number, reason?: RegExp): SipParseError {
  let caught: unknown;
  try {
    parse(name);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SipParseError);
  const err = caught as SipParseError;
  expect(err.status).toBe(status);
  if (reason !== undefined) expect(err.reason).toMatch(reason);
  return err;
}
function throwsStatus(fn: () => unknown, status: number): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SipParseError);
  expect((caught as SipParseError).status).toBe(status);
}

describe('RFC 4475 vectors on disk', () => {
  it('has one file per message of §3 (49 messages), all CRLF-terminated', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.sip'));
    expect(files.length).toBe(49);
    for (const f of files) {
      const b = readFileSync(join(dir, f));
      const head = b.subarray(0, b.indexOf('\r\n\r\n'));
      // no bare LF in the header block
      expect(head.toString('latin1').replace(/\r\n/g, '')).not.toContain('\n');
    }
  });
});

describe('RFC 4475 §3.1.1 valid messages: parse', () => {
  it('3.1.1.1 wsinv: folding, LWS around colons, compact forms, escaped quotes', () => {
    const m = req('wsinv');
    expect(m.method).toBe('INVITE');
    expect(m.uri.user).toBe('vivekg');
    expect(m.uri.params.has('unknownparam')).toBe(true);
    const to = parseNameAddr(m.headers.get('To')!);
    expect(to.displayName).toBeUndefined();
    expect(to.uri.host).toBe('chair-dnrc.example.com');
    expect(to.params.get('tag')).toBe('1918181833n');
    const from = parseNameAddr(m.headers.get('from')!);
    expect(from.displayName).toBe('J Rosenberg \\"');
    expect(from.params.get('tag')).toBe('98asjd8');
    expect(m.headers.get('Max-Forwards')).toBe('0068');
    expect(parseCSeq(m.headers.get('CSeq')!)).toEqual({ seq: 9, method: 'INVITE' });
    const vias = m.headers.getAll('Via').map(parseVia);
    expect(vias.map((v) => [v.transport, v.host, v.params.get('branch')])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.headers.get('Subject')).toBe('');
    expect(m.headers.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.headers.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    const contact = parseNameAddr(m.headers.get('m')!);
    expect(contact.displayName).toBe('Quoted string ""');
    expect([...contact.params]).toEqual([['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']]);
    expect(m.body.length).toBe(150);
  });

  it('3.1.1.2 intmeth: token method, unusual URI, quoted NUL/BEL/DEL, UTF-8 values', () => {
    const m = req('intmeth');
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(m.uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    const to = parseNameAddr(m.headers.get('To')!);
    expect(to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    const from = parseNameAddr(m.headers.get('From')!);
    expect(from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(from.params.get("fromparam''~+*_!.-%")).toBe('"работающий"');
    expect(from.params.get('tag')).toBe("_token~1'+`*%!-.");
    expect(m.headers.get('Call-ID')).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(m.headers.get("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
    expect(parseVia(m.headers.get('Via')!).params.get('branch')).toBe("z9hG4bK-.!%66*_+`'~");
  });

  it('3.1.1.3 esc01: %HEX escapes are unescaped in URI user parts only', () => {
    const m = req('esc01');
    expect(m.uri.user).toBe('sips:user@example.com');
    expect(parseNameAddr(m.headers.get('To')!).uri.user).toBe('user');
    expect(parseNameAddr(m.headers.get('From')!).uri.user).toBe('I have spaces');
    const c = parseNameAddr(m.headers.get('Contact')!);
    expect(c.uri.user).toBe('caller');
    // uri-parameters are kept escaped; "value%41" is not "valueA" (no recursive unescaping)
    expect(c.uri.params.get('n%61me')).toBe('v%61lue%25%34%31');
    expect(m.headers.get('Content-Type')).toBe('application/sdp');
  });

  it('3.1.1.4 escnull: escaped NULs in user parts do not shorten them', () => {
    const m = req('escnull');
    expect(parseNameAddr(m.headers.get('To')!).uri.user).toBe('null-\x00-null');
    const contacts = m.headers.getAll('Contact').map((c) => parseNameAddr(c).uri.user);
    expect(contacts).toEqual(['\x00', '\x00\x00']);
  });

  it('3.1.1.5 esc02: % is not an escape in methods, display names, branch or header names', () => {
    const m = req('esc02');
    expect(m.method).toBe('RE%47IST%45R');
    expect(parseNameAddr(m.headers.get('To')!).displayName).toBe('%Z%45');
    expect(m.headers.getAll('Contact')).toEqual(['<sip:alias1@host1.example.com>', '<sip:alias3@host3.example.com>']);
    expect(m.headers.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('3.1.1.6 lwsdisp: token display name with no LWS before < is accepted', () => {
    const from = parseNameAddr(req('lwsdisp').headers.get('From')!);
    expect(from.displayName).toBe('caller');
    expect(from.params.get('tag')).toBe('323');
  });

  it('3.1.1.7 longreq: long values and 34 Via values under many spellings of Via', () => {
    const m = req('longreq');
    const vias = m.headers.getAll('Via').map(parseVia);
    expect(vias.length).toBe(34);
    expect(vias[0]!.host).toBe('sip33.example.com');
    expect(vias[32]!.host).toBe('sip1.example.com');
    expect(vias[33]!.params.get('received')).toBe('192.0.2.5');
    const to = parseNameAddr(m.headers.get('To')!);
    expect(to.displayName).toBe(`I have a user name of ${'extreme'.repeat(10)} proportion`);
    expect(to.uri.port).toBe(6000);
    expect(to.uri.params.size).toBe(3);
    const from = parseNameAddr(m.headers.get('From')!);
    expect(from.params.get('tag')).toBe(`1${'298'.repeat(50)}2424`);
    expect(m.body.length).toBe(150);
  });

  it('3.1.1.8 dblreq: bytes after Content-Length in a datagram are ignored (§18.3)', () => {
    const m = req('dblreq');
    expect(m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
    expect(serializeMessage(m).toString('latin1')).not.toContain('INVITE');
  });

  it('3.1.1.9 semiuri: ; inside the user part of the Request-URI', () => {
    const m = req('semiuri');
    expect(m.uri.user).toBe('user;par=u@example.net');
    expect(m.uri.host).toBe('example.com');
    expect(m.uri.params.size).toBe(0);
    expect(m.headers.getAll('Accept').length).toBe(6);
  });

  it('3.1.1.10 transports: every transport token, including an unknown one', () => {
    expect(req('transports').headers.getAll('Via').map((v) => parseVia(v).transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  it('3.1.1.11 mpart01: binary multipart body with NUL and CR octets framed by Content-Length', () => {
    const m = req('mpart01');
    expect(m.body.length).toBe(553);
    expect(m.body.includes(0x00)).toBe(true);
    expect(m.body.subarray(m.body.length - 24).toString('latin1')).toBe('\r\n--7a9cbec02ceef655--\r\n');
    // and over a stream in 7-byte chunks
    const framer = new SipStreamFramer();
    const bytes = vector('mpart01');
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) out.push(...framer.push(bytes.subarray(i, i + 7)));
    expect(out.length).toBe(1);
    expect(out[0]!.equals(bytes)).toBe(true);
  });

  it('3.1.1.12 unreason: UTF-8 reason phrase', () => {
    const m = res('unreason');
    expect(m.status).toBe(200);
    expect(m.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
  });

  it('3.1.1.13 noreason: empty reason phrase after the required SP', () => {
    const m = res('noreason');
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
  });
});

describe('RFC 4475 §3.1.2 invalid messages', () => {
  it('3.1.2.1 badinv01: empty Via parameters → 400 (top Via is validated at parse)', () => {
    rejects('badinv01', 400, /Via/);
    throwsStatus(() => parseNameAddr('"Joe" <sip:joe@example.org>;;;;'), 400);
  });

  it('3.1.2.2 clerr: Content-Length larger than the datagram → 400; on a stream the framer waits', () => {
    rejects('clerr', 400, /Content-Length larger than datagram/);
    const framer = new SipStreamFramer();
    expect(framer.push(vector('clerr'))).toEqual([]);
    expect(framer.pendingBytes).toBe(vector('clerr').length);
  });

  it('3.1.2.3 ncl: negative Content-Length → 400 (and a stream framer refuses it)', () => {
    rejects('ncl', 400, /Content-Length/);
    throwsStatus(() => new SipStreamFramer().push(vector('ncl')), 400);
  });

  it('3.1.2.4 scalar02: CSeq ≥ 2^31 and Max-Forwards 300 → 400', () => {
    rejects('scalar02', 400, /CSeq/);
  });

  it('3.1.2.5 scalarlg: response with overlarge CSeq → rejected (the element drops it)', () => {
    rejects('scalarlg', 400, /CSeq/);
  });

  it('3.1.2.6 quotbal: unterminated quote in To display name → 400', () => {
    rejects('quotbal', 400, /To/);
  });

  it('3.1.2.7 ltgtruri: Request-URI in <> → 400', () => {
    rejects('ltgtruri', 400, /Request-URI/);
  });

  it('3.1.2.8 lwsruri: LWS inside the Request-URI → 400', () => {
    rejects('lwsruri', 400);
  });

  it('3.1.2.9 lwsstart: several SP between Request-Line elements → 400 (we choose to reject)', () => {
    rejects('lwsstart', 400, /Request-Line/);
  });

  it('3.1.2.10 trws: SP after SIP-Version → 400 (we choose to reject)', () => {
    rejects('trws', 400, /Request-Line/);
  });

  it('3.1.2.11 escruri: escaped headers in the Request-URI → 400', () => {
    rejects('escruri', 400, /Request-URI/);
  });

  it('3.1.2.12 baddate: non-GMT Date → tolerated (Date is not interpreted by this layer)', () => {
    expect(req('baddate').headers.get('Date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
  });

  it('3.1.2.13 regbadct: addr-spec Contact with ?headers → message parses (Contact is lazy), parseNameAddr → 400', () => {
    const m = req('regbadct');
    throwsStatus(() => parseNameAddr(m.headers.get('Contact')!), 400);
  });

  it('3.1.2.14 badaspec: spaces inside <addr-spec> → message parses (To is checked structurally only), parseNameAddr → 400', () => {
    const m = req('badaspec');
    throwsStatus(() => parseNameAddr(m.headers.get('To')!), 400);
  });

  it('3.1.2.15 baddn: unquoted display name with a comma → 400', () => {
    rejects('baddn', 400, /From|To/);
  });

  it('3.1.2.16 badvers: SIP/7.0 → 505 with headers to build the response', () => {
    const err = rejects('badvers', 505);
    expect(err.partial?.method).toBe('OPTIONS');
    expect(err.partial?.headers.get('Call-ID')).toBe('badvers.31417@c.example.com');
  });

  it('3.1.2.17 mismatch01: CSeq method differs from the Request-Line → 400', () => {
    const err = rejects('mismatch01', 400, /CSeq/);
    expect(err.partial?.headers.get('CSeq')).toBe('8 INVITE');
  });

  it('3.1.2.18 mismatch02: unknown method with CSeq mismatch → 400 (the RFC also allows 501)', () => {
    rejects('mismatch02', 400, /CSeq/);
  });

  it('3.1.2.19 bigcode: status code 4294967301 → rejected (dropped)', () => {
    rejects('bigcode', 400, /status/);
  });
});

describe('RFC 4475 §3.2-§3.4 transaction, application layer and compatibility messages', () => {
  it('3.2.1 badbranch: bare magic cookie branch parses; the transaction layer decides', () => {
    expect(parseVia(req('badbranch').headers.get('Via')!).params.get('branch')).toBe('z9hG4bK');
  });

  it('3.3.1 insuf: missing To, From, Call-ID → 400', () => {
    rejects('insuf', 400, /Missing/);
  });

  it('3.3.2 unkscm: unknown Request-URI scheme parses as opaque (the UA answers 416)', () => {
    const m = req('unkscm');
    expect(m.uri.scheme).toBe('nobodyknowsthisscheme');
    expect(m.uri.host).toBe('totallyopaquecontent');
  });

  it('3.3.3 novelsc: known but atypical scheme parses as opaque', () => {
    expect(req('novelsc').uri.scheme).toBe('soap.beep');
  });

  it('3.3.4 unksm2: unknown schemes in To/From/Contact parse', () => {
    const m = req('unksm2');
    expect(parseNameAddr(m.headers.get('To')!).uri.scheme).toBe('isbn');
    expect(parseNameAddr(m.headers.get('From')!).uri.scheme).toBe('http');
    expect(parseNameAddr(m.headers.get('Contact')!).uri.scheme).toBe('name');
  });

  it('3.3.5 bext01: Require/Proxy-Require lists split', () => {
    const m = req('bext01');
    expect(m.headers.getAll('Require')).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
    expect(m.headers.getAll('Proxy-Require').length).toBe(2);
  });

  it('3.3.6 invut: unknown Content-Type parses (the UA answers 415)', () => {
    expect(req('invut').headers.get('Content-Type')).toBe('application/unknownformat');
  });

  it('3.3.7 regaut01: unknown Authorization scheme is kept whole', () => {
    expect(req('regaut01').headers.getAll('Authorization')).toEqual(['NoOneKnowsThisScheme opaque-data=here']);
  });

  it('3.3.8 multi01: several values in single-value headers → 400', () => {
    rejects('multi01', 400, /Multiple/);
  });

  it('3.3.9 mcl01: several Content-Length values → 400 (datagram and stream)', () => {
    rejects('mcl01', 400, /Content-Length/);
    throwsStatus(() => new SipStreamFramer().push(vector('mcl01')), 400);
  });

  it('3.3.10 bcast: response with a broadcast Via parses (the element must not send there)', () => {
    expect(parseVia(res('bcast').headers.getAll('Via')[1]!).host).toBe('255.255.255.255');
  });

  it('3.3.11 zeromf: Max-Forwards 0 parses (OPTIONS answered by the UA)', () => {
    expect(req('zeromf').headers.get('Max-Forwards')).toBe('0');
  });

  it('3.3.12 cparam01: parameters after an addr-spec Contact are header parameters', () => {
    const c = parseNameAddr(req('cparam01').headers.get('Contact')!);
    expect(c.params.has('unknownparam')).toBe(true);
    expect(c.uri.params.size).toBe(0);
  });

  it('3.3.13 cparam02: parameters inside <> are URI parameters', () => {
    const c = parseNameAddr(req('cparam02').headers.get('Contact')!);
    expect(c.uri.params.has('unknownparam')).toBe(true);
    expect(c.params.size).toBe(0);
  });

  it('3.3.14 regescrt: escaped Route header inside a bracketed Contact URI', () => {
    const c = parseNameAddr(req('regescrt').headers.get('Contact')!);
    expect(c.uri.headers.get('Route')).toBe('<sip:sip.example.com>');
  });

  it('3.3.15 sdp01: Accept without SDP parses (the UA answers 406/415)', () => {
    expect(req('sdp01').headers.get('Accept')).toBe('text/nobodyKnowsThis');
  });

  it('3.4.1 inv2543: RFC 2543 syntax (no Max-Forwards, no branch, no Content-Length) parses over UDP', () => {
    const m = req('inv2543');
    expect(m.headers.has('Max-Forwards')).toBe(false);
    expect(m.body.toString('latin1').startsWith('v=0')).toBe(true);
    expect(parseUri(m.headers.get('To')!).params.get('user')).toBe('phone');
  });
});

describe('valid vectors round-trip through the serializer', () => {
  const valid = ['wsinv', 'intmeth', 'esc01', 'escnull', 'esc02', 'lwsdisp', 'longreq', 'dblreq', 'semiuri', 'transports', 'mpart01', 'unreason', 'noreason', 'badbranch', 'bcast', 'cparam01', 'regescrt', 'inv2543'];
  for (const name of valid) {
    it(`${name}: parse(serialize(parse(x))) keeps headers and body`, () => {
      const a = parse(name);
      const b = parseMessage(serializeMessage(a));
      expect([...b.headers].map((f) => [f.lname, f.value])).toEqual([...a.headers].map((f) => [f.lname, f.value]).concat(a.headers.has('Content-Length') ? [] : [['content-length', String(a.body.length)]]));
      expect(b.body.equals(a.body)).toBe(true);
    });
  }
});
