import { DEFAULT_MAX_BYTES, DEFAULT_MAX_HEADERS } from './sip-parser.js';
import { SipParseError } from './sip-parse-error.js';

/**
 * Frames SIP messages on a byte stream (TCP/TLS) by Content-Length (RFC 3261 §18.3: "In the
 * case of stream-oriented transports such as TCP, the Content-Length header field indicates
 * the size of the body. All SIP implementations MUST use it"). CRLFs before a start line are
 * skipped (§7.5); a double CRLF there is an RFC 5626 §4.4.1 keep-alive "ping" to be answered
 * with a single CRLF "pong" — reported through {@link pingReceived}.
 *
 * Memory: bytes of an incomplete message are copied into one internal buffer that grows by
 * doubling up to maxBytes and is reused; a message that would exceed maxBytes throws 413 at
 * once (headers too long, or Content-Length announcing too much), so the caller closes the
 * connection. Complete messages found inside a chunk while nothing is pending are returned as
 * views of that chunk (no copy); those assembled from several chunks are fresh copies.
 */
export class SipStreamFramer {
  readonly #maxBytes: number;
  readonly #maxHeaders: number;
  #buf: Buffer = Buffer.alloc(0);
  #len = 0;
  /** Where the header-end search resumes in #buf (avoids rescanning on every chunk). */
  #scanFrom = 0;
  /** Total length of the pending message once its headers are complete, else -1. */
  #need = -1;
  /** LFs seen in the current run of CR/LF bytes at a message boundary (across chunks). */
  #crlfRun = 0;
  #ping = false;

  constructor(options?: { maxBytes?: number; maxHeaders?: number }) {
    this.#maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#maxHeaders = options?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  }

  /** True when the last push contained a double-CRLF keep-alive ping (RFC 5626 §4.4.1). */
  get pingReceived(): boolean {
    return this.#ping;
  }

  /** Bytes held for an incomplete message. */
  get pendingBytes(): number {
    return this.#len;
  }

  push(chunk: Buffer): Buffer[] {
    this.#ping = false;
    const out: Buffer[] = [];
    let off = 0;
    // Fast path: nothing pending — frame directly inside the chunk.
    if (this.#len === 0) {
      for (;;) {
        off = this.#skipBoundary(chunk, off);
        if (off >= chunk.length) return out;
        const size = this.#frameSize(chunk, off, chunk.length);
        if (size < 0 || off + size > chunk.length) break;
        out.push(chunk.subarray(off, off + size));
        off += size;
      }
    }
    // Slow path: append the remainder and frame from the internal buffer.
    this.#append(chunk, off);
    for (;;) {
      if (this.#need === -1) {
        const start = this.#skipBoundary(this.#buf, 0);
        if (start > 0) this.#consume(start);
        if (this.#len === 0) break;
        const size = this.#frameSize(this.#buf, 0, this.#len);
        if (size < 0) break;
        this.#need = size;
      }
      if (this.#len < this.#need) break;
      out.push(Buffer.from(this.#buf.subarray(0, this.#need)));
      this.#consume(this.#need);
      this.#need = -1;
    }
    return out;
  }

  /** Drops the pending bytes (e.g. after an error the caller chose to survive). */
  reset(): void {
    this.#len = 0;
    this.#need = -1;
    this.#scanFrom = 0;
    this.#crlfRun = 0;
  }

  /** Skips CR/LF at a message boundary, counting a CRLFCRLF run as a ping. */
  #skipBoundary(b: Buffer, off: number): number {
    const end = b === this.#buf ? this.#len : b.length;
    while (off < end) {
      const c = b[off];
      if (c === 0x0a) {
        if (++this.#crlfRun >= 2) {
          this.#ping = true;
          this.#crlfRun = 0;
        }
      } else if (c !== 0x0d) {
        this.#crlfRun = 0;
        break;
      }
      off++;
    }
    return off;
  }

  /**
   * Size of the message starting at `off` when its header block is complete, else -1.
   * Throws 413 when the headers or the announced size exceed maxBytes, 400 on a bad
   * Content-Length.
   */
  #frameSize(b: Buffer, off: number, end: number): number {
    const from = b === this.#buf ? Math.max(off, this.#scanFrom - 3) : off;
    const he = b.indexOf(CRLFCRLF, from);
    if (he === -1 || he + 4 > end) {
      if (end - off > this.#maxBytes) throw new SipParseError(413, 'Message Too Large');
      if (b === this.#buf) this.#scanFrom = end;
      return -1;
    }
    this.#scanFrom = 0;
    const headLen = he + 4 - off;
    if (headLen > this.#maxBytes) throw new SipParseError(413, 'Message Too Large');
    const cl = contentLength(b, off, he, this.#maxHeaders);
    // Content-Length missing on a stream: RFC 3261 §18.3 and §20.14 make it mandatory there;
    // we treat it as 0 (the message has no body) rather than guess where the next one starts.
    const size = headLen + cl;
    if (size > this.#maxBytes) throw new SipParseError(413, 'Message Too Large');
    return size;
  }

  #append(chunk: Buffer, off: number): void {
    const add = chunk.length - off;
    if (add <= 0) return;
    const need = this.#len + add;
    if (need > this.#buf.length) {
      // Bounded: frameSize throws before a message may exceed maxBytes, and a full message is
      // consumed as soon as it is complete; allow one chunk of slack beyond maxBytes.
      let cap = Math.max(4096, this.#buf.length);
      while (cap < need) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    chunk.copy(this.#buf, this.#len, off);
    this.#len = need;
  }

  #consume(n: number): void {
    this.#buf.copy(this.#buf, 0, n, this.#len);
    this.#len -= n;
    this.#scanFrom = 0;
    // Release a large buffer once it is no longer needed (a one-off big message).
    if (this.#len === 0 && this.#buf.length > 65536) this.#buf = Buffer.alloc(0);
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Content-Length (or compact `l`) from the header block in b[off, he). Scans line starts
 * byte-wise; several fields with different values → 400 (RFC 4475 §3.3.9 mcl01).
 */
function contentLength(b: Buffer, off: number, he: number, maxHeaders: number): number {
  let value = -1;
  let lines = 0;
  let p = b.indexOf(0x0a, off); // skip the start line
  while (p !== -1 && p < he) {
    const ls = p + 1;
    if (++lines > maxHeaders + 1) throw new SipParseError(400, 'Too many headers');
    const c = b[ls] ?? 0;
    let nameEnd = -1;
    if ((c | 0x20) === 0x6c /* l */) nameEnd = ls + 1;
    else if ((c | 0x20) === 0x63 /* c */ && he - ls >= 14 && matchesCi(b, ls, 'content-length')) nameEnd = ls + 14;
    if (nameEnd !== -1) {
      let i = nameEnd;
      while (b[i] === 0x20 || b[i] === 0x09) i++;
      if (b[i] === 0x3a) {
        i++;
        while (b[i] === 0x20 || b[i] === 0x09) i++;
        let v = 0;
        let digits = 0;
        while (i < he + 2) {
          const d = (b[i] ?? 0) - 0x30;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
          digits++;
          i++;
        }
        while (b[i] === 0x20 || b[i] === 0x09) i++;
        if (digits === 0 || digits > 10 || (b[i] !== 0x0d && b[i] !== 0x0a)) throw new SipParseError(400, 'Invalid Content-Length');
        if (value !== -1 && value !== v) throw new SipParseError(400, 'Conflicting Content-Length values');
        value = v;
      }
    }
    p = b.indexOf(0x0a, ls);
  }
  return value === -1 ? 0 : value;
}

function matchesCi(b: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if (((b[at + i] ?? 0) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
