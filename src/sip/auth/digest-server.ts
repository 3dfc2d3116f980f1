import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../shared/index.js';
import { DigestParseError, digestAlgorithm, digestResponse, parseCredentials, quote } from './digest-challenge.js';
import type { DigestAlgorithm } from './digest-challenge.js';

export interface DigestServerOptions {
  realm: string;
  clock: Clock;
  /** Offered in this order, one WWW-Authenticate value each. Default ['SHA-256', 'MD5']. */
  algorithms?: DigestAlgorithm[];
  /** A nonce older than this gets 'stale' (and a stale=TRUE challenge). Default 5 minutes. */
  nonceTtlMs?: number;
  /** HMAC key for nonces; default a random per-process key shared by every DigestServer. */
  secret?: Buffer;
}

export type DigestVerdict = 'ok' | 'stale' | 'invalid';

const PROCESS_SECRET = randomBytes(32);
const TIME_BYTES = 6;
const RANDOM_BYTES = 9;
const MAC_BYTES = 18;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
/** Above this many remembered nonces, expired ones are pruned on the next success. */
const PRUNE_ABOVE = 1024;

/**
 * The UAS side of digest auth (RFC 3261 §22.1 and §22.4, RFC 7616 §3.3 and §3.5, RFC 8760 §2.4).
 *
 * Nonces are self-validating: base64url(time ‖ random ‖ HMAC(secret, realm ‖ time ‖ random)), so
 * the server keeps no state per challenge, only the highest nonce count seen per nonce that has
 * been used successfully (to refuse replays, RFC 7616 §3.4: "the server ... can detect request
 * replays by maintaining its own copy of this count"). That map holds each nonce for at most the
 * nonce lifetime. Keep one DigestServer per realm for the life of the process.
 */
export class DigestServer {
  readonly realm: string;
  private readonly clock: Clock;
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly ttlMs: number;
  private readonly secret: Buffer;
  /** nonce → highest nc accepted and when the nonce was issued. */
  private readonly seen = new Map<string, { nc: number; issuedAt: number }>();

  constructor(options: DigestServerOptions) {
    this.realm = options.realm;
    this.clock = options.clock;
    this.algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
    if (this.algorithms.length === 0) throw new RangeError('DigestServer needs at least one algorithm');
    this.ttlMs = options.nonceTtlMs ?? 300_000;
    this.secret = options.secret ?? PROCESS_SECRET;
  }

  /**
   * WWW-Authenticate (or Proxy-Authenticate) values, one per algorithm, most preferred first
   * (RFC 8760 §2.4), sharing one fresh nonce. qop="auth" is always offered: RFC 7616 §3.3 makes
   * qop mandatory for new implementations, and it is what makes nc replay detection possible.
   */
  challenge(stale = false): string[] {
    const nonce = this.makeNonce();
    const tail = stale ? ', stale=TRUE' : '';
    return this.algorithms.map((alg) => `Digest realm=${quote(this.realm)}, nonce=${quote(nonce)}, algorithm=${alg}, qop="auth"${tail}`);
  }

  /**
   * Checks Authorization credentials for a request against the trunk's credentials.
   * 'stale' when the digest is right but the nonce expired (answer with challenge(true),
   * RFC 7616 §3.3 stale); 'invalid' for anything else that is not 'ok' (wrong user, realm,
   * password, forged nonce, missing qop, replayed nc).
   *
   * @param request.uri when given, must equal the credentials' uri (RFC 7616 §3.4.6 asks the
   *   server to check that digest-uri names the request's Request-URI).
   */
  verify(authorizationHeader: string, request: { method: string; uri?: string }, credentials: { username: string; password: string }): DigestVerdict {
    let p: Record<string, string>;
    try {
      p = parseCredentials(authorizationHeader);
    } catch (err) {
      if (err instanceof DigestParseError) return 'invalid';
      throw err;
    }
    const { username, realm, nonce, uri, response, cnonce, nc, qop } = p;
    if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) return 'invalid';
    if (username !== credentials.username || realm !== this.realm) return 'invalid';
    if (request.uri !== undefined && request.uri !== uri) return 'invalid';
    const algorithm = digestAlgorithm(p.algorithm ?? 'MD5');
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) return 'invalid';
    // We offered qop="auth" only; RFC 2617 §3.2.2: a client MUST use a qop the server offered.
    if (qop?.toLowerCase() !== 'auth' || cnonce === undefined || nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return 'invalid';

    const issuedAt = this.checkNonce(nonce);
    if (issuedAt === undefined) return 'invalid';

    const expected = digestResponse({ algorithm, username, realm, password: credentials.password, method: request.method, uri, nonce, qop: 'auth', nc, cnonce });
    const given = Buffer.from(response.toLowerCase(), 'latin1');
    const want = Buffer.from(expected, 'latin1');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return 'invalid';

    const now = this.clock.now();
    // RFC 7616 §3.3: stale=TRUE only when "the nonce is invalid and with a valid digest for that nonce".
    if (now - issuedAt > this.ttlMs) return 'stale';

    const count = parseInt(nc, 16);
    const prior = this.seen.get(nonce);
    if (prior !== undefined && count <= prior.nc) return 'invalid';
    if (prior === undefined) {
      this.seen.set(nonce, { nc: count, issuedAt });
      if (this.seen.size > PRUNE_ABOVE) this.prune(now);
    } else {
      prior.nc = count;
    }
    return 'ok';
  }

  private makeNonce(): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES);
    buf.writeUIntBE(Math.max(0, Math.floor(this.clock.now())), 0, TIME_BYTES);
    randomBytes(RANDOM_BYTES).copy(buf, TIME_BYTES);
    this.mac(buf).copy(buf, TIME_BYTES + RANDOM_BYTES, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  /** The nonce's issue time if we made it (for this realm), else undefined. */
  private checkNonce(nonce: string): number | undefined {
    if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return undefined;
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES) return undefined;
    const mac = this.mac(buf).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, buf.subarray(TIME_BYTES + RANDOM_BYTES))) return undefined;
    return buf.readUIntBE(0, TIME_BYTES);
  }

  private mac(buf: Buffer): Buffer {
    return createHmac('sha256', this.secret)
      .update(this.realm)
      .update('\0')
      .update(buf.subarray(0, TIME_BYTES + RANDOM_BYTES))
      .digest();
  }

  private prune(now: number): void {
    for (const [nonce, entry] of this.seen) {
      if (now - entry.issuedAt > this.ttlMs) this.seen.delete(nonce);
    }
  }

  /** Nonces currently remembered for replay detection (for tests and metrics). */
  get trackedNonces(): number {
    return this.seen.size;
  }
}
