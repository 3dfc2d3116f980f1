/**
 * The SIP message layer (RFC 3261 §7, §19, §20, §25): parsing, framing, serializing, and the
 * structured views of headers and URIs that the transport, transaction, dialog and UA layers use.
 */
export * from './types.js';
export { SipParseError } from './sip-parse-error.js';
export { parseMessage } from './sip-parser.js';
export type { ParseOptions } from './sip-parser.js';
export { SipStreamFramer } from './stream-framer.js';
export { serializeMessage } from './serializer.js';
export { createHeaders } from './sip-headers.js';
export { parseUri, formatUri, uriEquals } from './sip-uri.js';
export { parseNameAddr, formatNameAddr } from './name-addr.js';
export { parseVia, formatVia } from './via.js';
export { parseCSeq } from './cseq.js';
export { parseParams, formatParams, quote, unquote } from './sip-params.js';
export { createRequest, createResponse } from './builders.js';
export { reasonPhrase } from './reason-phrases.js';
export { generateBranch, generateTag, generateCallId } from './identifiers.js';
export { headerName } from './header-names.js';
export { splitList } from './list-split.js';
