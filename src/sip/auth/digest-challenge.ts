import { createHash } from 'node:crypto';

/**
 * Digest challenge and credentials parsing, and the response computation shared by the client
 * and the server.
 *
 * @see RFC 3261 §22.4 and §25.1 (SIP's digest grammar: challenge, credentials, dig-resp)
 * @see RFC 7616 §3.3-§3.4 (WWW-Authenticate, Authorization, the response), RFC 2617 §3.2
 * @see RFC 8760 §2 (SHA-256 and SHA-256-sess in SIP)
 */

export type DigestAlgorithm = 'MD5' | 'SHA-256' | 'MD5-sess' | 'SHA-256-sess';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** RFC 7616 §3.3: "If this is not present, it is assumed to be 'MD5'." */
  algorithm: DigestAlgorithm;
  /** qop-options as listed (lower-cased); absent for an RFC 2069 challenge. */
  qop?: string[];
  stale: boolean;
}

/** Thrown for a header value that is not a digest challenge or credentials we can use. */
export class DigestParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestParseError';
  }
}

const ALGORITHMS: Readonly<Record<string, DigestAlgorithm>> = {
  'md5': 'MD5',
  'sha-256': 'SHA-256',
  'md5-sess': 'MD5-sess',
  'sha-256-sess': 'SHA-256-sess',
};

/** The algorithm token, case-insensitively (RFC 7616 §3.3 tokens are case-insensitive), or undefined. */
export function digestAlgorithm(token: string): DigestAlgorithm | undefined {
  return ALGORITHMS[token.toLowerCase()];
}

/**
 * Splits `Digest a=b, c="d, e"` into lower-cased names and unquoted values. Commas inside quoted
 * strings are data; `\x` inside a quoted string is the quoted-pair for x (RFC 3261 §25.1).
 * Throws DigestParseError when the scheme is not Digest or the list is malformed.
 */
function parseDigestParams(headerValue: string): Map<string, string> {
  const text = headerValue.trim();
  const m = /^digest(?:\s+|$)/i.exec(text);
  if (m === null) throw new DigestParseError(`not a Digest header: ${JSON.stringify(text.slice(0, 40))}`);
  const params = new Map<string, string>();
  let i = m[0].length;
  const n = text.length;
  const skipWs = (): void => {
    while (i < n && /\s/.test(text[i] ?? '')) i++;
  };
  while (i < n) {
    skipWs();
    if (text[i] === ',') {
      i++; // empty list elements are allowed (RFC 7230 §7 #rule)
      continue;
    }
    if (i >= n) break;
    const nameStart = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i] ?? '')) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    if (name.length === 0) throw new DigestParseError(`bad character ${JSON.stringify(text[i])} at ${i}`);
    skipWs();
    if (text[i] !== '=') throw new DigestParseError(`expected '=' after ${name}`);
    i++;
    skipWs();
    let value: string;
    if (text[i] === '"') {
      i++;
      let out = '';
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (c === '\\' && i + 1 < n) {
          out += text[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          out += c;
          i++;
        }
      }
      if (!closed) throw new DigestParseError(`unterminated quoted string for ${name}`);
      value = out;
    } else {
      const valueStart = i;
      while (i < n && text[i] !== ',' && !/\s/.test(text[i] ?? '')) i++;
      value = text.slice(valueStart, i);
    }
    if (params.has(name)) throw new DigestParseError(`duplicate parameter ${name}`);
    params.set(name, value);
    skipWs();
    if (i < n && text[i] !== ',') throw new DigestParseError(`expected ',' after ${name}`);
  }
  return params;
}

/**
 * Parses a WWW-Authenticate / Proxy-Authenticate value (RFC 3261 §25.1 `challenge`).
 * Throws DigestParseError when realm or nonce is missing or the algorithm is not one we support
 * (the caller treats that challenge as unanswerable).
 */
export function parseChallenge(headerValue: string): DigestChallenge {
  const p = parseDigestParams(headerValue);
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined) throw new DigestParseError('challenge without realm');
  if (nonce === undefined) throw new DigestParseError('challenge without nonce');
  const algToken = p.get('algorithm') ?? 'MD5';
  const algorithm = digestAlgorithm(algToken);
  if (algorithm === undefined) throw new DigestParseError(`unsupported algorithm ${algToken}`);
  const challenge: DigestChallenge = { realm, nonce, algorithm, stale: (p.get('stale') ?? '').toLowerCase() === 'true' };
  const opaque = p.get('opaque');
  if (opaque !== undefined) challenge.opaque = opaque;
  const qop = p.get('qop');
  if (qop !== undefined) {
    const list = qop
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q.length > 0);
    if (list.length > 0) challenge.qop = list;
  }
  return challenge;
}

/**
 * Parses an Authorization / Proxy-Authorization value (RFC 3261 §25.1 `credentials`, `dig-resp`)
 * into its parameters, names lower-cased, values unquoted. Throws DigestParseError on a
 * non-Digest or malformed value.
 */
export function parseCredentials(headerValue: string): Record<string, string> {
  return Object.fromEntries(parseDigestParams(headerValue));
}

/** Node's hash name for H() of an algorithm (RFC 7616 §3.2, RFC 8760 §2.1). */
function hashName(algorithm: DigestAlgorithm): 'md5' | 'sha256' {
  return algorithm === 'MD5' || algorithm === 'MD5-sess' ? 'md5' : 'sha256';
}

export function digestHash(algorithm: DigestAlgorithm, data: string | Buffer): string {
  return createHash(hashName(algorithm)).update(data).digest('hex');
}

export interface DigestInputs {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  /** digest-uri: in SIP the Request-URI (RFC 3261 §22.4). */
  uri: string;
  nonce: string;
  /** 'auth' | 'auth-int', or undefined for the RFC 2069 form. */
  qop?: string;
  /** 8 hex digits, with qop. */
  nc?: string;
  cnonce?: string;
  /** Message body, for auth-int. */
  body?: Buffer;
}

/**
 * The request-digest (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1):
 *   with qop:    KD(H(A1), nonce:nc:cnonce:qop:H(A2))
 *   without qop: KD(H(A1), nonce:H(A2))          (RFC 2069 compatibility, RFC 2617 §3.2.2.1)
 * A1 = username:realm:password, or for -sess H(username:realm:password):nonce:cnonce (§3.4.2).
 * A2 = method:uri, or for auth-int method:uri:H(body) (§3.4.3).
 */
export function digestResponse(d: DigestInputs): string {
  const h = (s: string | Buffer): string => digestHash(d.algorithm, s);
  let ha1 = h(`${d.username}:${d.realm}:${d.password}`);
  if (d.algorithm.endsWith('-sess')) ha1 = h(`${ha1}:${d.nonce}:${d.cnonce ?? ''}`);
  const a2 = d.qop === 'auth-int' ? `${d.method}:${d.uri}:${h(d.body ?? Buffer.alloc(0))}` : `${d.method}:${d.uri}`;
  const ha2 = h(a2);
  if (d.qop === undefined) return h(`${ha1}:${d.nonce}:${ha2}`);
  return h(`${ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:${d.qop}:${ha2}`);
}

/** A quoted-string with `"` and `\` escaped (RFC 3261 §25.1 quoted-pair). */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
