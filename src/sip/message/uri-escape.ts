import { badRequest } from './sip-parse-error.js';

/**
 * RFC 3261 §19.1.2 / §25.1 escaping. Unescaping decodes `%HH` octets and reads them as UTF-8;
 * escaping percent-encodes every character outside the component's allowed set.
 */

/** Unescapes `%HH` sequences; throws SipParseError(400) on a malformed escape. */
export function unescapeUri(s: string): string {
  if (s.indexOf('%') === -1) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h < 0 || l < 0) throw badRequest('Malformed escape in URI');
      bytes.push(h * 16 + l);
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(s[i] as string, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function makeSet(extra: string): Uint8Array {
  const set = new Uint8Array(128);
  const base = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' + "-_.!~*'()";
  for (const ch of base + extra) set[ch.charCodeAt(0)] = 1;
  return set;
}

/** user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? / */
export const USER_CHARS = makeSet('&=+$,;?/');
/** password = *( unreserved / escaped / & = + $ , ) */
export const PASSWORD_CHARS = makeSet('&=+$,');
/** hname / hvalue: unreserved / escaped / hnv-unreserved ([ ] / ? : + $) */
export const HEADER_CHARS = makeSet('[]/?:+$');

const HEX = '0123456789ABCDEF';

/** Percent-encodes the UTF-8 octets of every character not in `allowed`. */
export function escapeUri(s: string, allowed: Uint8Array): string {
  let clean = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || allowed[c] !== 1) {
      clean = false;
      break;
    }
  }
  if (clean) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c < 128 && allowed[c] === 1) {
      out += ch;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) out += `%${HEX[b >> 4] ?? '0'}${HEX[b & 15] ?? '0'}`;
    }
  }
  return out;
}

/**
 * Characters that may appear unescaped anywhere in a SIP URI (§25.1: reserved / unreserved /
 * escaped, plus `[ ]` of IPv6 references). `#` is tolerated: carriers put it in user parts.
 */
const URI_CHARS = makeSet(';/?:@&=+$,%[]#');

/** Index of the first character not allowed in a URI, or -1. */
export function findBadUriChar(s: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || URI_CHARS[c] !== 1) return i;
  }
  return -1;
}
