import type WebSocket from 'ws';

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
