import { badRequest } from './sip-parse-error.js';
import { isTokenChar } from './name-addr.js';
import type { CSeq } from './types.js';

/** 2^31: RFC 3261 §8.1.1.5 "The sequence number ... MUST be less than 2**31". */
export const CSEQ_LIMIT = 0x80000000;

/** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16). */
export function parseCSeq(s: string): CSeq {
  const end = s.length;
  let i = 0;
  while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  const ds = i;
  let seq = 0;
  while (i < end) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) break;
    seq = seq * 10 + c;
    i++;
  }
  if (i === ds) throw badRequest('CSeq without sequence number');
  if (i - ds > 10 || seq >= CSEQ_LIMIT) throw badRequest('CSeq number too large');
  const ws = i;
  while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  if (i === ws) throw badRequest('Malformed CSeq');
  let me = end;
  while (me > i && (s.charCodeAt(me - 1) === 0x20 || s.charCodeAt(me - 1) === 0x09)) me--;
  if (me === i) throw badRequest('CSeq without method');
  for (let k = i; k < me; k++) if (!isTokenChar(s.charCodeAt(k))) throw badRequest('Malformed CSeq method');
  return { seq, method: s.slice(i, me) };
}
