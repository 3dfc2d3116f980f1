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
  | 'error';

export type CallState = 'ringing' | 'answered' | 'ended';

/** The typed events a call emits; the API and webhooks consume them. */
export interface CallEventMap {
  ringing: { callId: string };
  answered: { callId: string; answeredAt: number };
  ended: { callId: string; cause: EndCause; sipStatus?: number; durationMs: number };
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
  private readonly listeners: { [K in keyof CallEventMap]?: Listener<CallEventMap[K]>[] } = {};

  constructor(private readonly logger: Logger) {}

  on<K extends keyof CallEventMap>(name: K, listener: Listener<CallEventMap[K]>): void {
    const list = (this.listeners[name] ??= []) as Listener<CallEventMap[K]>[];
    list.push(listener);
  }

  emit<K extends keyof CallEventMap>(name: K, payload: CallEventMap[K]): void {
    const list = this.listeners[name] as Listener<CallEventMap[K]>[] | undefined;
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
    for (const key of Object.keys(this.listeners) as (keyof CallEventMap)[]) delete this.listeners[key];
  }
}
