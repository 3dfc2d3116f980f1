import { badRequest } from './sip-parse-error.js';
import { formatParams, parseParamsInto } from './sip-params.js';
import { formatHost, isHostname, isIpv6, parsePort } from './sip-uri.js';
import type { Via } from './types.js';

/**
 *   via-parm      = sent-protocol LWS sent-by *( SEMI via-params )      (RFC 3261 §20.42, §25.1)
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport  (SLASH = SWS "/" SWS)
 *   sent-by       = host [ COLON port ]                                  (COLON = SWS ":" SWS)
 */
export function parseVia(s: string): Via {
  const end = s.length;
  let i = skipWs(s, 0, end);
  const [name, a] = token(s, i, end);
  i = expectSlash(s, a, end);
  const [version, b] = token(s, i, end);
  i = expectSlash(s, b, end);
  const [transport, c] = token(s, i, end);
  i = skipWs(s, c, end);
  if (i === c) throw badRequest('Via: missing whitespace before sent-by');
  const via: Via = { protocol: `${name.toUpperCase()}/${version}`, transport: transport.toUpperCase(), host: '', params: new Map() };
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close === -1) throw badRequest('Via: unterminated IPv6 reference');
    via.host = s.slice(i + 1, close);
    if (!isIpv6(via.host)) throw badRequest('Via: invalid IPv6 reference');
    i = close + 1;
  } else {
    const hs = i;
    while (i < end) {
      const ch = s.charCodeAt(i);
      if (ch === 0x3a || ch === 0x3b || ch === 0x20 || ch === 0x09) break;
      i++;
    }
    via.host = s.slice(hs, i);
    if (!isHostname(via.host)) throw badRequest('Via: invalid host');
  }
  i = skipWs(s, i, end);
  if (i < end && s.charCodeAt(i) === 0x3a) {
    i = skipWs(s, i + 1, end);
    const ps = i;
    while (i < end && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    via.port = parsePort(s.slice(ps, i));
  }
  if (i < end) parseParamsInto(s, i, end, via.params);
  return via;
}

function skipWs(s: string, i: number, end: number): number {
  while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  return i;
}

function token(s: string, i: number, end: number): [string, number] {
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x2f || c === 0x20 || c === 0x09 || c === 0x3b || c === 0x3a) break;
    i++;
  }
  if (i === start) throw badRequest('Via: malformed sent-protocol');
  return [s.slice(start, i), i];
}

function expectSlash(s: string, i: number, end: number): number {
  i = skipWs(s, i, end);
  if (s.charCodeAt(i) !== 0x2f) throw badRequest('Via: malformed sent-protocol');
  return skipWs(s, i + 1, end);
}

export function formatVia(v: Via): string {
  const port = v.port === undefined ? '' : `:${v.port}`;
  return `${v.protocol}/${v.transport} ${formatHost(v.host)}${port}${formatParams(v.params)}`;
}
