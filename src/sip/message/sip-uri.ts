import { SipParseError, badRequest } from './sip-parse-error.js';
import { formatParams, parseParamsInto } from './sip-params.js';
import { HEADER_CHARS, PASSWORD_CHARS, USER_CHARS, escapeUri, findBadUriChar, unescapeUri } from './uri-escape.js';
import type { SipParams, SipUri } from './types.js';

/**
 * SIP, SIPS and tel URIs.
 *
 *   SIP-URI  = "sip:" [ userinfo ] hostport uri-parameters [ headers ]     (RFC 3261 §19.1.1, §25.1)
 *   userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
 *   hostport = host [ ":" port ]     host = hostname / IPv4address / "[" IPv6address "]"
 *   tel URI  = "tel:" telephone-subscriber *( ";" par )                  (RFC 3966 §3)
 *
 * Any other scheme (RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc) parses as an opaque URI whose
 * `host` holds everything after the colon, so that the element above can answer 416.
 */
export function parseUri(s: string): SipUri {
  const str = s.trim();
  const colon = str.indexOf(':');
  if (colon <= 0) throw badRequest('URI without scheme');
  const scheme = str.slice(0, colon).toLowerCase();
  if (!isScheme(scheme)) throw badRequest('Invalid URI scheme');
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(str, scheme, colon + 1);
  const params: SipParams = new Map();
  if (scheme === 'tel') {
    const semi = str.indexOf(';', colon + 1);
    const host = semi === -1 ? str.slice(colon + 1) : str.slice(colon + 1, semi);
    if (host.length === 0) throw badRequest('Empty tel: number');
    if (findBadUriChar(str, colon + 1, str.length) !== -1) throw badRequest('Invalid character in tel: URI');
    if (semi !== -1) parseParamsInto(str, semi, str.length, params);
    return { scheme, host, params, headers: new Map() };
  }
  const rest = str.slice(colon + 1);
  if (rest.length === 0 || /[\s<>"]/.test(rest)) throw badRequest('Invalid URI');
  return { scheme, host: rest, params, headers: new Map() };
}

function isScheme(s: string): boolean {
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )   (RFC 3261 §25.1)
  const c0 = s.charCodeAt(0);
  if (!((c0 >= 0x61 && c0 <= 0x7a))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return false;
  }
  return true;
}

function parseSipUri(str: string, scheme: string, start: number): SipUri {
  const end = str.length;
  const bad = findBadUriChar(str, start, end);
  if (bad !== -1) throw badRequest('Invalid character in URI');
  // '@' is legal only as the userinfo terminator (escaped everywhere else, §25.1); the user
  // part itself may contain '?' and ';' (user-unreserved, RFC 4475 §3.1.1.2 intmeth).
  const at = str.indexOf('@', start);
  const uri: SipUri = { scheme, host: '', params: new Map(), headers: new Map() };
  let hostStart = start;
  if (at !== -1) {
    const pwColon = str.indexOf(':', start);
    if (pwColon !== -1 && pwColon < at) {
      uri.user = unescapeUri(str.slice(start, pwColon));
      uri.password = unescapeUri(str.slice(pwColon + 1, at));
    } else {
      uri.user = unescapeUri(str.slice(start, at));
    }
    if (uri.user.length === 0) throw badRequest('Empty user in URI');
    hostStart = at + 1;
  }
  const q = str.indexOf('?', hostStart);
  const limit = q === -1 ? end : q;
  let i = hostStart;
  if (str.charCodeAt(i) === 0x5b) {
    const close = str.indexOf(']', i);
    if (close === -1 || close > limit) throw badRequest('Unterminated IPv6 reference');
    uri.host = str.slice(i + 1, close);
    if (!isIpv6(uri.host)) throw badRequest('Invalid IPv6 reference');
    i = close + 1;
  } else {
    while (i < limit) {
      const c = str.charCodeAt(i);
      if (c === 0x3a || c === 0x3b) break;
      i++;
    }
    uri.host = str.slice(hostStart, i);
    if (!isHostname(uri.host)) throw badRequest('Invalid host in URI');
  }
  if (i < limit && str.charCodeAt(i) === 0x3a) {
    let j = i + 1;
    while (j < limit && str.charCodeAt(j) !== 0x3b) j++;
    uri.port = parsePort(str.slice(i + 1, j));
    i = j;
  }
  if (i < limit) {
    if (str.charCodeAt(i) !== 0x3b) throw badRequest('Invalid URI');
    parseParamsInto(str, i, limit, uri.params);
  }
  if (q !== -1) {
    for (const pair of str.slice(q + 1).split('&')) {
      if (pair.length === 0) continue;
      const eq = pair.indexOf('=');
      const name = unescapeUri(eq === -1 ? pair : pair.slice(0, eq));
      if (name.length === 0) throw badRequest('Empty URI header name');
      uri.headers.set(name, eq === -1 ? '' : unescapeUri(pair.slice(eq + 1)));
    }
  }
  return uri;
}

/** Port 0-65535, decimal digits only (§25.1 port = 1*DIGIT). */
export function parsePort(s: string): number {
  if (s.length === 0 || s.length > 5) throw badRequest('Invalid port');
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) throw badRequest('Invalid port');
    n = n * 10 + c;
  }
  if (n > 65535) throw badRequest('Invalid port');
  return n;
}

