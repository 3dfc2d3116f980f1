import { CSEQ_LIMIT, parseCSeq } from './cseq.js';
import { expandCompact } from './header-names.js';
import { isTokenChar } from './name-addr.js';
import { SipParseError } from './sip-parse-error.js';
import { HeaderField, HeaderList } from './sip-headers.js';
import { parseUri } from './sip-uri.js';
import { splitList } from './list-split.js';
import { parseVia } from './via.js';
import type { SipMessage, SipRequest, SipResponse, SipUri } from './types.js';

export interface ParseOptions {
  /** Header fields allowed (folded lines count once). Default 256; more → 400 "Too many headers". */
  maxHeaders?: number;
  /** Bytes allowed for the whole message. Default 65536; more → 413. */
  maxBytes?: number;
  /**
   * Bytes allowed for one header field line (name, value, folded continuations). Default 16384:
   * far above any real field (a STIR/SHAKEN Identity is ~1 KB), far below what a scanner stuffs
   * into a 64 KiB datagram; more → 413 "Header Field Too Large", answered like any 4xx.
   */
  maxFieldBytes?: number;
  /**
   * The buffer is one UDP datagram (RFC 3261 §18.3): a Content-Length larger than the bytes
   * present is an error, a smaller one truncates the body.
   */
  datagram?: boolean;
}

export const DEFAULT_MAX_BYTES = 65536;
export const DEFAULT_MAX_HEADERS = 256;
export const DEFAULT_MAX_FIELD_BYTES = 16384;

/** The fields a response copies from its request (§8.2.6.2), compact forms expanded. */
const ECHOED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/**
 * Parses one SIP message (RFC 3261 §7) in a single pass: the header block is located with a
 * byte search, decoded once as UTF-8, and split into fields with indexOf/charCode scans. Header
 * values are kept raw; only what validation needs (CSeq, Content-Length, Max-Forwards and the
 * Request-URI) is parsed here. The returned body is a view into `data` (no copy).
 *
 * Throws SipParseError: 400 for malformed messages, 505 for a SIP version other than 2.0,
 * 413 when the message exceeds `maxBytes`.
 */
