import { badRequest } from './sip-parse-error.js';
import type { SipParams } from './types.js';

/**
 * Generic parameters: `*( SEMI generic-param )`, generic-param = token [ EQUAL gen-value ],
 * gen-value = token / host / quoted-string (RFC 3261 §25.1, §20). SEMI and EQUAL allow
 * surrounding whitespace (SWS). Names are lower-cased (parameter names are case-insensitive,
 * §7.3.1); values are kept as written — a quoted value keeps its quotes so that it round-trips.
 */
export function parseParams(s: string): SipParams {
  const params: SipParams = new Map();
  parseParamsInto(s, 0, s.length, params);
  return params;
}

/**
 * Parses `;a=b;c` between `start` and `end` into `params`. Leading text before the first `;` must
 * be whitespace only. Throws SipParseError(400) on an unterminated quoted string or empty name.
 */
export function parseParamsInto(s: string, start: number, end: number, params: SipParams): void {
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      i++;
      continue;
    }
    if (c !== 0x3b) throw badRequest(`Unexpected '${s[i] ?? ''}' in parameters`);
    i++;
    // name
    let nameStart = i;
    while (nameStart < end && isWs(s.charCodeAt(nameStart))) nameStart++;
    let j = nameStart;
    while (j < end) {
      const d = s.charCodeAt(j);
      if (d === 0x3d || d === 0x3b || isWs(d)) break;
      j++;
    }
    const name = s.slice(nameStart, j).toLowerCase();
    if (name.length === 0) throw badRequest('Empty parameter name');
    while (j < end && isWs(s.charCodeAt(j))) j++;
    if (j < end && s.charCodeAt(j) === 0x3d) {
      j++;
      while (j < end && isWs(s.charCodeAt(j))) j++;
      let vEnd = j;
      if (j < end && s.charCodeAt(j) === 0x22) {
        vEnd = j + 1;
        for (;;) {
          if (vEnd >= end) throw badRequest('Unterminated quoted string in parameter');
          const d = s.charCodeAt(vEnd);
          if (d === 0x5c) vEnd += 2;
          else if (d === 0x22) {
            vEnd++;
            break;
          } else vEnd++;
        }
      } else {
        while (vEnd < end) {
          const d = s.charCodeAt(vEnd);
          if (d === 0x3b || isWs(d)) break;
          vEnd++;
        }
      }
      params.set(name, s.slice(j, vEnd));
      i = vEnd;
    } else {
      params.set(name, null);
      i = j;
    }
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** `;name=value;flag` in insertion order. */
export function formatParams(params: SipParams): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/** Removes the quotes and quoted-pair escapes of a quoted-string value (RFC 3261 §25.1). */
export function unquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== 0x22 || v.charCodeAt(v.length - 1) !== 0x22) return v;
  const inner = v.slice(1, -1);
  if (inner.indexOf('\\') === -1) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i] as string;
    if (ch === '\\' && i + 1 < inner.length) {
      i++;
      out += inner[i] as string;
    } else out += ch;
  }
  return out;
}

/** Wraps a string in a quoted-string, escaping `"` and `\` (RFC 3261 §25.1 quoted-pair). */
export function quote(v: string): string {
  let out = '"';
  for (const ch of v) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return `${out}"`;
}
