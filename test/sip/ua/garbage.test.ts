/**
 * Random bytes and truncated messages on the UA's UDP and TCP ports never crash it, and a valid
 * OPTIONS afterwards still gets 200.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './sip-test-server.js';
import type { TestServer } from './sip-test-server.js';

function options(branch: string): string {
  return [
    'OPTIONS sip:ping@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-${branch};rport`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=p1',
    'To: <sip:ping@127.0.0.1>',
    `Call-ID: ${branch}@garbage`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Deterministic pseudo-random bytes (xorshift), so a failure can be replayed. */
function bytes(seed: number, n: number): Buffer {
  let x = seed | 1;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('garbage on the wire', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('survives random and truncated datagrams and TCP streams, then answers OPTIONS over UDP', async () => {
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const valid = Buffer.from(options('valid0'));
    const junk: Buffer[] = [];
    for (let i = 0; i < 60; i++) junk.push(bytes(i + 1, 1 + ((i * 37) % 1400)));
    for (let cut = 1; cut < valid.length; cut += 7) junk.push(valid.subarray(0, cut));
    junk.push(Buffer.from('INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\nabc'));
    junk.push(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\n\r\n'));
    junk.push(Buffer.from(`${'A'.repeat(70_000)}`));
    for (const j of junk) udp.send(j, server.port, '127.0.0.1');

    await new Promise<void>((resolve, reject) => {
      const tcp = connect(server.port, '127.0.0.1', () => {
        for (const j of junk.slice(0, 30)) tcp.write(j);
        tcp.end();
      });
      tcp.on('error', () => resolve());
      tcp.on('close', () => resolve());
      setTimeout(() => reject(new Error('tcp did not close')), 5000).unref();
    });

    const reply = new Promise<string>((resolve) => {
      udp.on('message', (m) => {
        const s = m.toString();
        if (s.includes('ok-after-garbage')) resolve(s);
      });
    });
    udp.send(Buffer.from(options('ok-after-garbage')), server.port, '127.0.0.1');
    const text = await reply;
    udp.close();
    expect(text.startsWith('SIP/2.0 200 ')).toBe(true);
    expect(server.calls).toHaveLength(0);
  });

  it('answers OPTIONS over TCP after garbage on another connection', async () => {
    const bad = connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => bad.on('connect', () => r()));
    bad.write(bytes(99, 3000));
    bad.destroy();
    const text = await new Promise<string>((resolve, reject) => {
      const tcp = connect(server.port, '127.0.0.1', () => tcp.write(options('tcp-ok').replace('SIP/2.0/UDP', 'SIP/2.0/TCP')));
      let buf = '';
      tcp.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n')) {
          tcp.destroy();
          resolve(buf);
        }
      });
      tcp.on('error', reject);
    });
    expect(text.startsWith('SIP/2.0 200 ')).toBe(true);
  });
});
