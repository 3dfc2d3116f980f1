import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Clock, Logger } from '../../shared/index.js';
import { SipParseError } from '../message/index.js';
import { TcpConnection } from './tcp-connection.js';
import type { SipEndpoint } from './types.js';

export interface TcpTransportOptions {
  maxMessageBytes: number;
  maxHeaders: number;
  idleTimeoutMs: number;
  maxConnections: number;
  connectTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** One framed message from a connection (not yet parsed). */
  onMessage(data: Buffer, connection: TcpConnection): void;
  /** The stream cannot be framed any more (413 oversize, 400 bad Content-Length); the connection is closed right after. */
  onFramingError(err: SipParseError, connection: TcpConnection): void;
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * SIP over TCP (RFC 3261 §18): a listener plus a pool of connections keyed by id and by peer
 * address. Outbound sends reuse an open connection to the peer (§18.1.1: "the client SHOULD
 * ... use an existing connection"), else connect. Connections idle for `idleTimeoutMs` are closed;
 * at most `maxConnections` exist at once.
 */
export class TcpTransport {
  private server: Server | undefined = undefined;
  private readonly options: TcpTransportOptions;
  private readonly byId = new Map<string, TcpConnection>();
  private readonly byPeer = new Map<string, TcpConnection>();
  private readonly connecting = new Map<string, Promise<TcpConnection>>();
  private nextId = 1;
  private closed = false;

  constructor(options: TcpTransportOptions) {
    this.options = options;
  }

  get connectionCount(): number {
    return this.byId.size;
  }

  isOpen(connectionId: string): boolean {
    return this.byId.get(connectionId)?.closed === false;
  }

  listen(host: string, port: number): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections;
    return new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onError);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.options.logger.warn({ err }, 'TCP listener error'));
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** Sends on the given connection if open, else on an open one to the peer, else connects (§18.2.2 fallback included). */
  async send(data: Buffer, destination: SipEndpoint): Promise<void> {
    if (this.closed) throw new Error('TCP transport closed');
    if (destination.connectionId !== undefined) {
      const c = this.byId.get(destination.connectionId);
      if (c !== undefined && !c.closed) return this.write(c, data);
    }
    const key = peerKey(destination.host, destination.port);
    const open = this.byPeer.get(key);
    if (open !== undefined && !open.closed) return this.write(open, data);
    let pending = this.connecting.get(key);
    if (pending === undefined) {
      pending = this.connect(destination.host, destination.port);
      this.connecting.set(key, pending);
      const clear = (): void => {
        this.connecting.delete(key);
      };
      pending.then(clear, clear);
    }
    const conn = await pending;
    return this.write(conn, data);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const c of [...this.byId.values()]) this.drop(c, 'transport closed');
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private write(c: TcpConnection, data: Buffer): Promise<void> {
    c.lastActivity = this.options.clock.now();
    return c.write(data);
  }

  private accept(socket: Socket): void {
    if (this.closed || this.byId.size >= this.options.maxConnections) {
      this.options.logger.warn({ remote: socket.remoteAddress }, 'TCP connection refused: limit reached');
      socket.destroy();
      return;
    }
    this.adopt(socket, true);
  }

  private connect(host: string, port: number): Promise<TcpConnection> {
    if (this.byId.size + this.connecting.size >= this.options.maxConnections) {
      return Promise.reject(new Error(`TCP connection limit (${this.options.maxConnections}) reached`));
    }
    return new Promise<TcpConnection>((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = this.options.clock.setTimeout(() => {
        socket.destroy();
        reject(new Error(`TCP connect to ${host}:${port} timed out`));
      }, this.options.connectTimeoutMs);
      const onError = (err: Error): void => {
        timer.cancel();
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        timer.cancel();
        socket.off('error', onError);
        if (this.closed) {
          socket.destroy();
          reject(new Error('TCP transport closed'));
          return;
        }
        const c = this.adopt(socket, false);
        // The peer is known by the address we dialled too (it may be a host name).
        this.index(c, peerKey(host, port));
        resolve(c);
      });
    });
  }

  private adopt(socket: Socket, inbound: boolean): TcpConnection {
    const { clock, logger } = this.options;
    const c = new TcpConnection(`tcp-${this.nextId++}`, socket, inbound, { maxBytes: this.options.maxMessageBytes, maxHeaders: this.options.maxHeaders }, clock.now());
    this.byId.set(c.id, c);
    this.index(c, peerKey(c.remoteHost, c.remotePort));
    logger.debug({ conn: c.id, remote: `${c.remoteHost}:${c.remotePort}`, inbound }, 'TCP connection open');
    socket.on('data', (chunk: Buffer) => this.receive(c, chunk));
    socket.on('error', (err) => logger.debug({ err, conn: c.id }, 'TCP connection error'));
    socket.on('close', () => this.drop(c, 'closed by peer'));
    this.armIdle(c, this.options.idleTimeoutMs);
    return c;
  }

  private receive(c: TcpConnection, chunk: Buffer): void {
    if (c.closed) return;
    c.lastActivity = this.options.clock.now();
    let messages: Buffer[];
    try {
      messages = c.framer.push(chunk);
    } catch (err) {
      if (err instanceof SipParseError) this.options.onFramingError(err, c);
      else this.options.logger.warn({ err, conn: c.id }, 'TCP framing failed');
      this.drop(c, 'framing error');
      return;
    }
    // RFC 5626 §4.4.1: "a double-CRLF ping ... the server responds with a single CRLF pong"
    if (c.framer.pingReceived) c.socket.write(CRLF);
    for (const m of messages) {
      if (c.closed) return;
      this.options.onMessage(m, c);
    }
  }

  private index(c: TcpConnection, key: string): void {
    this.byPeer.set(key, c);
    c.peerKeys.push(key);
  }

  private armIdle(c: TcpConnection, ms: number): void {
    c.idleTimer = this.options.clock.setTimeout(() => {
      c.idleTimer = undefined;
      if (c.closed) return;
      const idle = this.options.clock.now() - c.lastActivity;
      if (idle >= this.options.idleTimeoutMs) this.drop(c, 'idle');
      else this.armIdle(c, this.options.idleTimeoutMs - idle);
    }, ms);
  }

  private drop(c: TcpConnection, why: string): void {
    if (c.closed) return;
    c.closed = true;
    c.idleTimer?.cancel();
    c.idleTimer = undefined;
    this.byId.delete(c.id);
    for (const k of c.peerKeys) if (this.byPeer.get(k) === c) this.byPeer.delete(k);
    c.socket.destroy();
    this.options.logger.debug({ conn: c.id, why }, 'TCP connection closed');
  }
}

function peerKey(host: string, port: number): string {
  return `${host.toLowerCase()}|${port}`;
}
