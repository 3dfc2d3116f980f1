import WebSocket from 'ws';
import type { Clock } from '../../shared/index.js';
import { ServiceError, type ServiceKind } from './service-error.js';

/** A `ws` message (Buffer, ArrayBuffer or fragments) as one Buffer; fragments are joined once. */
export function rawDataBytes(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A `ws` text message as a string. */
export function rawDataText(data: WebSocket.RawData): string {
  return rawDataBytes(data).toString('utf8');
}

export interface ConnectOptions {
  readonly kind: ServiceKind;
  readonly provider: string;
  readonly headers: Record<string, string>;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

/**
 * Opens a provider's WebSocket. Every way it can fail is one ServiceError: no answer within the
 * timeout (retryable), a refused handshake (HTTP status; retryable per status) or a socket error
 * (retryable). A failed socket is terminated, never left half open.
 */
export function connectWebSocket(url: string, o: ConnectOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: o.headers, perMessageDeflate: false });
    let settled = false;
    const fail = (err: ServiceError): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.terminate();
      reject(err);
    };
    const timer = o.clock.setTimeout(() => fail(new ServiceError(o.kind, o.provider, `connect timed out after ${o.timeoutMs} ms`, true)), o.timeoutMs);
    socket.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      fail(new ServiceError(o.kind, o.provider, `handshake refused with HTTP ${status}`, ServiceError.retryableStatus(status), status));
    });
    socket.once('error', (err) => fail(new ServiceError(o.kind, o.provider, err.message, true, null, { cause: err })));
    socket.once('open', () => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(socket);
    });
  });
}

/**
 * Closes a provider's WebSocket: the provider's own goodbye message first (Deepgram: CloseStream,
 * Close; Twilio Media Streams: stop) when the socket is open, then a normal close (1000, with
 * `reason`); a peer that does not close within a second is cut off. Resolves once it is closed.
 */
export function closeWebSocket(socket: WebSocket, goodbye?: string, reason?: string): Promise<void> {
  if (socket.readyState !== WebSocket.OPEN) {
    socket.terminate();
    return Promise.resolve();
  }
  if (goodbye !== undefined) socket.send(goodbye);
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      socket.terminate();
      resolve();
    }, 1000);
    socket.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    socket.close(1000, reason);
  });
}
