import type { Call } from '../call/index.js';
import type { WebhookEventType, WebhookSender } from './webhooks.js';

export interface CallWebhooksOptions {
  /** Undefined without a webhook secret: then nothing is sent. */
  readonly webhooks: WebhookSender | undefined;
  /** TRUNKLINE_WEBHOOK_URL: every call's events go here. */
  readonly defaultUrl: string | undefined;
}

/**
 * Turns a call's events into webhook deliveries: ringing, answered, ended (cause, outcome, SIP
 * status), transfer progress, DTMF, and transcripts when the subscriber asked for them. Each
 * subscription numbers its events from 1, so a receiver can see a gap or a duplicate.
 */
export class CallWebhooks {
  constructor(private readonly options: CallWebhooksOptions) {}

  /** Every new call: subscribes the deployment-wide URL, if one is configured. */
  track(call: Call): void {
    if (this.options.defaultUrl !== undefined) this.subscribe(call, this.options.defaultUrl, false);
  }

  subscribe(call: Call, url: string, transcripts: boolean): void {
    const sender = this.options.webhooks;
    if (sender === undefined) return;
    let sequence = 0;
    const post = (type: WebhookEventType, data: Record<string, unknown>): void => {
      void sender.send(url, sender.event(type, call.callId, ++sequence, data));
    };
    const direction = call.direction;
    call.events.on('ringing', (e) => post('call.ringing', { direction, status: e.status }));
    call.events.on('answered', () => post('call.answered', { direction }));
    call.events.on('ended', (e) => post('call.ended', { direction, cause: e.cause, outcome: e.outcome, sipStatus: e.sipStatus ?? null, durationMs: Math.round(e.durationMs) }));
    call.events.on('transfer', (e) =>
      post('call.transfer', { target: e.target, mode: e.mode, stage: e.stage, status: e.status ?? null, reason: e.reason ?? null, consultCallId: e.consultCallId ?? null }),
    );
    call.events.on('dtmf', (e) => post('call.dtmf', { digit: e.digit, source: e.source }));
    if (transcripts) call.events.on('transcript', (e) => post('call.transcript', { role: e.role, text: e.text, final: e.final }));
  }
}
