import { createSocket, type Socket } from 'node:dgram';

/** Binds a UDP socket on 127.0.0.1:port (0 = any). */
export function bindSocket(port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/**
 * Finds `count` consecutive free UDP ports starting at an even port, by binding them all
 * (then releasing). Random base so parallel test files do not collide.
 */
export async function freePortRange(count: number): Promise<{ min: number; max: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 2 * Math.floor(Math.random() * 10000);
    const held: Socket[] = [];
    try {
      for (let p = base; p < base + count; p++) held.push(await bindSocket(p));
      return { min: base, max: base + count - 1 };
    } catch {
      // busy, try another base
    } finally {
      await Promise.all(held.map(closeSocket));
    }
  }
  throw new Error('no free port range found');
}

/** Lets real I/O (loopback datagrams) happen. */
export function realDelay(ms = 2): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