export function parseMessage(data: Buffer, options?: ParseOptions): SipMessage {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxHeaders = options?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  const maxFieldBytes = options?.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  const datagram = options?.datagram === true;
  if (data.length > maxBytes) throw new SipParseError(413, 'Message Too Large');

  // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports
  // MUST ignore any CRLF appearing before the start-line" — tolerated on datagrams as well.
  let start = 0;
  const total = data.length;
  while (start < total && (data[start] === 0x0d || data[start] === 0x0a)) start++;
  if (start === total) throw new SipParseError(400, 'Empty message');

  let headEnd = data.indexOf(CRLFCRLF, start);
  let bodyStart: number;
  if (headEnd !== -1) {
    bodyStart = headEnd + 4;
  } else {
    // Tolerate bare-LF line ends (robustness; RFC 3261 requires CRLF).
    headEnd = data.indexOf(LFLF, start);
    if (headEnd === -1) throw new SipParseError(400, 'No empty line after headers');
    bodyStart = headEnd + 2;
  }
  const text = data.toString('utf8', start, headEnd);
  const textLen = text.length;

  // ---- start line (§7.1 Request-Line, §7.2 Status-Line) ------------------------------
  let lineEnd = text.indexOf('\n');
  if (lineEnd === -1) lineEnd = textLen;
  let sl = lineEnd;
  if (sl > 0 && text.charCodeAt(sl - 1) === 0x0d) sl--;
  const startLine = text.slice(0, sl);

  let isRequest = true;
  let method = '';
  let rawUri = '';
  let status = 0;
  let reason = '';
  /** Deferred start-line error: headers are still parsed so that a 505/400 can be answered. */
  let deferred: SipParseError | undefined;

  if (startLine.startsWith('SIP/') || startLine.startsWith('sip/')) {
    isRequest = false;
    const sp1 = startLine.indexOf(' ');
    const version = sp1 === -1 ? startLine : startLine.slice(0, sp1);
    if (sp1 === -1) throw new SipParseError(400, 'Malformed Status-Line');
    const codeEnd = sp1 + 4;
    let code = 0;
    for (let k = sp1 + 1; k < codeEnd; k++) {
      const d = startLine.charCodeAt(k) - 0x30;
      if (!(d >= 0 && d <= 9)) throw new SipParseError(400, 'Malformed status code');
      code = code * 10 + d;
    }
    // Status-Code = 3DIGIT (§25.1); RFC 4475 §3.1.2.19 bigcode
    if (codeEnd < startLine.length && startLine.charCodeAt(codeEnd) !== 0x20) throw new SipParseError(400, 'Malformed status code');
    if (code < 100 || code > 699) throw new SipParseError(400, 'Status code out of range');
    status = code;
    // RFC 4475 §3.1.1.13 noreason: an empty Reason-Phrase is valid.
    reason = codeEnd < startLine.length ? startLine.slice(codeEnd + 1) : '';
    if (!isSip20(version)) deferred = new SipParseError(505, 'Version Not Supported');
  } else {
    const sp1 = startLine.indexOf(' ');
    const sp2 = startLine.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 === sp1) throw new SipParseError(400, 'Malformed Request-Line');
    method = startLine.slice(0, sp1);
    for (let k = 0; k < sp1; k++) {
      if (!isTokenChar(startLine.charCodeAt(k))) throw new SipParseError(400, 'Malformed method');
    }
    rawUri = startLine.slice(sp1 + 1, sp2);
    const version = startLine.slice(sp2 + 1);
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF: exactly one SP between the
    // elements (RFC 4475 §3.1.2.8 lwsruri, §3.1.2.9 lwsstart, §3.1.2.10 trws).
    if (rawUri.length === 0 || rawUri.indexOf(' ') !== -1 || rawUri.indexOf('\t') !== -1) {
      deferred = new SipParseError(400, 'Malformed Request-Line');
    } else if (!isSip20(version)) {
      deferred = looksLikeVersion(version) ? new SipParseError(505, 'Version Not Supported') : new SipParseError(400, 'Malformed Request-Line');
    }
  }

  // ---- header fields (§7.3) ---------------------------------------------------------
  const fields: HeaderField[] = [];
  let last: HeaderField | undefined;
  let to: HeaderField | undefined;
  let from: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  let clen: HeaderField | undefined;
  let maxFwd: HeaderField | undefined;
  let vias = 0;
  let topVia: HeaderField | undefined;
  let dupSingle: string | undefined;
  /** The first header field over maxFieldBytes (answered with 413 once the headers are read). */
  let oversize: HeaderField | undefined;
  let pos = lineEnd + 1;
  while (pos < textLen) {
    let le = text.indexOf('\n', pos);
    if (le === -1) le = textLen;
    let e = le;
    if (e > pos && text.charCodeAt(e - 1) === 0x0d) e--;
    const ls = pos;
    pos = le + 1;
    const c0 = text.charCodeAt(ls);
    if (c0 === 0x20 || c0 === 0x09) {
      // §7.3.1 folding: "a line break and at least one whitespace character ... is
      // equivalent to a single SP" — joined here, once, so values are single-line.
      if (last === undefined) throw fail(400, 'Continuation line before first header', method, fields);
      const cont = text.slice(ls, e).trim();
      if (cont.length > 0) last.value = last.value.length > 0 ? `${last.value} ${cont}` : cont;
      if (last.value.length > maxFieldBytes) oversize ??= last;
      continue;
    }
    if (e === ls) continue; // an empty line cannot occur before headEnd except from LF/CRLF mixes
    const colon = text.indexOf(':', ls);
    if (colon === -1 || colon >= e) throw fail(400, 'Header line without colon', method, fields);
    let ne = colon;
    while (ne > ls && (text.charCodeAt(ne - 1) === 0x20 || text.charCodeAt(ne - 1) === 0x09)) ne--;
    if (ne === ls) throw fail(400, 'Empty header name', method, fields);
    for (let k = ls; k < ne; k++) {
      if (!isTokenChar(text.charCodeAt(k))) throw fail(400, 'Invalid header name', method, fields);
    }
    let vs = colon + 1;
    while (vs < e && (text.charCodeAt(vs) === 0x20 || text.charCodeAt(vs) === 0x09)) vs++;
    let ve = e;
    while (ve > vs && (text.charCodeAt(ve - 1) === 0x20 || text.charCodeAt(ve - 1) === 0x09)) ve--;
    const raw = text.slice(ls, ne);
    const name = ne - ls === 1 ? expandCompact(raw) : raw;
    const lname = name.toLowerCase();
    const field = new HeaderField(name, lname, text.slice(vs, ve));
    fields.push(field);
    last = field;
    if (e - ls > maxFieldBytes) oversize ??= field;
    if (fields.length > maxHeaders) throw fail(400, 'Too many headers', method, fields);
    switch (lname) {
      case 'via':
        if (vias++ === 0) topVia = field;
        break;
      case 'to':
        if (to !== undefined) dupSingle ??= 'To';
        to = field;
        break;
      case 'from':
        if (from !== undefined) dupSingle ??= 'From';
        from = field;
        break;
      case 'call-id':
        if (callId !== undefined) dupSingle ??= 'Call-ID';
        callId = field;
        break;
      case 'cseq':
        if (cseq !== undefined) dupSingle ??= 'CSeq';
        cseq = field;
        break;
      case 'content-length':
        if (clen !== undefined) dupSingle ??= 'Content-Length';
        clen = field;
        break;
      case 'max-forwards':
        if (maxFwd !== undefined) dupSingle ??= 'Max-Forwards';
        maxFwd = field;
        break;
      default:
        break;
    }
  }
  const headers = new HeaderList(fields);
  if (deferred === undefined && oversize !== undefined) {
    deferred = new SipParseError(413, `Header Field Too Large (${oversize.name}, more than ${maxFieldBytes} bytes)`);
    // A response copies Via, From, To, Call-ID and CSeq (§8.2.6.2): one of those that large is
    // not echoed back; the message is dropped unanswered instead.
    if (ECHOED.has(oversize.lname)) throw deferred;
  }
  if (deferred !== undefined) throw withPartial(deferred, method, headers, fields);

  // ---- mandatory and single-valued headers (§8.1.1, §8.2.2, RFC 4475 §3.3.1, §3.3.8) ----
  if (to === undefined || from === undefined || callId === undefined || cseq === undefined || vias === 0) {
    throw new SipParseError(400, `Missing ${to === undefined ? 'To' : from === undefined ? 'From' : callId === undefined ? 'Call-ID' : cseq === undefined ? 'CSeq' : 'Via'} header`);
  }
  if (dupSingle !== undefined) throw withPartial(new SipParseError(400, `Multiple ${dupSingle} headers`), method, headers, fields);
  const toDefect = addressDefect(to.value);
  if (toDefect !== undefined) throw withPartial(new SipParseError(400, `Malformed To: ${toDefect}`), method, headers, fields);
  const fromDefect = addressDefect(from.value);
  if (fromDefect !== undefined) throw withPartial(new SipParseError(400, `Malformed From: ${fromDefect}`), method, headers, fields);
  if (callId.value.length === 0 || callId.value.indexOf(' ') !== -1) throw withPartial(new SipParseError(400, 'Malformed Call-ID'), method, headers, fields);

  let cs;
  try {
    cs = parseCSeq(cseq.value);
  } catch (err: unknown) {
    throw err instanceof SipParseError ? withPartial(err, method, headers, fields) : err;
  }
  if (cs.seq >= CSEQ_LIMIT) throw withPartial(new SipParseError(400, 'CSeq number too large'), method, headers, fields);
  // RFC 3261 §8.1.1.5: "The method MUST match that of the request" (RFC 4475 §3.1.2.17 mismatch01)
  if (isRequest && cs.method !== method) throw withPartial(new SipParseError(400, 'CSeq method does not match Request-Line'), method, headers, fields);

  // The top Via is where any response goes (§18.2.2); a malformed one cannot be answered
  // (RFC 4475 §3.1.2.1 badinv01). Only the top value is checked here; the rest stay lazy.
  if (topVia !== undefined) {
    const v = topVia.value;
    const first = v.indexOf(',') === -1 ? v : splitList(v)[0] ?? '';
    try {
      parseVia(first);
    } catch (err: unknown) {
      throw err instanceof SipParseError ? withPartial(new SipParseError(400, `Malformed Via: ${err.reason}`), method, headers, fields) : err;
    }
  }

  if (maxFwd !== undefined) {
    // §20.22: "The Max-Forwards value is an integer in the range 0-255"
    const mf = parseDigits(maxFwd.value, 10); // leading zeros are legal (RFC 4475 §3.1.1.1)
    if (mf < 0 || mf > 255) throw withPartial(new SipParseError(400, 'Invalid Max-Forwards'), method, headers, fields);
  }

  // ---- body (§7.4, §18.3, §20.14) ---------------------------------------------------
  const available = total - bodyStart;
  let body: Buffer;
  if (clen !== undefined) {
    const n = parseDigits(clen.value, 10);
    if (n < 0) throw withPartial(new SipParseError(400, 'Invalid Content-Length'), method, headers, fields);
    if (n > available) {
      // §18.3: "If the message is a UDP datagram and the Content-Length is larger than the
      // message body, the message MUST be discarded" — answered 400 when headers allow it.
      throw withPartial(new SipParseError(400, datagram ? 'Content-Length larger than datagram' : 'Content-Length larger than message'), method, headers, fields);
    }
    // §18.3: extra bytes beyond Content-Length in a datagram are ignored.
    body = n === 0 ? EMPTY : data.subarray(bodyStart, bodyStart + n);
  } else {
    // No Content-Length: on a datagram the body is the rest of it (§18.3, §20.14 allows the
    // omission over UDP); a stream message arrives here already framed by SipStreamFramer.
    body = available === 0 ? EMPTY : data.subarray(bodyStart);
  }

  if (isRequest) {
    let uri: SipUri;
    try {
      uri = parseUri(rawUri);
    } catch (err: unknown) {
      throw err instanceof SipParseError ? withPartial(new SipParseError(400, `Bad Request-URI: ${err.reason}`), method, headers, fields) : err;
    }
    // RFC 3261 §19.1.1 Table 1: URI headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11 escruri)
    if (uri.headers.size > 0) throw withPartial(new SipParseError(400, 'Headers not allowed in Request-URI'), method, headers, fields);
    const req: SipRequest = { type: 'request', method, uri, rawUri, headers, body };
    return req;
  }
  const res: SipResponse = { type: 'response', status, reason, headers, body };
  return res;
}

