/**
 * src/api: Trunkline's HTTP API (fastify 5): dial-out and call control under /v1, signed
 * webhooks, /healthz, /readyz, /metrics and the OpenAPI document at /docs/json. Talks to src/call.
 */
export { buildApiServer } from './server.js';
export type { ApiOptions, ApiServer } from './server.js';
export { ApiMetrics } from './metrics.js';
export type { LatenessReader, RefusedReader } from './metrics.js';
export { WebhookSender, signWebhook, verifyWebhookSignature, SIGNATURE_HEADER } from './webhooks.js';
export type { WebhookEvent, WebhookEventType, WebhookSenderOptions, SignatureVerdict } from './webhooks.js';
export { CallWebhooks } from './call-webhooks.js';
export { callView } from './call-view.js';
export type { CallView, DialBody, DtmfBody, TransferBody } from './schemas.js';
