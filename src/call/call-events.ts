import type { TurnMetrics } from '../pipeline/index.js';
import type { Logger } from '../shared/index.js';

/** Why a call ended. */
export type EndCause =
  | 'caller-bye'
  | 'bot-hangup'
  | 'cancel'
  | 'rtp-timeout'
  | 'max-duration'
  | 'session-expired'
  | 'ack-timeout'
  | 'transferred'
  | 'rejected'
  | 'shutdown'
  | 'error'
  /** Ended through the HTTP API (POST /v1/calls/:id/hangup). */
  | 'api-hangup'
  /** Dial-out outcomes (the callee never answered): 486/600, ring timeout, other 4xx/5xx/6xx. */
  | 'busy'
  | 'no-answer'
  | 'failed'
  /** The other leg of a bridge (or the call a consult leg served) ended, so we ended this one. */
  | 'peer-leg-ended'
  /** The media worker thread carrying the call died (BYE with Q.850 cause 41). */
  | 'media-failed';

/** `dialing` only for calls we place, until the first 180/183. */
export type CallState = 'dialing' | 'ringing' | 'answered' | 'ended';

export type CallDirection = 'inbound' | 'outbound';

/**
 * How the call's INVITE ended, for metrics and webhooks. For dial-out, exactly the mapping:
 * 2xx answered, 486/600 busy, our ring timeout (CANCEL) no-answer, 603 rejected, any other final
 * failed (with the SIP code). `cancelled`: the caller (inbound) or we (outbound) gave up first.
 */
export type CallOutcome = 'answered' | 'busy' | 'no-answer' | 'rejected' | 'failed' | 'cancelled';

/**
 * Transfer progress. Blind: requested → progress (NOTIFY 1xx) → succeeded | failed. Attended and
 * bridge (RFC 5589 §7): requested → progress (the consult leg's 180/183) → consulting (the target
 * answered; the summary plays) → then attended: progress (NOTIFY 1xx of the REFER with Replaces)
 * → succeeded, or fallback (REFER refused or not allowed) → bridged; bridge: bridged at once.
 * failed when the consult leg never answered or hung up before the hand-over.
 */
export type TransferStage = 'requested' | 'progress' | 'consulting' | 'fallback' | 'bridged' | 'succeeded' | 'failed';

export type TransferMode = 'blind' | 'attended' | 'bridge';

/** The typed events a call emits; the API and webhooks consume them. */
export interface CallEventMap {
  ringing: { callId: string; status: number };
  answered: { callId: string; answeredAt: number };
  ended: { callId: string; cause: EndCause; outcome: CallOutcome; sipStatus?: number; durationMs: number };
  /** Transfer progress (see TransferStage); `consultCallId` is the consult leg once placed. */
  transfer: { callId: string; target: string; mode: TransferMode; stage: TransferStage; status?: number; reason?: string; consultCallId?: string };
  dtmf: { callId: string; digit: string; source: 'rfc4733' | 'info' };
  transcript: { callId: string; role: 'user' | 'bot'; text: string; final: boolean };
  'turn-metrics': { callId: string; metrics: TurnMetrics };
}

type Listener<T> = (payload: T) => void;

/**
 * A small typed emitter in the style of mediasoup's EnhancedEventEmitter: a listener that throws
 * is caught and logged, never kills the emitter or the other listeners.
 */
export class CallEvents {
  // Stored untyped; `on` and `emit` are the typed doors in and out.
  private readonly listeners = new Map<keyof CallEventMap, Listener<unknown>[]>();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof CallEventMap>(name: K, listener: Listener<CallEventMap[K]>): void {
    let list = this.listeners.get(name);
    if (list === undefined) {
      list = [];
      this.listeners.set(name, list);
    }
    list.push(listener as Listener<unknown>);
  }

  emit<K extends keyof CallEventMap>(name: K, payload: CallEventMap[K]): void {
    const list = this.listeners.get(name);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch (err) {
        this.logger.error({ err, event: name }, 'call event listener threw');
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
