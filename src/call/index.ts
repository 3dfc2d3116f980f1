/**
 * src/call: a call joins a SIP dialog (src/sip), a media session (src/rtp, src/codec) and a bot
 * pipeline (src/pipeline). The API (src/api) and main.ts use this file only.
 */
export { Call } from './call.js';
export type { CallDeps, CallInfo } from './call.js';
export { CallEvents } from './call-events.js';
export type { CallEventMap, CallState, EndCause } from './call-events.js';
export { CallManager } from './call-manager.js';
export type { IncomingCallSource } from './call-manager.js';
export { CallRouter } from './router.js';
export type { RouteInput } from './router.js';
