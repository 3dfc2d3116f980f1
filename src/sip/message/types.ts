/**
 * The SIP message model (RFC 3261 §7). This file is the contract between the message layer and
 * the layers above (transport, transaction, dialog, user agent). Implementations live beside it.
 *
 * Headers are kept as received (name as written, raw value) in order; structured views (Via,
 * name-addr, CSeq, URI) are parsed on demand by the functions exported from this folder, so the
 * hot path of a stateless forward or a retransmission match touches only what it needs.
 */

/** Parameters (`;name=value` or `;name`) keyed by lower-cased name; a flag parameter maps to null. */
export type SipParams = Map<string, string | null>;

/** RFC 3261 §19.1 SIP/SIPS URI, or an RFC 3966 tel: URI (host holds the number, params its parameters). */
export interface SipUri {
  scheme: string; // 'sip' | 'sips' | 'tel' (lower-cased)
  user?: string; // unescaped
  password?: string;
  host: string; // IPv6 without brackets
  port?: number;
  params: SipParams; // uri-parameters (transport, lr, user, maddr, ...)
  headers: Map<string, string>; // ?name=value (unescaped)
}

/** A name-addr or addr-spec with header parameters (From, To, Contact, Route, Record-Route, Refer-To, PAI, Diversion...). */
export interface NameAddr {
  displayName?: string; // unquoted, unescaped, may be UTF-8
  uri: SipUri;
  params: SipParams; // header params (tag, expires, q, reason...)
  /** Contact: `*` */
  wildcard?: boolean;
}

/** One Via value (RFC 3261 §20.42). */
export interface Via {
  protocol: string; // 'SIP/2.0'
  transport: string; // upper-case: UDP, TCP, TLS, WS...
  host: string; // IPv6 without brackets
  port?: number;
  params: SipParams; // branch, received, rport (null when a flag), maddr, ttl
}

export interface CSeq {
  seq: number;
  method: string;
}

export interface SipHeaderField {
  /** The name as received or as set (compact forms expanded to their long form on parse). */
  name: string;
  /** Lower-cased long form, for matching. */
  lname: string;
  value: string;
}

export interface SipRequest {
  readonly type: 'request';
  method: string;
  uri: SipUri;
  /** The Request-URI text as received (for logging and exact echo); serializing uses `uri`. */
  rawUri: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  readonly type: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/**
 * An ordered, case-insensitive header list. Compact forms (v, f, t, i, m, l, c, k, s, e, o, u, r, b,
 * x, a, y) are the same header as their long names. For headers whose grammar is a comma-separated
 * list (Via, Route, Record-Route, Contact, Allow, Supported, Require, Proxy-Require, Unsupported,
 * Accept, Allow-Events, ...), `getAll` returns one entry per list element, splitting on commas
 * outside quotes and angle brackets; never split WWW-Authenticate/Authorization and other headers
 * whose values contain commas.
 */
export interface SipHeaders extends Iterable<SipHeaderField> {
  /** The first value (first list element for list headers). */
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
  /** Replaces every field of that name with one field per value. */
  set(name: string, value: string | readonly string[]): void;
  append(name: string, value: string): void;
  /** Inserts before the first field of that name (or at the top): used for Via. */
  prepend(name: string, value: string): void;
  delete(name: string): void;
  /** Number of header fields (not list elements). */
  readonly size: number;
  clone(): SipHeaders;
}
