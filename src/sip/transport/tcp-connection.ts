import type { Socket } from 'node:net';
import type { TimerHandle } from '../../shared/index.js';
import { SipStreamFramer } from '../message/index.js';

/** Strips the IPv4-mapped prefix a dual-stack socket reports (`::ffff:192.0.2.1`). */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * One TCP connection (inbound or outbound) with its own framer: a defect in one stream never
 * touches another. The framer bounds the bytes held for an incomplete message (RFC 3261 §18.3
 * framing by Content-Length).
 */
export class TcpConnection {
  readonly id: string;
  readonly socket: Socket;
  readonly framer: SipStreamFramer;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly inbound: boolean;
  /** Clock time of the last byte in or out, for the idle timeout. */
  lastActivity: number;
  idleTimer: TimerHandle | undefined = undefined;
  /** Keys under which the pool indexes this connection by peer address. */
  readonly peerKeys: string[] = [];
  closed = false;

  constructor(id: string, socket: Socket, inbound: boolean, framerOptions: { maxBytes: number; maxHeaders: number }, now: number) {
    this.id = id;
    this.socket = socket;
    this.inbound = inbound;
    this.remoteHost = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.framer = new SipStreamFramer(framerOptions);
    this.lastActivity = now;
  }

  write(data: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`TCP connection ${this.id} closed`));
    return new Promise<void>((resolve, reject) => {
      this.socket.write(data, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }
}
