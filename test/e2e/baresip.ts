/**
 * baresip 1.0.0 as a real phone in end-to-end tests (config as in shared TESTING.md): headless,
 * plays a WAV as its microphone (aufile), records what it received and sent (sndfile:
 * dump-…-dec.wav / -enc.wav), and is driven over ctrl_tcp (netstring-framed JSON commands,
 * CALL_* events back).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/sipp.js';

export interface BaresipEvent {
  type: string;
  [key: string]: unknown;
}

export interface Baresip {
  readonly events: BaresipEvent[];
  /** Sends a menu command (e.g. dial, sndcode, hangup) over ctrl_tcp. */
  command(command: string, params?: string): void;
  /** Resolves with the first event of `type` (already seen or to come), or rejects after `timeoutMs`. */
  waitEvent(type: string, timeoutMs: number): Promise<BaresipEvent>;
  /** Stops baresip (SIGTERM, then SIGKILL) and returns the paths of its recordings. */
  stop(): Promise<{ received: string | undefined; sent: string | undefined }>;
  close(): void;
}

export interface BaresipOptions {
  /** S16LE mono 8 kHz WAV played as the microphone; at its end baresip hangs up. */
  source: string;
  /** baresip quits by itself after this long (-t), seconds. */
  maxSeconds: number;
}

/** Starts baresip with auto-answer off, PCMU only, ctrl_tcp on a free port; resolves once ctrl_tcp accepts. */
export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const dir = mkdtempSync(join(tmpdir(), 'trunkline-baresip-'));
  const rec = join(dir, 'rec');
  mkdirSync(rec);
  const sipPort = await freePort();
  const ctrlPort = await freePort();
  // RTP below 40000 keeps clear of the test servers' ranges (40000–60000).
  const rtpMin = 30_000 + 2 * Math.floor(Math.random() * 4900);
  writeFileSync(
    join(dir, 'config'),
    [
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      'module_path /usr/lib/baresip/modules',
      'audio_player alsa,null',
      'audio_alert alsa,null',
      `audio_source aufile,${options.source}`,
      `rtp_ports ${rtpMin}-${rtpMin + 199}`,
      'rtp_stats yes',
      'module g711.so',
      'module sndfile.so',
      'module alsa.so',
      'module aufile.so',
      'module_tmp uuid.so',
      'module_tmp account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `snd_path ${rec}`,
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'accounts'), `<sip:alice@127.0.0.1:${sipPort}>;regint=0;audio_codecs=PCMU\n`);

  const child: ChildProcess = spawn('baresip', ['-4', '-f', dir, '-t', String(options.maxSeconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => {
    if (output.length < 100_000) output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    if (output.length < 100_000) output += b.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const events: BaresipEvent[] = [];
  const waiters: { type: string; resolve: (e: BaresipEvent) => void }[] = [];
  let socket: Socket | undefined;
  for (let attempt = 0; attempt < 50 && socket === undefined; attempt++) {
    socket = await new Promise<Socket | undefined>((resolve) => {
      const s = connect(ctrlPort, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => {
        s.destroy();
        setTimeout(() => resolve(undefined), 100);
      });
    });
    if (child.exitCode !== null) break;
  }
  if (socket === undefined) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`baresip ctrl_tcp did not come up:\n${output}`);
  }
  const ctrl = socket;
  let buffer = Buffer.alloc(0);
  ctrl.on('data', (b: Buffer) => {
    buffer = Buffer.concat([buffer, b]);
    // Netstrings: LEN ":" BYTES ","
    for (;;) {
      const colon = buffer.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(buffer.subarray(0, colon).toString());
      if (buffer.length < colon + 1 + len + 1) return;
      const body = buffer.subarray(colon + 1, colon + 1 + len).toString();
      buffer = buffer.subarray(colon + 2 + len);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(body) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg['event'] === true && typeof msg['type'] === 'string') {
        const event = msg as BaresipEvent;
        events.push(event);
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.type === event.type) {
            waiters[i]!.resolve(event);
            waiters.splice(i, 1);
          }
        }
      }
    }
  });
  ctrl.on('error', () => undefined);

  let token = 0;
  const close = (): void => {
    ctrl.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    events,
    command(command, params) {
      const body = JSON.stringify({ command, ...(params !== undefined ? { params } : {}), token: `t${++token}` });
      ctrl.write(`${Buffer.byteLength(body)}:${body},`);
    },
    waitEvent(type, timeoutMs) {
      const seen = events.find((e) => e.type === type);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          type,
          resolve: (e: BaresipEvent): void => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`baresip: no ${type} within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(', ')}\n${output.slice(-3000)}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    async stop() {
      ctrl.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(killTimer);
      }
      const files = readdirSync(rec);
      const pick = (suffix: string): string | undefined => {
        const f = files.filter((n) => n.endsWith(suffix)).sort().pop();
        return f === undefined ? undefined : join(rec, f);
      };
      return { received: pick('-dec.wav'), sent: pick('-enc.wav') };
    },
    close,
  };
}
