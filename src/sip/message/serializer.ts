import { HeaderList } from './sip-headers.js';
import { formatUri } from './sip-uri.js';
import type { SipHeaderField, SipMessage } from './types.js';

/**
 * The wire form of a message (RFC 3261 §7). Header fields go out in order, one per line, as
 * `Name: value`. Content-Length is always written and always equals the body length (§20.14:
 * "The Content-Length header field value MUST be set to zero" when there is no body; on stream
 * transports it MUST be present, §18.3); a Content-Length field already present keeps its place.
 * The start line and headers are built as one string and encoded once.
 */
export function serializeMessage(msg: SipMessage): Buffer {
  let head = msg.type === 'request' ? `${msg.method} ${formatUri(msg.uri)} SIP/2.0\r\n` : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  const bodyLen = msg.body.length;
  let wroteLength = false;
  const h = msg.headers;
  const fields: Iterable<SipHeaderField> = h instanceof HeaderList ? h.fields : h;
  for (const f of fields) {
    if (f.lname === 'content-length') {
      if (wroteLength) continue;
      head += `${f.name}: ${bodyLen}\r\n`;
      wroteLength = true;
    } else {
      head += `${f.name}: ${f.value}\r\n`;
    }
  }
  if (!wroteLength) head += `Content-Length: ${bodyLen}\r\n`;
  head += '\r\n';
  if (bodyLen === 0) return Buffer.from(head, 'utf8');
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + bodyLen);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLen);
  return out;
}
