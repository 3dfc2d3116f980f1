import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Call, CallManager } from '../call/index.js';
import { ERRORS, TrunklineError, isLoopbackHost, ConfigError, type Clock, type ErrorCode, type ErrorSpec, type TimerHandle, type Logger, type TrunklineConfig } from '../shared/index.js';
import { ApiMetrics, type LatenessReader, type RefusedReader } from './metrics.js';
import { CallWebhooks } from './call-webhooks.js';
import { callView } from './call-view.js';
import { CallIdParams, CallList, CallView, DialBody, DialCreated, DtmfBody, ErrorBody, Health, TransferAccepted, TransferBody } from './schemas.js';
import { WebhookSender } from './webhooks.js';

export interface ApiOptions {
  readonly config: TrunklineConfig;
  readonly calls: CallManager;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Pacer lateness for /metrics (main.ts passes pacer.lateness). */
  readonly lateness?: LatenessReader;
  /** SIP requests turned away before any transaction, for /metrics (main.ts passes the UA's). */
  readonly refused?: RefusedReader;
  /** Wall clock (ms) for timestamps and webhook signatures. Default Date.now. */
  readonly wallNow?: () => number;
  /** Webhook delivery: tests shorten the retry schedule or swap fetch. */
  readonly webhooks?: { timeoutMs?: number; maxAttempts?: number; backoffMs?: number; fetch?: typeof fetch };
}

export type ApiApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

export interface ApiServer {
  /** The fastify instance (tests use app.inject). */
  readonly app: ApiApp;
  readonly metrics: ApiMetrics;
  /** Undefined without TRUNKLINE_WEBHOOK_SECRET. */
  readonly webhooks: WebhookSender | undefined;
  /** Every route registered (method and URL), for the OpenAPI completeness test. */
  readonly routes: readonly { readonly method: string; readonly url: string; readonly hidden: boolean }[];
  /** Binds config.http.listen; resolves with the port actually bound. */
  listen(): Promise<number>;
  /** Stops listening, waits (bounded) for queued webhooks, closes the sender. Idempotent. */
  close(webhookFlushMs?: number): Promise<void>;
}

/** The body for a catalogue code (message template filled with `detail`). */
function errorBody(code: ErrorCode, detail?: string): { error: { code: string; message: string } } {
  const spec: ErrorSpec = ERRORS[code];
  return { error: { code, message: spec.message.replace('%s', detail ?? '') } };
}

function httpStatusOf(code: ErrorCode): number {
  const spec: ErrorSpec = ERRORS[code];
  return spec.httpStatus ?? 500;
}

/** Constant-time compare of the bearer token (RFC 6750 §2.1 `Authorization: Bearer <token>`). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m?.[1] === undefined) return false;
  const given = Buffer.from(m[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Paths anyone on the network may read: liveness, readiness and the API description. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/docs', '/docs/json']);

/**
 * Builds the HTTP API (fastify 5, TypeBox schemas, OpenAPI 3 at /docs/json): call control and
 * dial-out under /v1, /healthz, /readyz, /metrics. Every error has one shape
 * `{ error: { code, message } }` with a code from the catalogue; every log line of a request
 * carries its request id (`reqId`, taken from X-Request-Id when the client sends one).
 */
