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

/** Why a WebSocket did not open; `status` is the HTTP status of a refused handshake, else null. */
export class WebSocketOpenError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WebSocketOpenError';
  }
}

export interface OpenOptions {
  readonly headers: Record<string, string>;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

/**
 * Opens a WebSocket (provider or bot). Every way it can fail is one WebSocketOpenError: no answer
 * within the timeout, a refused handshake (with its HTTP status) or a socket error. A failed
 * socket is terminated, never left half open. The caller adds its own listeners once it resolves.
 */
export function openWebSocket(url: string, o: OpenOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: o.headers, perMessageDeflate: false });
    let settled = false;
    const fail = (err: WebSocketOpenError): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.terminate();
      reject(err);
    };
    const timer = o.clock.setTimeout(() => fail(new WebSocketOpenError(`connect timed out after ${o.timeoutMs} ms`, null)), o.timeoutMs);
    socket.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      fail(new WebSocketOpenError(`handshake refused with HTTP ${status}`, status));
    });
    socket.once('error', (err) => fail(new WebSocketOpenError(err.message, null, { cause: err })));
    socket.once('open', () => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(socket);
    });
  });
}

export interface ConnectOptions extends OpenOptions {
  readonly kind: ServiceKind;
  readonly provider: string;
}

/**
 * Opens a provider's WebSocket; a failure is a ServiceError: a timeout or a socket error is
 * retryable, a refused handshake retryable per its HTTP status (ServiceError.from).
 */
export async function connectWebSocket(url: string, o: ConnectOptions): Promise<WebSocket> {
  try {
    return await openWebSocket(url, o);
  } catch (err) {
    throw ServiceError.from(o.kind, o.provider, err);
  }
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
