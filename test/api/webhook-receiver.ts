/**
 * A webhook receiver for tests: an HTTP server on a free loopback port that verifies each
 * delivery's Trunkline-Signature over the raw body (rejecting bad ones with 401, as an
 * application should), and keeps the accepted events in arrival order.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SIGNATURE_HEADER, verifyWebhookSignature, type SignatureVerdict, type WebhookEvent } from '../../src/api/index.js';

export interface Delivery {
  readonly verdict: SignatureVerdict;
  readonly body: string;
  readonly status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Accepted (verified) events, in arrival order. */
  readonly events: WebhookEvent[];
  /** Every delivery attempt, accepted or not. */
  readonly deliveries: Delivery[];
  /** Status to answer the next N deliveries with, before verification (e.g. 503 to force retries). */
  failNext(status: number, count: number): void;
  eventsOf(callId: string): WebhookEvent[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, nowSeconds: () => number = () => Date.now() / 1000): Promise<WebhookReceiver> {
  const events: WebhookEvent[] = [];
  const deliveries: Delivery[] = [];
  let failing = { status: 0, count: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (failing.count > 0) {
        failing = { status: failing.status, count: failing.count - 1 };
        deliveries.push({ verdict: 'ok', body, status: failing.status });
        res.writeHead(failing.status).end();
        return;
      }
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const verdict = verifyWebhookSignature(secret, typeof header === 'string' ? header : undefined, body, nowSeconds());
      const status = verdict === 'ok' ? 200 : 401;
      deliveries.push({ verdict, body, status });
      if (verdict === 'ok') events.push(JSON.parse(body) as WebhookEvent);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    events,
    deliveries,
    failNext(status, count) {
      failing = { status, count };
    },
    eventsOf: (callId) => events.filter((e) => e.callId === callId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
