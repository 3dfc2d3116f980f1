import type { SipHeaders } from './types.js';

/**
 * A message that cannot be accepted. `status` is the response an element sends when it can
 * (RFC 3261 §8.2: 400 malformed, 505 version, 413 too large, 416 scheme); `partial` carries
 * the headers parsed so far when they suffice to build that response (Via, From, To, Call-ID,
 * CSeq — RFC 3261 §8.2.6.2), otherwise it is undefined and the message is silently dropped.
 */
export class SipParseError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly partial?: { method?: string; headers: SipHeaders };

  constructor(status: number, reason: string, partial?: { method?: string; headers: SipHeaders }) {
    super(`${status} ${reason}`);
    this.name = 'SipParseError';
    this.status = status;
    this.reason = reason;
    if (partial !== undefined) this.partial = partial;
  }
}

/** Shorthand for the common case: a 400 with a reason phrase naming the defect. */
export function badRequest(reason: string): SipParseError {
  return new SipParseError(400, reason);
}
