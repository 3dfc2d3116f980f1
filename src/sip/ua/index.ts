/**
 * The SIP user agent (RFC 3261 §8, §13-§15): incoming and outgoing INVITE sessions on top of the
 * dialog layer, request screening (trunk source, digest, method, Require, Max-Forwards), OPTIONS.
 */
export { SipUserAgent } from './user-agent.js';
export { resolveHop, pickSrv, systemDns } from './hop-resolver.js';
export type { HopDns, SrvRecord } from './hop-resolver.js';
export type { SipUserAgentOptions, UaTransport, RefusedRequests } from './user-agent.js';
export { InboundCall } from './incoming-call.js';
export type { IncomingCall, IncomingCallState } from './incoming-call.js';
export { OutboundCall, requestUriFor } from './outgoing-call.js';
export type { OutgoingCall, OutgoingCallResult, InviteOptions } from './outgoing-call.js';
export { checkRequest, SUPPORTED_METHODS, KNOWN_UNSUPPORTED_METHODS } from './request-policy.js';
export { screenRequest, isScannerUserAgent, SCANNER_USER_AGENTS, MAX_VIA_VALUES } from './request-screen.js';
export type { ScreenPolicy, ScreenCounts } from './request-screen.js';
