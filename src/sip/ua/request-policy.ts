import { createResponse, generateTag } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import { ALLOW, SUPPORTED_TAGS } from '../dialog/index.js';

/** Methods we implement (RFC 3261 §8.2.1). */
export const SUPPORTED_METHODS: ReadonlySet<string> = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'UPDATE', 'INFO', 'REFER', 'NOTIFY']);

/**
 * Methods we know but do not serve on a trunk: registrations, presence, messaging, reliable
 * provisionals. §8.2.1: "If the UAS recognizes but does not support the method of a request, it
 * MUST generate a 405 (Method Not Allowed) response ... The UAS MUST also add an Allow header".
 */
export const KNOWN_UNSUPPORTED_METHODS: ReadonlySet<string> = new Set(['REGISTER', 'SUBSCRIBE', 'MESSAGE', 'PUBLISH', 'PRACK']);

function reject(req: SipRequest, status: number, headers: [string, string][] = [], reason?: string): SipResponse {
  return createResponse(req, status, reason, { toTag: generateTag(), headers });
}

/**
 * RFC 3262 §3: an INVITE with `Require: 100rel` obliges the UAS to send every provisional response
 * other than 100 reliably. Trunkline sends none then (the bot is warm before the 200, and a 180
 * without it is suppressed: see InboundCall.ringing), which meets the obligation without PRACK;
 * so such INVITEs are accepted rather than refused with 420. 100rel is not advertised in
 * Supported: a peer must not send us reliable provisionals.
 */
export function requires100rel(req: SipRequest): boolean {
  return req.headers.getAll('require').some(is100rel);
}

const is100rel = (tag: string): boolean => tag.trim().toLowerCase() === '100rel';

/**
 * The UAS checks of RFC 3261 §8.2 that do not depend on a dialog, in the RFC's order: method
 * inspection (§8.2.1), then Max-Forwards, then extensions (§8.2.2.3). Returns the response that
 * refuses the request, or undefined when it may proceed. ACK is never answered.
 */
export function checkRequest(req: SipRequest): SipResponse | undefined {
  const method = req.method;
  if (method === 'ACK') return undefined;
  if (!SUPPORTED_METHODS.has(method)) {
    if (KNOWN_UNSUPPORTED_METHODS.has(method)) return reject(req, 405, [['Allow', ALLOW]]);
    // §21.5.2: 501 "is the appropriate response when a UAS does not recognize the request method".
    return reject(req, 501, [['Allow', ALLOW]]);
  }
  // A UA is the end of the path; a request that arrives with Max-Forwards 0 came through a loop of
  // proxies. §16.3 step 3's 483 is applied here as well (OPTIONS is exempt: §11 lets a UA answer it).
  const mf = req.headers.get('max-forwards');
  if (mf !== undefined && /^\s*0+\s*$/.test(mf) && method !== 'OPTIONS') return reject(req, 483);
  // §8.2.2.3: "If a UAS does not understand an option-tag listed in a Require header field, it MUST respond by generating a response with status code 420 (Bad Extension). The UAS MUST add an Unsupported header field".
  if (method !== 'CANCEL') {
    const unsupported = req.headers
      .getAll('require')
      .map((t) => t.trim())
      .filter((t) => t.length > 0 && !SUPPORTED_TAGS.has(t.toLowerCase()) && !(method === 'INVITE' && is100rel(t)));
    if (unsupported.length > 0) return reject(req, 420, [['Unsupported', unsupported.join(', ')]]);
  }
  return undefined;
}