export async function buildApiServer(options: ApiOptions): Promise<ApiServer> {
  const { config, calls, clock } = options;
  const token = config.http.apiToken;
  if (token === undefined && !isLoopbackHost(config.http.listen.host)) {
    // buildConfig already refuses this; a hand-built config must not slip past it.
    throw new ConfigError('TRUNKLINE_API_TOKEN', 'a token when the HTTP API listens on a non-loopback address', config.http.listen.host);
  }
  const wallNow = options.wallNow ?? Date.now;
  const log = options.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: log,
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = new ApiMetrics(calls, options.lateness, options.refused);
  const secret = config.http.webhookSecret;
  const webhooks =
    secret === undefined
      ? undefined
      : new WebhookSender({
          secret,
          clock,
          logger: log,
          wallNow,
          ...(options.webhooks ?? {}),
          onResult: (result) => metrics.webhooks.inc({ result }),
        });
  const hooks = new CallWebhooks({ webhooks, defaultUrl: config.http.webhookUrl });
  calls.onCall((call) => hooks.track(call));
  const view = (call: Call): ReturnType<typeof callView> => callView(call, clock, wallNow);
  /** Resolves when `p` settles or after `ms` on the injected clock, whichever comes first. */
  const within = async (p: Promise<unknown>, ms: number): Promise<void> => {
    let timer: TimerHandle | undefined;
    await Promise.race([p, new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)))]);
    timer?.cancel();
  };

  const routes: { method: string; url: string; hidden: boolean }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
    for (const method of methods) if (method !== 'HEAD') routes.push({ method: String(method), url: route.url, hidden });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Trunkline API', version: '1', description: 'Dial-out, call control, transfers and operations for Trunkline.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  /** Sets the status for a catalogue code and returns the body (handlers return it). */
  const failBody = (reply: FastifyReply, code: ErrorCode, detail?: string): ReturnType<typeof errorBody> => {
    metrics.httpErrors.inc({ code });
    void reply.code(httpStatusOf(code));
    return errorBody(code, detail);
  };
  const fail = (reply: FastifyReply, code: ErrorCode, detail?: string): FastifyReply => reply.send(failBody(reply, code, detail));

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('x-request-id', request.id);
    if (token === undefined) return;
    const path = request.url.split('?')[0] ?? '';
    if (OPEN_PATHS.has(path)) return;
    if (!tokenMatches(request.headers.authorization, token)) {
      void reply.header('www-authenticate', 'Bearer realm="trunkline"');
      await fail(reply, 'API_UNAUTHORIZED');
    }
  });

  app.setErrorHandler((err: FastifyError | TrunklineError, request, reply) => {
    if (err instanceof TrunklineError) {
      request.log.info({ code: err.code }, err.message);
      metrics.httpErrors.inc({ code: err.code });
      return reply.code(err.httpStatus ?? 500).send({ error: { code: err.code, message: err.message } });
    }
    if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      const where = err.validationContext !== undefined ? `${err.validationContext}` : 'request';
      return fail(reply, 'API_VALIDATION', `${where}: ${err.message}`);
    }
    request.log.error({ err }, 'API handler failed');
    return fail(reply, 'API_INTERNAL');
  });
  app.setNotFoundHandler((request, reply) => fail(reply, 'API_NOT_FOUND', `${request.method} ${request.url.split('?')[0] ?? ''}`));

  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 501: ErrorBody, 503: ErrorBody };
  const live = (id: string): Call => {
    const call = calls.get(id);
    if (call === undefined) throw new TrunklineError('CALL_NOT_FOUND', id);
    return call;
  };
  const active = (id: string): Call => {
    const call = live(id);
    if (call.state === 'ended') throw new TrunklineError('CALL_ENDED', id);
    return call;
  };

  // ---- operations --------------------------------------------------------------------------------

  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', security: [], response: { 200: Health } } }, () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: 503 while draining', security: [], response: { 200: Health, 503: ErrorBody } } }, (_req, reply) => {
    if (calls.isDraining) return failBody(reply, 'CAPACITY_DRAINING');
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, (_req, reply) => reply.redirect('/docs/json'));

  // ---- calls -------------------------------------------------------------------------------------

  app.get('/v1/calls', { schema: { tags: ['calls'], summary: 'Live calls', response: { 200: CallList, ...errors } } }, () => ({
    calls: calls.list().map((c) => view(c)),
  }));

  app.post(
    '/v1/calls',
    { schema: { tags: ['calls'], summary: 'Dial out: the bot is warm before the INVITE leaves', body: DialBody, response: { 201: DialCreated, ...errors } } },
    (request, reply) => {
      const body = request.body;
      if (body.webhook !== undefined && webhooks === undefined) throw new TrunklineError('WEBHOOK_NO_SECRET');
      const call = calls.dial({
        to: body.to,
        ...(body.from !== undefined ? { from: body.from } : {}),
        ...(body.trunk !== undefined ? { trunk: body.trunk } : {}),
        ...(body.bot !== undefined ? { bot: body.bot } : {}),
        ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
        ...(body.headers !== undefined ? { headers: body.headers } : {}),
        ...(body.ringTimeout !== undefined ? { ringTimeoutSec: body.ringTimeout } : {}),
        ...(body.maxDuration !== undefined ? { maxDurationSec: body.maxDuration } : {}),
      });
      // Subscribed before the first event can fire: the call's start() awaits the port pool first.
      if (body.webhook !== undefined) hooks.subscribe(call, body.webhook, body.transcripts === true);
      request.log.info({ callId: call.callId, trunk: call.trunkName }, 'dial-out requested');
      void reply.code(201);
      return { id: call.callId, state: 'dialing' as const };
    },
  );

  app.get('/v1/calls/:id', { schema: { tags: ['calls'], summary: 'One call: state, cause, SIP codes, timings, media stats', params: CallIdParams, response: { 200: CallView, ...errors } } }, (request) =>
    view(live(request.params.id)),
  );

  app.post(
    '/v1/calls/:id/hangup',
    { schema: { tags: ['calls'], summary: 'Hang up (BYE, or CANCEL while dialing)', params: CallIdParams, response: { 200: CallView, ...errors } } },
    async (request) => {
      const call = active(request.params.id);
      // The BYE (or CANCEL → 487) normally completes in milliseconds; never hold the request long.
      await within(call.hangup('api-hangup'), 5000);
      return view(call);
    },
  );

  app.post(
    '/v1/calls/:id/dtmf',
    { schema: { tags: ['calls'], summary: 'Send DTMF (RFC 4733 telephone-events)', params: CallIdParams, body: DtmfBody, response: { 202: Type.Object({ id: Type.String(), digits: Type.String() }), ...errors } } },
    (request, reply) => {
      const call = active(request.params.id);
      call.sendDtmf(request.body.digits.toUpperCase(), request.body.durationMs);
      void reply.code(202);
      return { id: call.callId, digits: request.body.digits.toUpperCase() };
    },
  );

  app.post(
    '/v1/calls/:id/transfer',
    {
      schema: {
        tags: ['calls'],
        summary: 'Transfer: blind REFER (RFC 3515), attended REFER with Replaces (RFC 3891) with a bridged fallback, or bridge; progress in GET and webhooks',
        params: CallIdParams,
        body: TransferBody,
        response: { 202: TransferAccepted, ...errors },
      },
    },
    (request, reply) => {
      const call = active(request.params.id);
      const body = request.body;
      const mode = body.mode ?? 'blind';
      if (mode === 'blind' && (body.trunk !== undefined || body.summary !== undefined)) {
        throw new TrunklineError('API_VALIDATION', 'body: trunk and summary apply to attended and bridge transfers only');
      }
      const done = call.transferTo({
        target: body.target,
        mode,
        ...(body.trunk !== undefined ? { trunk: body.trunk } : {}),
        ...(body.summary !== undefined ? { summary: body.summary } : {}),
      });
      done.catch((err: unknown) => request.log.warn({ err }, 'transfer failed'));
      const t = call.info.transfer;
      void reply.code(202);
      return { id: call.callId, transfer: { target: t?.target ?? body.target, mode, stage: t?.stage ?? 'requested', consultCallId: t?.consultCallId ?? null } };
    },
  );

  let closing: Promise<void> | undefined;
  return {
    app,
    metrics,
    webhooks,
    routes,
    async listen(): Promise<number> {
      await app.listen({ host: config.http.listen.host, port: config.http.listen.port });
      const addr = app.server.address();
      return typeof addr === 'object' && addr !== null ? addr.port : config.http.listen.port;
    },
    close(webhookFlushMs = 2000): Promise<void> {
      closing ??= (async () => {
        await app.close();
        if (webhooks !== undefined) {
          await within(webhooks.idle(), webhookFlushMs);
          webhooks.close();
        }
        metrics.registry.clear();
      })();
      return closing;
    },
  };
}
