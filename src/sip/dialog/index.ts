/**
 * The SIP dialog layer (RFC 3261 §12-§15): dialog state and in-dialog requests, route sets,
 * 2xx retransmission until ACK, glare, session timers (RFC 4028), UPDATE (RFC 3311), INFO
 * (RFC 6086), REFER/NOTIFY (RFC 3515).
 */
export { SipDialog, dialogId, tagOf } from './dialog.js';
export type { Dialog, DialogInit, DialogState, TerminationCause, ReferProgress, ReferDecision, ReferResult } from './dialog.js';
export { DialogSet } from './dialog-set.js';
export { RouteSet } from './route-set.js';
export type { RoutedRequest } from './route-set.js';
export { ALLOW, SUPPORTED, SUPPORTED_TAGS } from './dialog-context.js';
export type { DialogContext } from './dialog-context.js';
export { ClientRequest, sendRequest } from './client-request.js';
export type { ClientRequestHandlers, RequestOutcome } from './client-request.js';
export { InviteServerSession } from './invite-server-session.js';
export type { InviteServerSessionState } from './invite-server-session.js';
export {
  SessionTimer,
  parseSessionExpires,
  formatSessionExpires,
  negotiateAsUas,
  negotiateAsUac,
  uacRequestHeaders,
  minSEFrom422,
  hasOptionTag,
} from './session-timer.js';
export type { Refresher, SessionExpires, SessionTimerSettings, UasNegotiation } from './session-timer.js';
export { glareRetryDelayMs } from './glare.js';
export { parseDtmfInfo } from './dtmf-relay.js';
export type { DtmfDigit } from './dtmf-relay.js';
export { parseSipfragStatus, subscriptionState } from './sipfrag.js';
export { HandlerList } from './handler-list.js';
