import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from '../../shared/index.js';

/**
 * One UDP socket (RFC 3261 §18: each datagram carries exactly one message). Responses leave from
 * the socket the request arrived on — RFC 3581 §4: "The response MUST be sent from the same
 * address and port that the corresponding request was received on".
 */
export class UdpTransport {
  private socket: Socket | undefined = undefined;
  private v6 = false;
  private readonly logger: Logger;
  private readonly onDatagram: (data: Buffer, host: string, port: number) => void;

  constructor(logger: Logger, onDatagram: (data: Buffer, host: string, port: number) => void) {
    this.logger = logger;
    this.onDatagram = onDatagram;
  }

  /** Binds; resolves with the bound port, rejects (e.g. EADDRINUSE) leaving nothing open. */
  bind(host: string, port: number): Promise<number> {
    this.v6 = isIPv6(host);
    const socket = createSocket({ type: this.v6 ? 'udp6' : 'udp4' });
    return new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.logger.warn({ err }, 'UDP socket error'));
        socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo.address, rinfo.port));
        this.socket = socket;
        resolve(socket.address().port);
      });
    });
  }

  send(data: Buffer, host: string, port: number): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return Promise.reject(new Error('UDP transport not listening'));
    // A dual-stack '::' socket reaches IPv4 peers through their IPv4-mapped address.
    const to = this.v6 && isIPv4(host) ? `::ffff:${host}` : host;
    return new Promise<void>((resolve, reject) => {
      socket.send(data, port, to, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
