import type { CSeq, Via } from '../message/index.js';

/** RFC 3261 §8.1.1.7: "The branch ID inserted by an element compliant with this specification MUST always begin with the characters z9hG4bK." */
export const MAGIC_COOKIE = 'z9hG4bK';

export function hasMagicCookie(branch: string | null | undefined): branch is string {
  return typeof branch === 'string' && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length;
}

/** The Via sent-by with the transport's default port filled in (§18.2.2, §19.1.2: 5060, 5061 for TLS). */
export function sentBy(via: Via): string {
  const port = via.port ?? (via.transport === 'TLS' ? 5061 : 5060);
  return `${via.host.toLowerCase()}:${port}`;
}

/** What a server transaction key is built from; all strings as they appear in the request. */
export interface ServerKeyInput {
  /** Top Via of the request (after `received` stamping: stamping does not change sent-by or branch). */
  via: Via;
  /** The method to match against: ACK and (for the INVITE it cancels) CANCEL use 'INVITE'. */
  method: string;
  requestUri: string;
  callId: string;
  fromTag: string;
  cseq: CSeq;
}

/**
 * RFC 3261 §17.2.3. With a z9hG4bK branch: "the branch parameter in the request is equal to the
 * one in the top Via header field of the request that created the transaction, the sent-by value
 * in the top Via of the request is equal to the one in the request that created the transaction,
 * and the method of the request matches the one that created the transaction, except for ACK,
 * where the method of the request that created the transaction is INVITE."
 *
 * Without the cookie (RFC 2543 peers) the §17.2.3 fallback compares Request-URI, From tag,
 * Call-ID, CSeq number and top Via; the To tag is left out so that the ACK (which carries the tag
 * of our final response) and a CANCEL (which carries none) land on the INVITE's key.
 */
export function serverTransactionKey(k: ServerKeyInput): string {
  const branch = k.via.params.get('branch');
  if (hasMagicCookie(branch)) return `${branch}|${sentBy(k.via)}|${k.method}`;
  return `2543|${k.requestUri}|${k.fromTag}|${k.callId}|${k.cseq.seq}|${sentBy(k.via)}|${branch ?? ''}|${k.method}`;
}

/**
 * RFC 3261 §17.1.3: a response matches a client transaction when "the response has the same value
 * of the branch parameter in the top Via header field as the branch parameter in the top Via
 * header field of the request that created the transaction" and "the method parameter in the CSeq
 * header field matches the method of the request that created the transaction" (CANCEL shares its
 * branch with the INVITE it cancels).
 */
export function clientTransactionKey(branch: string, cseqMethod: string): string {
  return `${branch}|${cseqMethod}`;
}

/** RFC 3261 §8.2.2.2 merged-request detection: From tag, Call-ID and CSeq of a request without To tag. */
export function mergedRequestKey(callId: string, fromTag: string, cseq: CSeq): string {
  return `${callId}|${fromTag}|${cseq.seq}|${cseq.method}`;
}
