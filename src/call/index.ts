/**
 * src/call: a call joins a SIP dialog (src/sip), a media session (src/rtp, src/codec) and a bot
 * pipeline (src/pipeline), inbound or dial-out. The API (src/api) and main.ts use this file only.
 */
export { Call, dialOutcome, referTarget } from './call.js';
export type { CallDeps, CallInfo, CallOptions, CallOrigin, ConsultDialRequest, DialRequest, OutgoingCallSource, TransferInfo, TransferRequest, TransferResult } from './call.js';
export { Bridge } from './bridge.js';
export type { BridgeEndReason, BridgeLeg, BridgeMedia, BridgeState, BridgeStats } from './bridge.js';
export { ConsultBot } from './consult-bot.js';
export { CallEvents } from './call-events.js';
export type { CallDirection, CallEventMap, CallOutcome, CallState, EndCause, TransferMode, TransferStage } from './call-events.js';
export { CallManager } from './call-manager.js';
export type { DialOptions, IncomingCallSource } from './call-manager.js';
export { CallRouter } from './router.js';
export type { RouteInput } from './router.js';
export { LocalMediaHost, LocalMediaHostFactory } from './local-media-host.js';
export type { LocalMediaDeps } from './local-media-host.js';
export type { MediaHost, MediaHostFactory, MediaHostInit, MediaRemoteSpec } from './media-host.js';
export { WorkerPool, workerCount, portSlices, splitPortRange } from './worker-pool.js';
export type { WorkerPoolOptions, WorkerStatus } from './worker-pool.js';
export type { WorkerLoad } from './media-worker-protocol.js';
