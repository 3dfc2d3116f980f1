import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, systemClock } from '../../../src/shared/index.js';
import { createResponse, generateTag } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import { SipTransport } from '../../../src/sip/transport/index.js';

/**
 * A real peer: SIPp sends OPTIONS over UDP and over TCP to SipTransport + TransactionLayer, and a
 * throwaway TU answers 200. SIPp exits 0 only when every call got its 200.
 */
const SCENARIO = resolve(import.meta.dirname, '../../sipp/options-expect-200.xml');
const CALLS = 5;

let transport: SipTransport;
let layer: TransactionLayer;
let workdir: string;
let answered = 0;

/** A port free for both UDP and TCP right now (SIPp binds -p on the transport it uses). */
async function freePort(): Promise<number> {
  for (;;) {
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) {
      await new Promise<void>((r) => udp.close(() => r()));
      return port;
    }
    udp.close();
  }
}

function runSipp(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('sipp', args, { cwd: workdir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // Bounded on our side too: SIPp's -timeout should end it first.
    const guard = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolveRun({ code, stderr });
    });
  });
}

function lastStatRow(file: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const header = (lines[0] ?? '').split(';');
  const last = (lines[lines.length - 1] ?? '').split(';');
  return Object.fromEntries(header.map((h, i) => [h, last[i] ?? '']));
}

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'trunkline-sipp-'));
  transport = new SipTransport({
    listen: { host: '127.0.0.1', port: 0 },
    protocols: ['udp', 'tcp'],
    maxMessageBytes: 65536,
    maxHeaders: 256,
    tcpIdleTimeoutMs: 30_000,
    clock: systemClock,
    logger: silentLogger(),
  });
  await transport.listen();
  layer = new TransactionLayer({ transport, clock: systemClock, timers: { t1: 500, t2: 4000, t4: 5000 }, logger: silentLogger() });
  layer.onRequest((tx) => {
    if (tx.request.method === 'OPTIONS') {
      answered++;
      tx.respond(createResponse(tx.request, 200, undefined, { toTag: generateTag(), headers: [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS']] }));
    } else {
      tx.respond(createResponse(tx.request, 501, undefined, { toTag: generateTag() }));
    }
  });
});

afterAll(async () => {
  layer.close();
  await transport.close();
  rmSync(workdir, { recursive: true, force: true });
});

describe('SIPp OPTIONS → 200 against SipTransport + TransactionLayer', () => {
  for (const proto of ['udp', 'tcp'] as const) {
    it(`over ${proto.toUpperCase()}: ${CALLS} OPTIONS, every one answered, SIPp exits 0`, async () => {
      const before = answered;
      const stf = join(workdir, `options-${proto}.csv`);
      const args = [
        '-sf', SCENARIO,
        '-i', '127.0.0.1', '-mi', '127.0.0.1',
        '-p', String(await freePort()), '-mp', String(await freePort()),
        '-m', String(CALLS), '-nostdin', '-timeout', '20',
        '-trace_stat', '-stf', stf,
        ...(proto === 'tcp' ? ['-t', 't1'] : []),
        `127.0.0.1:${transport.port}`,
      ];
      const { code, stderr } = await runSipp(args);
      expect(stderr.includes('rror') ? stderr : '', 'SIPp stderr').toBe('');
      expect(code).toBe(0);
      const stats = lastStatRow(stf);
      expect(stats['SuccessfulCall(C)']).toBe(String(CALLS));
      expect(stats['FailedCall(C)']).toBe('0');
      expect(answered - before).toBe(CALLS);
    });
  }
});
