import { reasonPhrase } from './reason-phrases.js';
import { HeaderField, HeaderList, toHeaderList } from './sip-headers.js';
import { parseParams } from './sip-params.js';
import { formatUri, parseUri } from './sip-uri.js';
import type { SipHeaders, SipRequest, SipResponse, SipUri } from './types.js';

function toBody(body: Buffer | string | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** A request from parts; `uri` may be text. Headers are taken as given (no defaults added). */
export function createRequest(init: {
  method: string;
  uri: SipUri | string;
  headers?: Iterable<readonly [string, string]> | SipHeaders;
  body?: Buffer | string;
}): SipRequest {
  const uri = typeof init.uri === 'string' ? parseUri(init.uri) : init.uri;
  return {
    type: 'request',
    method: init.method,
    uri,
    rawUri: typeof init.uri === 'string' ? init.uri : formatUri(uri),
    headers: toHeaderList(init.headers),
    body: toBody(init.body),
  };
}

/** Header fields copied from request to response (RFC 3261 §8.2.6.2). */
const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/**
 * A response to `req` (RFC 3261 §8.2.6.2): "the From field of the response MUST equal the From
 * header field of the request. The Call-ID ... MUST equal ... The CSeq ... MUST equal ... The
 * Via header field values in the response MUST equal the Via header field values in the
 * request and MUST maintain the same ordering." The To tag is added when the request's To has
 * none and the status is above 100 (§8.2.6.2: "the UAS MUST add a tag"). §8.2.6.1: a 100
 * Trying copies the Timestamp header.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  options?: { toTag?: string; headers?: Iterable<readonly [string, string]>; body?: Buffer | string },
): SipResponse {
  const headers = new HeaderList();
  for (const f of req.headers) {
    if (COPIED.has(f.lname) || (status === 100 && f.lname === 'timestamp')) {
      let value = f.value;
      if (f.lname === 'to' && status > 100 && options?.toTag !== undefined && !hasTag(value)) {
        value = `${value};tag=${options.toTag}`;
      }
      headers.fields.push(new HeaderField(f.name, f.lname, value));
    }
  }
  if (options?.headers !== undefined) for (const [n, v] of options.headers) headers.append(n, v);
  return { type: 'response', status, reason: reason ?? reasonPhrase(status), headers, body: toBody(options?.body) };
}

/** True when the To/From value already carries a `tag` header parameter. */
function hasTag(value: string): boolean {
  // Header params follow the closing '>' (or the whole value for an addr-spec).
  const gt = value.lastIndexOf('>');
  const semi = value.indexOf(';', gt === -1 ? 0 : gt);
  if (semi === -1) return false;
  try {
    return parseParams(value.slice(semi)).has('tag');
  } catch {
    return /;\s*tag\s*=/i.test(value);
  }
}
