import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from '../../shared/index.js';

/**
 * The receive buffer asked for the SIP socket. The kernel default (net.core.rmem_default, 208 KiB)
 * holds ~200 INVITEs: at hundreds of calls per second one garbage collection or a burst from a
 * carrier overflows it, and every dropped request comes back as a retransmission 500 ms later,
 * which snowballs. 4 MiB absorbs a quarter second at 1,000 calls/s. Linux caps it at
 * net.core.rmem_max; a smaller result is logged once so the operator can raise the sysctl.
 */
export const SIP_UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

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
        this.growReceiveBuffer(socket);
        resolve(socket.address().port);
      });
    });
  }

  /** The socket's receive buffer in bytes as the kernel reports it (Linux: twice what it grants for bookkeeping). */
  get receiveBufferBytes(): number {
    try {
      return this.socket?.getRecvBufferSize() ?? 0;
    } catch {
      return 0;
    }
  }

  private growReceiveBuffer(socket: Socket): void {
    let granted = 0;
    try {
      socket.setRecvBufferSize(SIP_UDP_RECEIVE_BUFFER_BYTES);
      granted = socket.getRecvBufferSize();
    } catch (err) {
      this.logger.info({ err }, 'SIP UDP receive buffer left at the system default');
      return;
    }
    if (granted < SIP_UDP_RECEIVE_BUFFER_BYTES) {
      this.logger.info(
        { bytes: granted, asked: SIP_UDP_RECEIVE_BUFFER_BYTES },
        'SIP UDP receive buffer is smaller than asked (capped by net.core.rmem_max): bursts above a few hundred calls/s may be dropped and retransmitted',
      );
    }
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
