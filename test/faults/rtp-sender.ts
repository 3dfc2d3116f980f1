import { createSocket, type Socket } from 'node:dgram';

/** A PCMU RTP stream (20 ms packets of silence) from its own socket, for fault tests. */
export class RtpSender {
  private readonly socket: Socket = createSocket('udp4');
  private timer: NodeJS.Timeout | undefined;
  private seq = 1000;
  private ts = 160_000;
  private readonly packet = Buffer.alloc(12 + 160, 0xff);
  received = 0;

  async bind(host = '127.0.0.1'): Promise<number> {
    this.socket.on('message', () => this.received++);
    this.socket.on('error', () => undefined);
    await new Promise<void>((r) => this.socket.bind(0, host, r));
    return this.socket.address().port;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Builds packet n (sequence, timestamp, SSRC) into the shared buffer. */
  next(): Buffer {
    const p = this.packet;
    p[0] = 0x80;
    p[1] = 0; // PCMU
    p.writeUInt16BE(this.seq++ & 0xffff, 2);
    p.writeUInt32BE(this.ts >>> 0, 4);
    this.ts += 160;
    p.writeUInt32BE(0x1234abcd, 8);
    return p;
  }

  start(host: string, port: number): void {
    this.stop();
    this.timer = setInterval(() => this.socket.send(this.next(), port, host), 20);
  }

  send(data: Buffer, host: string, port: number): void {
    this.socket.send(data, port, host);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** The port of the first m=audio line of an SDP body. */
export function audioPort(sdp: Buffer | string): number {
  const m = /^m=audio (\d+) /m.exec(sdp.toString());
  if (m?.[1] === undefined) throw new Error('no m=audio line');
  return Number(m[1]);
}
