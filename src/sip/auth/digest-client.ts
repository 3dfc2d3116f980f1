import { randomBytes } from 'node:crypto';
import { DigestParseError, digestResponse, parseChallenge, quote } from './digest-challenge.js';
import type { DigestChallenge } from './digest-challenge.js';

export interface DigestClientCredentials {
  /** The auth user: the username in Authorization, which may differ from the From user. */
  username: string;
  password: string;
  /** When set, challenges for any other realm are not answered (RFC 3261 §22.1: realm names the credentials). */
  realm?: string;
}

export interface DigestClientOptions {
  /** Client nonce generator (tests pin it); default 16 random bytes in hex. */
  cnonce?: () => string;
}

export interface DigestRequest {
  method: string;
  /** The Request-URI, as written in the request line (RFC 3261 §22.4: digest-uri is the Request-URI). */
  uri: string;
  /** For qop=auth-int. */
  body?: Buffer;
}

/** How many nonces the client remembers a count for (a server rarely has more than one live). */
const MAX_NONCES = 32;

/**
 * The UAC side of digest auth (RFC 3261 §22.2-§22.3, RFC 7616 §3.4, RFC 8760).
 *
 * Keeps a nonce count per nonce (RFC 7616 §3.4: nc "MUST be incremented" for each request with
 * the same nonce), prefers qop=auth, answers RFC 2069 challenges (no qop) too, and refuses to
 * loop: after it answered a realm's challenge, another challenge for that realm means the
 * credentials were rejected, unless it says stale=TRUE with a new nonce, which earns exactly one
 * retry. Call `accepted()` when the authenticated request got anything but 401/407, so the next
 * request's challenge is answered afresh.
 */
export class DigestClient {
  private readonly credentials: DigestClientCredentials;
  private readonly makeCnonce: () => string;
  /** nonce → last nc sent with it. Insertion order = age, for eviction. */
  private readonly counts = new Map<string, number>();
  /** realm → the answer awaiting its outcome. */
  private readonly pending = new Map<string, { nonce: string; staleRetry: boolean }>();

  constructor(credentials: DigestClientCredentials, options: DigestClientOptions = {}) {
    this.credentials = credentials;
    this.makeCnonce = options.cnonce ?? ((): string => randomBytes(16).toString('hex'));
  }

  /**
   * Returns the header value for Authorization (to a 401) or Proxy-Authorization (to a 407);
   * undefined when it must not retry: no usable challenge (unknown scheme or algorithm, realm
   * mismatch, qop it cannot do), or the credentials were rejected (a second challenge without
   * stale=TRUE, or the same nonce again), or a stale retry was already spent.
   *
   * With several challenge values (one per WWW-Authenticate header, RFC 8760 §2.4 lists them in
   * the server's order of preference) the first usable one is answered.
   */
  authorize(challengeHeader: string | readonly string[], request: DigestRequest): string | undefined {
    const challenge = this.pick(typeof challengeHeader === 'string' ? [challengeHeader] : challengeHeader);
    if (challenge === undefined) return undefined;

    const pending = this.pending.get(challenge.realm);
    let staleRetry = false;
    if (pending !== undefined) {
      // RFC 2617 §3.2.1 stale: "If stale is FALSE ... the username and/or password are invalid,
      // and new values must be obtained." We have no new values, so we stop.
      if (!challenge.stale) return undefined;
      if (pending.staleRetry || pending.nonce === challenge.nonce) return undefined;
      staleRetry = true;
    }

    const qop = chooseQop(challenge.qop);
    if (qop === null) return undefined;
    // RFC 7616 §3.4.2: the -sess A1 mixes in the cnonce, which exists only with a qop.
    if (qop === undefined && challenge.algorithm.endsWith('-sess')) return undefined;

    const { username, password } = this.credentials;
    let header = `Digest username=${quote(username)}, realm=${quote(challenge.realm)}, nonce=${quote(challenge.nonce)}, uri=${quote(request.uri)}`;
    let response: string;
    if (qop === undefined) {
      response = digestResponse({ algorithm: challenge.algorithm, username, realm: challenge.realm, password, method: request.method, uri: request.uri, nonce: challenge.nonce });
    } else {
      const count = (this.counts.get(challenge.nonce) ?? 0) + 1;
      this.counts.delete(challenge.nonce);
      this.counts.set(challenge.nonce, count);
      if (this.counts.size > MAX_NONCES) {
        const oldest = this.counts.keys().next();
        if (oldest.done !== true) this.counts.delete(oldest.value);
      }
      const nc = count.toString(16).padStart(8, '0');
      const cnonce = this.makeCnonce();
      response = digestResponse({
        algorithm: challenge.algorithm,
        username,
        realm: challenge.realm,
        password,
        method: request.method,
        uri: request.uri,
        nonce: challenge.nonce,
        qop,
        nc,
        cnonce,
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
      // RFC 3261 §25.1: message-qop and nonce-count are tokens, unquoted; cnonce is quoted.
      header += `, response=${quote(response)}, algorithm=${challenge.algorithm}, cnonce=${quote(cnonce)}, qop=${qop}, nc=${nc}`;
    }
    if (qop === undefined) header += `, response=${quote(response)}, algorithm=${challenge.algorithm}`;
    // RFC 7616 §3.4: opaque "MUST be returned by the client unchanged".
    if (challenge.opaque !== undefined) header += `, opaque=${quote(challenge.opaque)}`;
    this.pending.set(challenge.realm, { nonce: challenge.nonce, staleRetry });
    return header;
  }

  /**
   * The request answered last (for `realm`, or every realm) was accepted: a later challenge for
   * that realm is a new request's and is answered afresh.
   */
  accepted(realm?: string): void {
    if (realm === undefined) this.pending.clear();
    else this.pending.delete(realm);
  }

  /** The nonce count last sent with `nonce` (0 when never used). */
  nonceCount(nonce: string): number {
    return this.counts.get(nonce) ?? 0;
  }

  private pick(values: readonly string[]): DigestChallenge | undefined {
    for (const value of values) {
      let challenge: DigestChallenge;
      try {
        challenge = parseChallenge(value);
      } catch (err) {
        if (err instanceof DigestParseError) continue;
        throw err;
      }
      if (this.credentials.realm !== undefined && challenge.realm !== this.credentials.realm) continue;
      if (chooseQop(challenge.qop) === null) continue;
      return challenge;
    }
    return undefined;
  }
}

/** qop=auth preferred, auth-int when it is all that is offered; undefined = RFC 2069 form; null = none we do. */
function chooseQop(offered: readonly string[] | undefined): 'auth' | 'auth-int' | undefined | null {
  if (offered === undefined) return undefined;
  if (offered.includes('auth')) return 'auth';
  if (offered.includes('auth-int')) return 'auth-int';
  return null;
}
