export type { G711, Direction, RemoteMedia, NegotiatedMedia, LocalMediaOptions } from './sdp-types.js';
export { SdpError } from './sdp-error.js';
export { parseSdp } from './sdp-parse.js';
export { LocalSdpSession } from './local-sdp-session.js';
export type { AnswerOptions, OfferOptions } from './local-sdp-session.js';
