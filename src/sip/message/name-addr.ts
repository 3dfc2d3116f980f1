import { badRequest } from './sip-parse-error.js';
import { formatParams, parseParamsInto, quote } from './sip-params.js';
import { formatUri, parseUri } from './sip-uri.js';
import type { NameAddr, SipUri } from './types.js';

/**
 *   name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT        (RFC 3261 §25.1)
 *   display-name = *(token LWS) / quoted-string
 *   From / To / Contact / Route ... = ( name-addr / addr-spec ) *( SEMI param )
 *
 * RFC 3261 §20: "If the URI is not enclosed in angle brackets, any semicolon-delimited
 * parameters are header-parameters, not URI parameters", and a URI containing a comma,
 * question mark or semicolon MUST be enclosed in angle brackets.
 */
export function parseNameAddr(s: string): NameAddr {
  const str = s;
  const end = str.length;
  const i = skipWs(str, 0, end);
  if (i >= end) throw badRequest('Empty name-addr');
  const result: NameAddr = { uri: WILDCARD_URI, params: new Map() };
  if (str.charCodeAt(i) === 0x2a /* '*' */) {
    // Contact: "*" (§20.10), only with nothing but parameters after it
    const k = skipWs(str, i + 1, end);
    if (k === end || str.charCodeAt(k) === 0x3b) {
      result.wildcard = true;
      result.uri = { scheme: '', host: '*', params: new Map(), headers: new Map() };
      if (k < end) parseParamsInto(str, k, end, result.params);
      return result;
    }
  }
  let uriStart: number;
  let uriEnd: number;
  let after: number;
  if (str.charCodeAt(i) === 0x22) {
    // quoted-string display name with quoted-pair escapes (§25.1)
    let dn = '';
    let j = i + 1;
    for (;;) {
      if (j >= end) throw badRequest('Unterminated quoted string in display name');
      const c = str.charCodeAt(j);
      if (c === 0x5c) {
        if (j + 1 >= end) throw badRequest('Unterminated quoted string in display name');
        dn += str[j + 1] as string;
        j += 2;
      } else if (c === 0x22) {
        j++;
        break;
      } else {
        dn += str[j] as string;
        j++;
      }
    }
    result.displayName = dn;
    j = skipWs(str, j, end);
    if (str.charCodeAt(j) !== 0x3c) throw badRequest('Quoted display name not followed by <URI>');
    uriStart = j + 1;
    uriEnd = str.indexOf('>', uriStart);
    if (uriEnd === -1) throw badRequest('Unterminated <URI>');
    after = uriEnd + 1;
  } else {
    const lt = str.indexOf('<', i);
    if (lt !== -1) {
      // *(token LWS) display name: token chars and whitespace only (RFC 4475 §3.1.2.15 baddn)
      const dn = str.slice(i, lt).trim();
      for (let k = 0; k < dn.length; k++) {
        const c = dn.charCodeAt(k);
        if (!(isTokenChar(c) || c === 0x20 || c === 0x09)) throw badRequest('Invalid character in display name');
      }
      if (dn.length > 0) result.displayName = dn;
      uriStart = lt + 1;
      uriEnd = str.indexOf('>', uriStart);
      if (uriEnd === -1) throw badRequest('Unterminated <URI>');
      after = uriEnd + 1;
    } else {
      // addr-spec: the URI ends at the first ';' (what follows are header parameters)
      uriStart = i;
      const semi = str.indexOf(';', i);
      uriEnd = semi === -1 ? end : semi;
      while (uriEnd > uriStart && isWs(str.charCodeAt(uriEnd - 1))) uriEnd--;
      for (let k = uriStart; k < uriEnd; k++) {
        const c = str.charCodeAt(k);
        if (c === 0x3f || c === 0x2c || isWs(c)) throw badRequest('addr-spec with ?, comma or space must be enclosed in <>');
      }
      after = uriEnd;
    }
  }
  const inner = str.slice(uriStart, uriEnd);
  // RFC 4475 §3.1.2.14 badaspec: no whitespace inside the brackets around the URI
  if (inner.length === 0 || isWs(inner.charCodeAt(0)) || isWs(inner.charCodeAt(inner.length - 1))) {
    throw badRequest('Whitespace inside <URI>');
  }
  result.uri = parseUri(inner);
  if (after < end) parseParamsInto(str, after, end, result.params);
  return result;
}

const WILDCARD_URI: SipUri = { scheme: '', host: '*', params: new Map(), headers: new Map() };

function skipWs(s: string, i: number, end: number): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")  (§25.1) */
export function isTokenChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x21 || c === 0x25 || c === 0x2a || c === 0x5f ||
    c === 0x2b || c === 0x60 || c === 0x27 || c === 0x7e
  );
}

/** Always the name-addr form (`"Display" <uri>;params`), which is safe for every URI. */
export function formatNameAddr(n: NameAddr): string {
  if (n.wildcard === true) return `*${formatParams(n.params)}`;
  const dn = n.displayName !== undefined && n.displayName.length > 0 ? `${quote(n.displayName)} ` : '';
  return `${dn}<${formatUri(n.uri)}>${formatParams(n.params)}`;
}