/** hostname / IPv4address: alphanumerics, '-', '.', and '_' (seen in the wild). */
export function isHostname(h: string): boolean {
  if (h.length === 0) return false;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** A loose IPv6 check (hex, ':' and an optional dotted IPv4 tail), enough to reject garbage. */
export function isIpv6(h: string): boolean {
  if (h.length < 2 || h.indexOf(':') === -1) return false;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x3a || c === 0x2e;
    if (!ok) return false;
  }
  return true;
}

/** Host text for the wire: IPv6 addresses go back into brackets. */
export function formatHost(host: string): string {
  return host.indexOf(':') === -1 ? host : `[${host}]`;
}

/** The URI's text (components escaped per §19.1.2). */
export function formatUri(u: SipUri): string {
  if (u.scheme !== 'sip' && u.scheme !== 'sips') {
    return u.scheme === 'tel' ? `tel:${u.host}${formatParams(u.params)}` : `${u.scheme}:${u.host}`;
  }
  let out = `${u.scheme}:`;
  if (u.user !== undefined) {
    out += escapeUri(u.user, USER_CHARS);
    if (u.password !== undefined) out += `:${escapeUri(u.password, PASSWORD_CHARS)}`;
    out += '@';
  }
  out += formatHost(u.host);
  if (u.port !== undefined) out += `:${u.port}`;
  if (u.params.size > 0) out += formatParams(u.params);
  if (u.headers.size > 0) {
    let sep = '?';
    for (const [k, v] of u.headers) {
      out += `${sep}${escapeUri(k, HEADER_CHARS)}=${escapeUri(v, HEADER_CHARS)}`;
      sep = '&';
    }
  }
  return out;
}

/** RFC 3261 §19.1.4: parameters that, present in either URI, must be present in both and match. */
const STRICT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'] as const;

function paramValue(v: string | null | undefined): string | null | undefined {
  return typeof v === 'string' ? unescapeSafe(v).toLowerCase() : v;
}

function unescapeSafe(s: string): string {
  try {
    return unescapeUri(s);
  } catch (e: unknown) {
    if (e instanceof SipParseError) return s;
    throw e;
  }
}

/** tel: numbers compare without visual separators (RFC 3966 §4). */
function telDigits(n: string): string {
  return n.replace(/[-.()]/g, '').toLowerCase();
}

/**
 * URI equality per RFC 3261 §19.1.4: scheme, user and password compared case-sensitively after
 * unescaping; host case-insensitively; an absent port differs from an explicit 5060; user, ttl,
 * method, maddr and transport must match when either side has them; other parameters only when
 * both do; headers must all be present in both and match.
 */
export function uriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme === 'tel') {
    if (telDigits(a.host) !== telDigits(b.host)) return false;
    if (a.params.size !== b.params.size) return false;
    for (const [k, v] of a.params) if (paramValue(b.params.get(k)) !== paramValue(v)) return false;
    return true;
  }
  if (a.scheme !== 'sip' && a.scheme !== 'sips') return a.host === b.host;
  if (a.user !== b.user || a.password !== b.password) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  if (a.port !== b.port) return false;
  for (const p of STRICT_PARAMS) {
    if (paramValue(a.params.get(p)) !== paramValue(b.params.get(p))) return false;
  }
  for (const [k, v] of a.params) {
    if (b.params.has(k) && paramValue(b.params.get(k)) !== paramValue(v)) return false;
  }
  if (a.headers.size !== b.headers.size) return false;
  const bh = new Map<string, string>();
  for (const [k, v] of b.headers) bh.set(k.toLowerCase(), v.toLowerCase());
  for (const [k, v] of a.headers) if (bh.get(k.toLowerCase()) !== v.toLowerCase()) return false;
  return true;
}
