import type { BotEvent } from '../pipeline/index.js';
import type { LatencyStats, MediaSessionStats } from '../rtp/index.js';
import type { TrunklineConfig } from '../shared/index.js';
import type { MediaRemoteSpec } from './media-host.js';

/**
 * The messages between the main thread and a media worker. Only call control crosses threads —
 * open, remote description, start, DTMF, close, bot requests and events, load reports — never a
 * packet or a frame: a call's RTP, pacer and pipeline all run inside its worker. `sid` is the
 * session number the main thread gave the call on that worker.
 */

/** workerData of a media worker. */
export interface MediaWorkerData {
  readonly index: number;
  readonly config: TrunklineConfig;
  /** This worker's own slice of the RTP range (its own PortPool: no port is shared). */
  readonly portMin: number;
  readonly portMax: number;
  /** Load report period (ms). */
  readonly reportMs: number;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  /** A TrunklineError's code, rebuilt on the main side (so CAPACITY_NO_PORTS still maps to 503). */
  readonly code?: string;
}

export type ToWorker =
  | {
      readonly t: 'open';
      readonly sid: number;
      readonly callId: string;
      readonly botName: string;
      readonly metadata: Record<string, string>;
      readonly rtcpMux: boolean;
      readonly recordPath?: string;
    }
  | { readonly t: 'prepare'; readonly sid: number }
  | { readonly t: 'remote'; readonly sid: number; readonly remote: MediaRemoteSpec }
  | { readonly t: 'start'; readonly sid: number }
  | { readonly t: 'mute'; readonly sid: number }
  | { readonly t: 'send-dtmf'; readonly sid: number; readonly digit: string; readonly durationMs?: number }
  | { readonly t: 'bot-dtmf'; readonly sid: number; readonly digit: string }
  | { readonly t: 'transfer-failed'; readonly sid: number; readonly reason: string; readonly status?: number }
  | { readonly t: 'stats'; readonly sid: number }
  | { readonly t: 'close'; readonly sid: number }
  /**
   * Stop: close every session and the worker's own engines, then let the thread end by itself.
   * worker.terminate() is the last resort only: terminating a thread that holds WebAssembly
   * (the VAD, flite) can crash or hang the whole process in Node's environment teardown
   * (nodejs/node#47748, #33377).
   */
  | { readonly t: 'shutdown' }
  /**
   * The call joins a media bridge (transfer fallback or mode bridge): its bot is closed and, from
   * now on, its decoded frames go to the main thread and the frames it sends come from there —
   * the one case where audio crosses threads (50 small messages a second per bridged leg).
   */
  | { readonly t: 'bridge'; readonly sid: number }
  /** A bridged leg: one 20 ms frame (160 samples) to queue for sending. */
  | { readonly t: 'frame'; readonly sid: number; readonly pcm: Int16Array }
  /** A bridged leg: drop the frames queued for sending. */
  | { readonly t: 'clear'; readonly sid: number }
  /** Test only: the worker throws from its event loop, as a crash would. */
  | { readonly t: 'crash' };

export type FromWorker =
  /** The worker has loaded its code and listens: the pool's start() resolves on it. */
  | { readonly t: 'ready' }
  | { readonly t: 'opened'; readonly sid: number; readonly localPort: number; readonly stats: MediaSessionStats | undefined }
  | { readonly t: 'open-failed'; readonly sid: number; readonly error: SerializedError }
  | { readonly t: 'prepared'; readonly sid: number }
  | { readonly t: 'prepare-failed'; readonly sid: number; readonly error: SerializedError }
  | { readonly t: 'dtmf'; readonly sid: number; readonly digit: string; readonly durationMs: number }
  /** A bridged leg: the frame decoded this tick (non-silent only). */
  | { readonly t: 'frame'; readonly sid: number; readonly pcm: Int16Array }
  | { readonly t: 'inactive'; readonly sid: number }
  | { readonly t: 'bot-event'; readonly sid: number; readonly event: BotEvent }
  | { readonly t: 'bot-hangup'; readonly sid: number; readonly reason: string }
  | { readonly t: 'bot-transfer'; readonly sid: number; readonly target: string }
  | { readonly t: 'bot-send-dtmf'; readonly sid: number; readonly digits: string }
  | { readonly t: 'stats'; readonly sid: number; readonly stats: MediaSessionStats | undefined }
  | { readonly t: 'closed'; readonly sid: number; readonly stats: MediaSessionStats | undefined }
  | { readonly t: 'load'; readonly load: WorkerLoad }
  /** With each load report: every session's statistics, so `Call.mediaStats` is at most one report old. */
  | { readonly t: 'stats-batch'; readonly sids: readonly number[]; readonly stats: readonly MediaSessionStats[] }
  /** One pino JSON record of the worker's, for the main thread's logger (one writer, one config). */
  | { readonly t: 'log'; readonly line: string };

/** What a worker reports every `reportMs`. */
export interface WorkerLoad {
  /** Media sessions open in the worker. */
  readonly sessions: number;
  /** Pacer lateness over the last report period (send lateness of every 20 ms tick). */
  readonly lateness: LatencyStats;
  /** Event-loop utilisation of the worker's thread over the period (0–1). */
  readonly utilization: number;
  /** Ticks the pacer dropped over the period (stalls longer than its catch-up). */
  readonly skippedTicks: number;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
