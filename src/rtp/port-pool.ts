import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { TrunklineError, type Clock, type Logger } from '../shared/index.js';

/**
 * The RTP/RTCP port pool. Ports come in pairs — an even RTP port and RTCP on the next odd one
 * (RFC 3550 §11: "RTP SHOULD use an even destination port number and the corresponding RTCP
 * stream SHOULD use the next higher (odd) destination port number"). Allocation really binds
 * the UDP socket(s): a port some other process holds (EADDRINUSE) is skipped. A released pair
 * sits in quarantine for `quarantineMs` so a finished call's late packets never reach the next
 * call that would otherwise get the same port. Exhaustion throws CAPACITY_NO_PORTS (→ 503).
 */
export interface PortPoolOptions {
  min: number;
  max: number;
  quarantineMs: number;
  clock: Clock;
  logger?: Logger;
  /** Default bind address (0.0.0.0). */
  address?: string;
}

export interface PortLease {
  readonly rtpPort: number;
  /** RTCP port (rtpPort + 1); reserved even when RTCP is multiplexed and nothing is bound. */
  readonly rtcpPort: number;
  readonly address: string;
  readonly rtp: Socket;
  /** null when rtcp-mux was requested at allocation (RFC 5761): RTCP shares `rtp`. */
  readonly rtcp: Socket | null;
}

export interface AllocateOptions {
  rtcpMux?: boolean;
  address?: string;
}

export class PortPool {
  readonly min: number;
  readonly max: number;
  /** Number of RTP/RTCP pairs in the range. */
  readonly capacity: number;
  private readonly quarantineMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly address: string;
  /** Pair index → state. 0 free, 1 reserved/in use, 2 quarantined until `quarantineUntil`. */
  private readonly state: Uint8Array;
  private readonly quarantineUntil: Float64Array;
  private readonly leases = new Set<PortLease>();
  private cursor = 0;
  private reserved = 0;
  private closed = false;

  constructor(options: PortPoolOptions) {
    const first = options.min % 2 === 0 ? options.min : options.min + 1;
    if (!Number.isInteger(options.min) || !Number.isInteger(options.max) || first < 1024 || options.max > 65535 || first + 1 > options.max) {
      throw new RangeError(`invalid RTP port range ${options.min}-${options.max}: need an even port and its successor within 1024-65535`);
    }
    this.min = first;
    this.max = options.max;
    this.capacity = Math.floor((this.max - this.min + 1) / 2);
    this.quarantineMs = options.quarantineMs;
    this.clock = options.clock;
    this.logger = options.logger;
    this.address = options.address ?? '0.0.0.0';
    this.state = new Uint8Array(this.capacity);
    this.quarantineUntil = new Float64Array(this.capacity);
  }

  /** Pairs currently allocated (including ones whose bind is in progress). */
  get inUse(): number {
    return this.reserved;
  }

  /** Pairs currently in quarantine. */
  get quarantined(): number {
    const now = this.clock.now();
    let n = 0;
    for (let i = 0; i < this.capacity; i++) if (this.state[i] === 2 && this.quarantineUntil[i]! > now) n++;
    return n;
  }

  /** Pairs that could be handed out right now (not in use, not in quarantine). */
  get available(): number {
    return this.capacity - this.reserved - this.quarantined;
  }

  /**
   * Binds the next free pair. Throws TrunklineError CAPACITY_NO_PORTS when every pair is in use,
   * in quarantine or held by another process.
   */
  async allocate(options: AllocateOptions = {}): Promise<PortLease> {
    if (this.closed) throw new TrunklineError('CAPACITY_NO_PORTS', undefined, { cause: new Error('port pool closed') });
    const address = options.address ?? this.address;
    const now = this.clock.now();
    for (let tried = 0; tried < this.capacity; tried++) {
      const index = this.cursor;
      this.cursor = (this.cursor + 1) % this.capacity;
      const s = this.state[index]!;
      if (s === 1 || (s === 2 && this.quarantineUntil[index]! > now)) continue;
      // Reserve before the asynchronous bind so concurrent allocations never pick the same pair.
      this.state[index] = 1;
      this.reserved++;
      const rtpPort = this.min + index * 2;
      try {
        const rtp = await bindUdp(address, rtpPort);
        let rtcp: Socket | null = null;
        if (options.rtcpMux !== true) {
          try {
            rtcp = await bindUdp(address, rtpPort + 1);
          } catch (err) {
            await closeSocket(rtp);
            throw err;
          }
        }
        const lease: PortLease = { rtpPort, rtcpPort: rtpPort + 1, address, rtp, rtcp };
        this.leases.add(lease);
        return lease;
      } catch (err) {
        // Not ours to hand out; try it again after a quarantine period.
        this.state[index] = 2;
        this.quarantineUntil[index] = this.clock.now() + this.quarantineMs;
        this.reserved--;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
        this.logger?.debug({ port: rtpPort, code }, 'RTP port busy, trying the next');
      }
    }
    throw new TrunklineError('CAPACITY_NO_PORTS');
  }

  /** Closes the lease's sockets and puts the pair in quarantine. Idempotent per lease. */
  async release(lease: PortLease): Promise<void> {
    if (!this.leases.delete(lease)) return;
    const index = (lease.rtpPort - this.min) / 2;
    await Promise.all([closeSocket(lease.rtp), lease.rtcp === null ? Promise.resolve() : closeSocket(lease.rtcp)]);
    this.state[index] = 2;
    this.quarantineUntil[index] = this.clock.now() + this.quarantineMs;
    this.reserved--;
  }

  /** Releases every outstanding lease (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.leases].map((l) => this.release(l)));
  }
}

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      // A socket without an 'error' listener would throw; its owner adds one that logs.
      socket.on('error', ignoreError);
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => {
        resolve();
      });
    } catch {
      // Already closed.
      resolve();
    }
  });
}

function ignoreError(): void {
  // Owner-installed listeners do the logging.
}