function isSip20(v: string): boolean {
  return v === 'SIP/2.0' || v.toUpperCase() === 'SIP/2.0';
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1, case-insensitive per §7.1). */
function looksLikeVersion(v: string): boolean {
  return /^SIP\/\d+\.\d+$/i.test(v);
}

/** Decimal 1*DIGIT with at most `maxDigits` digits, or -1. */
export function parseDigits(s: string, maxDigits: number): number {
  const n = s.length;
  if (n === 0 || n > maxDigits) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * A cheap structural check of a From/To value without building the name-addr: balanced quotes
 * (RFC 4475 §3.1.2.6 quotbal), balanced angle brackets, and a single value — a comma outside
 * quotes and brackets means several values in a single-value header (§3.1.2.15 baddn, §3.3.8).
 */
export function addressDefect(v: string): string | undefined {
  if (v.length === 0) return 'empty';
  let inQuote = false;
  let angle = 0;
  let angles = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) {
      if (angle !== 0 || angles !== 0) return 'unbalanced <>';
      angle = 1;
      angles++;
    } else if (c === 0x3e) {
      if (angle !== 1) return 'unbalanced <>';
      angle = 0;
    } else if (c === 0x2c && angle === 0) return 'multiple values';
  }
  if (inQuote) return 'unterminated quoted string';
  if (angle !== 0) return 'unbalanced <>';
  return undefined;
}

function hasMandatory(fields: readonly HeaderField[]): boolean {
  let mask = 0;
  for (const f of fields) {
    switch (f.lname) {
      case 'via': mask |= 1; break;
      case 'to': mask |= 2; break;
      case 'from': mask |= 4; break;
      case 'call-id': mask |= 8; break;
      case 'cseq': mask |= 16; break;
      default: break;
    }
  }
  return mask === 31;
}

function withPartial(err: SipParseError, method: string, headers: HeaderList, fields: readonly HeaderField[]): SipParseError {
  if (!hasMandatory(fields)) return err;
  return new SipParseError(err.status, err.reason, method.length > 0 ? { method, headers } : { headers });
}

function fail(status: number, reason: string, method: string, fields: HeaderField[]): SipParseError {
  return withPartial(new SipParseError(status, reason), method, new HeaderList(fields), fields);
}
