/**
 * The HTTP API through fastify's inject (no sockets for requests; the server itself runs whole,
 * SIP on a free port): auth, every validation error, the error shape, health, metrics, OpenAPI.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiServer, type ApiServer } from '../../src/api/index.js';
import { ConfigError, buildConfig, silentLogger, systemClock, type TrunklineConfig } from '../../src/shared/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

interface ErrorReply {
  error: { code: string; message: string };
}

describe('HTTP API (inject)', () => {
  let ts: TestServer;
  let api: ApiServer;

  beforeAll(async () => {
    ts = await startTestServer({
      file: {
        http: { apiToken: TOKEN, webhookSecret: 'whsec-0123456789abcdef' },
        trunks: { outbound: [{ name: 'carrier', uri: 'sip:127.0.0.1:9' }] },
      },
    });
    const a = ts.server.api;
    if (a === undefined) throw new Error('API not started');
    api = a;
  });
  afterAll(async () => {
    await ts.stop();
  });

  const inject = (method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = auth) =>
    api.app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) });

  async function expectError(res: Awaited<ReturnType<typeof inject>>, status: number, code: string): Promise<ErrorReply> {
    expect(res.statusCode, res.body).toBe(status);
    const body = res.json<ErrorReply>();
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
    return Promise.resolve(body);
  }

  it('binds a real HTTP port and answers /healthz over TCP', async () => {
    expect(ts.server.httpPort).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${ts.server.httpPort}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('/healthz and /readyz need no token', async () => {
    expect((await inject('GET', '/healthz', undefined, {})).json()).toEqual({ status: 'ok' });
    const ready = await inject('GET', '/readyz', undefined, {});
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it.each([
    ['GET', '/v1/calls'],
    ['POST', '/v1/calls'],
    ['GET', '/v1/calls/x'],
    ['POST', '/v1/calls/x/hangup'],
    ['POST', '/v1/calls/x/dtmf'],
    ['POST', '/v1/calls/x/transfer'],
    ['GET', '/metrics'],
  ] as const)('%s %s without a token: 401 API_UNAUTHORIZED', async (method, url) => {
    const res = await inject(method, url, method === 'POST' ? {} : undefined, {});
    await expectError(res, 401, 'API_UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="trunkline"');
  });

  it.each([
    ['a wrong token', { authorization: 'Bearer wrong-token-0123456789abcd' }],
    ['a token one character short', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['no scheme', { authorization: TOKEN }],
  ])('%s: 401', async (_name, headers) => {
    await expectError(await inject('GET', '/v1/calls', undefined, headers), 401, 'API_UNAUTHORIZED');
  });

  it('lists no calls on an idle server', async () => {
    const res = await inject('GET', '/v1/calls');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ calls: [] });
  });

  it.each([
    ['GET', '/v1/calls/no-such-call', undefined],
    ['POST', '/v1/calls/no-such-call/hangup', undefined],
    ['POST', '/v1/calls/no-such-call/dtmf', { digits: '1' }],
    ['POST', '/v1/calls/no-such-call/transfer', { target: 'sip:op@example.com' }],
  ] as const)('%s %s: 404 CALL_NOT_FOUND', async (method, url, body) => {
    const res = await inject(method, url, body);
    const err = await expectError(res, 404, 'CALL_NOT_FOUND');
    expect(err.error.message).toContain('no-such-call');
  });

  it('an unknown route: 404 API_NOT_FOUND in the same shape', async () => {
    await expectError(await inject('GET', '/v1/nothing'), 404, 'API_NOT_FOUND');
  });

  const dialErrors: [string, unknown, number, string][] = [
    ['no body fields', {}, 400, 'API_VALIDATION'],
    ['to is not a number', { to: 'bob' }, 400, 'API_VALIDATION'],
    ['to with a space', { to: '+1 555 1230000' }, 400, 'API_VALIDATION'],
    ['to as http URL', { to: 'http://x.example' }, 400, 'API_VALIDATION'],
    ['from is not a number', { to: '+15551230000', from: 'alice' }, 400, 'API_VALIDATION'],
    ['a non-X header', { to: '+15551230000', headers: { Contact: '<sip:evil@x>' } }, 400, 'API_VALIDATION'],
    ['a header value with CRLF', { to: '+15551230000', headers: { 'X-Tag': 'a\r\nVia: x' } }, 400, 'API_VALIDATION'],
    ['ringTimeout 0', { to: '+15551230000', ringTimeout: 0 }, 400, 'API_VALIDATION'],
    ['ringTimeout as a string', { to: '+15551230000', ringTimeout: '30' }, 400, 'API_VALIDATION'],
    ['maxDuration too long', { to: '+15551230000', maxDuration: 100_000 }, 400, 'API_VALIDATION'],
    ['webhook not http', { to: '+15551230000', webhook: 'ftp://x' }, 400, 'API_VALIDATION'],
    ['metadata value not a string', { to: '+15551230000', metadata: { a: 1 } }, 400, 'API_VALIDATION'],
    ['an unknown field', { to: '+15551230000', colour: 'blue' }, 400, 'API_VALIDATION'],
    ['an unknown trunk', { to: '+15551230000', trunk: 'nope' }, 400, 'TRUNK_UNKNOWN'],
    ['an unknown bot', { to: '+15551230000', bot: 'agent' }, 400, 'BOT_UNKNOWN'],
  ];
  it.each(dialErrors)('POST /v1/calls with %s', async (_name, body, status, code) => {
    await expectError(await inject('POST', '/v1/calls', body), status, code);
    expect(ts.server.calls.active).toBe(0);
  });

  it('POST /v1/calls with a malformed JSON body: 400 API_VALIDATION', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/v1/calls', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"to": ' });
    await expectError(res, 400, 'API_VALIDATION');
  });

  it.each([
    ['digits empty', { digits: '' }],
    ['digits with a letter outside A-D', { digits: '12E' }],
    ['durationMs too short', { digits: '1', durationMs: 10 }],
    ['no digits', {}],
  ])('POST dtmf with %s: 400 API_VALIDATION (before the call is looked up)', async (_name, body) => {
    await expectError(await inject('POST', '/v1/calls/x/dtmf', body), 400, 'API_VALIDATION');
  });

  it.each([
    ['no target', {}],
    ['a target with spaces', { target: 'sip:a b' }],
    ['an unknown mode', { target: 'sip:op@x', mode: 'warm' }],
  ])('POST transfer with %s: 400 API_VALIDATION', async (_name, body) => {
    await expectError(await inject('POST', '/v1/calls/x/transfer', body), 400, 'API_VALIDATION');
  });

  it('echoes a client X-Request-Id', async () => {
    const res = await inject('GET', '/healthz', undefined, { 'x-request-id': 'req-abc-123' });
    expect(res.headers['x-request-id']).toBe('req-abc-123');
  });

  it('/metrics: Prometheus text with the call, RTP, pacer, turn and event-loop series', async () => {
    const res = await inject('GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    for (const name of [
      'trunkline_calls_active 0',
      'trunkline_calls_total',
      'trunkline_sip_invite_final_responses_total',
      'trunkline_rtp_packets_received_total',
      'trunkline_rtp_packets_lost_total',
      'trunkline_rtp_jitter_ms_bucket',
      'trunkline_jitter_buffer_delay_ms_bucket',
      'trunkline_pacer_lateness_ms{quantile="0.99"}',
      'trunkline_turn_latency_ms_bucket',
      'nodejs_eventloop_lag_p99_seconds',
      'trunkline_api_errors_total{code="API_UNAUTHORIZED"}',
    ]) {
      expect(res.body, name).toContain(name);
    }
  });

  it('the OpenAPI document is OpenAPI 3, lists every route, and its schemas compile', async () => {
    const res = await inject('GET', '/docs/json', undefined, {});
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: { content: Record<string, { schema: object }> } }>> }>();
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    expect(doc.info.title).toBe('Trunkline API');
    const visible = api.routes.filter((r) => !r.hidden);
    expect(visible.length).toBeGreaterThanOrEqual(9);
    for (const r of visible) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${path} missing from the OpenAPI document`).toBeDefined();
      expect(Object.keys(op?.responses ?? {}).length, `${r.method} ${path} has no responses`).toBeGreaterThan(0);
    }
    // Every schema in the document is valid JSON Schema (ajv compiles it).
    const ajv = new Ajv({ strict: false });
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          const schema = (response as { content?: Record<string, { schema?: object }> }).content?.['application/json']?.schema;
          if (schema !== undefined) expect(() => ajv.compile(schema), `${method} ${path} ${status}`).not.toThrow();
        }
        const body = op.requestBody?.content['application/json']?.schema;
        if (body !== undefined) expect(() => ajv.compile(body), `${method} ${path} body`).not.toThrow();
      }
    }
    expect(doc.paths['/v1/calls']?.post?.requestBody).toBeDefined();
  });

  it('/readyz answers 503 CAPACITY_DRAINING once the server drains', async () => {
    const other = await startTestServer({ file: { http: { apiToken: TOKEN } } });
    try {
      const app = other.server.api?.app;
      if (app === undefined) throw new Error('no api');
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      await other.server.calls.drain(0);
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json<ErrorReply>().error.code).toBe('CAPACITY_DRAINING');
    } finally {
      await other.stop();
    }
  });

  it('every log line of a request carries its request id', async () => {
    const other = await startTestServer({ captureLogs: 'info', file: { http: { apiToken: TOKEN } } });
    try {
      const app = other.server.api?.app;
      if (app === undefined) throw new Error('no api');
      await app.inject({ method: 'GET', url: '/v1/calls/nope', headers: { ...auth, 'x-request-id': 'trace-42' } });
      const lines = other.logs.filter((l) => l.reqId === 'trace-42');
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
      expect(lines.some((l) => String(l.msg).includes('no such call: nope'))).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it('a dial-out with a webhook but no webhook secret: 400 WEBHOOK_NO_SECRET', async () => {
    const other = await startTestServer({ file: { trunks: { outbound: [{ name: 'carrier', uri: 'sip:127.0.0.1:9' }] } } });
    try {
      const app = other.server.api?.app;
      if (app === undefined) throw new Error('no api');
      // No token configured on loopback: the API is open to this host.
      const res = await app.inject({ method: 'POST', url: '/v1/calls', payload: { to: '+15551230000', webhook: 'http://127.0.0.1:1/hook' } });
      expect(res.statusCode).toBe(400);
      expect(res.json<ErrorReply>().error.code).toBe('WEBHOOK_NO_SECRET');
    } finally {
      await other.stop();
    }
  });
});

describe('refusing to expose the API', () => {
  it('a hand-built config on a non-loopback address without a token: ConfigError naming TRUNKLINE_API_TOKEN', async () => {
    const base = buildConfig(undefined, {});
    const config: TrunklineConfig = { ...base, http: { listen: { host: '0.0.0.0', port: 0 } } };
    const { CallManager, CallRouter } = await import('../../src/call/index.js');
    const calls = new CallManager(
      {
        config,
        clock: systemClock,
        logger: silentLogger(),
        pool: undefined as never,
        pacer: undefined as never,
        warmTimeoutMs: 1000,
        mediaAddress: () => '127.0.0.1',
        createBot: () => {
          throw new Error('unused');
        },
      },
      new CallRouter([], 'echo'),
    );
    const err = await buildApiServer({ config, calls, logger: silentLogger(), clock: systemClock }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('TRUNKLINE_API_TOKEN');
  });
});
