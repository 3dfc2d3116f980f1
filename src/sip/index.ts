/**
 * Trunkline's RFC 3261 SIP stack. The layers go message → transport → transaction → dialog → ua
 * (sdp and auth are helpers); src/call uses this file only.
 *
 * Entry point: `SipUserAgent` ({ config, clock, logger }) — start(), onIncomingCall(call =>
 * call.ringing() / call.answer(sdp) → Dialog / call.reject(status)), invite({ trunk, to, sdp }) →
 * OutgoingCall with `result`, options(target), close(). A Dialog carries onBye, onReinvite
 * (answer offers, throw SdpError for 488), onAck, onRemoteSdp, onDtmf, onInfo, onRefer, onNotify,
 * onTerminated, and bye(), reinvite(sdp), refer(target, { replaces }), info(type, body).
 */
export * from './ua/index.js';
export { SipDialog, DialogSet, RouteSet, HandlerList, glareRetryDelayMs, parseDtmfInfo, parseSipfragStatus, parseSessionExpires, negotiateAsUas, negotiateAsUac, ALLOW, SUPPORTED } from './dialog/index.js';
export type { Dialog, DialogState, TerminationCause, ReferProgress, ReferDecision, ReferResult, DtmfDigit, SessionExpires, Refresher } from './dialog/index.js';
export {
  SipParseError,
  parseMessage,
  serializeMessage,
  createHeaders,
  parseUri,
  formatUri,
  uriEquals,
  parseNameAddr,
  formatNameAddr,
  parseVia,
  formatVia,
  parseCSeq,
  createRequest,
  createResponse,
  reasonPhrase,
  generateBranch,
  generateTag,
  generateCallId,
} from './message/index.js';
export type { SipMessage, SipRequest, SipResponse, SipUri, NameAddr, Via, CSeq, SipHeaders, SipParams } from './message/index.js';
export { SipTransport } from './transport/index.js';
export type { SipEndpoint, TransportProtocol, InboundMessage } from './transport/index.js';
export { TransactionLayer } from './transaction/index.js';
export type { TransactionTimers, ServerTransaction, ClientTransaction } from './transaction/index.js';
export { LocalSdpSession, SdpError, parseSdp } from './sdp/index.js';
export type { G711, Direction, RemoteMedia, NegotiatedMedia, LocalMediaOptions } from './sdp/index.js';
export { DigestClient, DigestServer, parseCredentials } from './auth/index.js';
export { InboundTrunkTable } from './trunk/index.js';
export type { TrunkMatch } from './trunk/index.js';
export { localAddressToward, isWildcard } from './transport/index.js';
