import type { Bot, BotContext, BotEvent } from '../pipeline/index.js';
import type { MediaSessionStats } from '../rtp/index.js';
import type { BridgeMedia } from './bridge.js';

/**
 * Where a call's media session and bot live. A `Call` keeps the SIP side (dialog, SDP, timers,
 * events) in the main thread and talks to its media + bot only through a MediaHost:
 * LocalMediaHost runs them in the calling thread (calls.workers = 0, and the consult legs of
 * transfers), WorkerMediaHost in a media worker thread (src/call/media-worker.ts), where RTP,
 * the pacer and the pipeline run without a single per-packet message crossing threads. Every
 * operation here is small and structured so it can travel over postMessage.
 *
 * Ownership (mediasoup's worker model): the host owns its media session and bot; `close()` closes
 * both and is idempotent. A host whose worker dies reports `onFailed` once, and is closed.
 */

/** The negotiated remote media (RFC 3264), in plain data: the host picks the codec object. */
export interface MediaRemoteSpec {
  readonly address: string;
  readonly port: number;
  readonly rtcpPort?: number;
  readonly rtcpMux?: boolean;
  readonly codec: 'PCMU' | 'PCMA';
  /** The payload type on the wire (a dynamic number for a static codec is allowed). */
  readonly payloadType: number;
  readonly dtmfPayloadType?: number;
  /** We send RTP (sendrecv/sendonly from our side, and a reachable address). */
  readonly send: boolean;
  /** We expect RTP. */
  readonly receive: boolean;
}

/** What the call tells a host about itself when it creates one. */
export interface MediaHostInit {
  readonly callId: string;
  readonly botName: string;
  /**
   * The bot's context as the call lends it (metadata, logger, hangup/transfer/sendDtmf). A worker
   * host forwards the callbacks from its worker and rebuilds logger and clock there.
   */
  readonly context: BotContext;
  /** A bot built by the caller (a transfer's consult bot): only an in-thread host can take it. */
  readonly createBot?: (context: BotContext) => Bot;
  /** RFC 5761: RTCP on the RTP port (as offered). */
  readonly rtcpMux: boolean;
  /** Record the call as a stereo WAV at this path (calls.recordDir). */
  readonly recordPath?: string;
  /** An RFC 4733 digit from the caller (already handed to the bot by the host). */
  onDtmf(digit: string, durationMs: number): void;
  /** RTP stopped arriving (inactivity timeout). */
  onInactive(): void;
  onBotEvent(event: BotEvent): void;
  /** The host can no longer carry the call (its worker died); it has been closed. */
  onFailed(reason: string): void;
}

export interface MediaHost {
  /** Our RTP port, once open() resolved. */
  readonly localPort: number | undefined;
  /** Binds the RTP/RTCP ports (CAPACITY_NO_PORTS → 503 when none is free) and creates the bot. */
  open(): Promise<number>;
  /** Warms the bot (prepare()); rejects with the bot's error. */
  prepareBot(): Promise<void>;
  /** Initial answer, re-INVITE, hold / resume. */
  setRemote(remote: MediaRemoteSpec): void;
  /** The dialog exists: media ↔ bot (and the recorder), then bot.start(). */
  start(): void;
  /** Stops sending bot audio (before our BYE goes out). */
  mute(): void;
  /** RFC 4733 telephone-event toward the caller. */
  sendDtmf(digit: string, durationMs?: number): void;
  /** A digit that arrived another way (SIP INFO) for the bot. */
  dtmfToBot(digit: string): void;
  /** Tells the bot a transfer it asked for did not happen. */
  transferFailed(reason: string, status?: number): void;
  /**
   * The media statistics: live in-thread; for a worker host the worker's snapshot, sent with each
   * load report (calls.workers: at most one report period old), final after close().
   */
  readonly stats: MediaSessionStats | undefined;
  /** The bot leaves the media path (it is closed) and the media is handed to a bridge. */
  detachForBridge(): BridgeMedia;
  /** Closes bot and media (ports back to the pool); resolves with the final stats. Idempotent. */
  close(): Promise<MediaSessionStats | undefined>;
}

/** Creates the host for each call: in-thread, or pinned to the least loaded media worker. */
export interface MediaHostFactory {
  create(init: MediaHostInit): MediaHost;
}
