/**
 * Starts the whole Trunkline server in process for an end-to-end test: SIP (and HTTP) on
 * 127.0.0.1 with ports the OS picks, and an RTP range of its own chosen at random inside 40000–60000, so test
 * files running side by side (and SIPp's own media ports, which tests take from the OS's
 * ephemeral range above 32768) do not collide.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTrunkline, type Trunkline } from '../../src/main.js';
import { buildConfig, silentLogger, type Logger } from '../../src/shared/index.js';

export interface TestServerOptions {
  bot?: 'echo' | 'demo';
  /** How many RTP port pairs the range holds. Default 300 (600 ports). */
  rtpPairs?: number;
  /** Merged into the config file object (sip, rtp, calls ...); `rtp.ports` is set by the helper. */
  file?: Record<string, unknown>;
  /** Keep every log record (JSON objects) in `logs`, at this level. Default: no logs. */
  captureLogs?: 'warn' | 'info' | 'debug';
  warmTimeoutMs?: number;
  /**
   * Media worker threads (startTrunkline's `workers`). Default 0, media in the test's thread —
   * or env TRUNKLINE_TEST_WORKERS, to run a suite with its calls' media in worker threads.
   */
  workers?: number;
  /** Media worker load report period (ms). */
  workerReportMs?: number;
}

export interface TestServer {
  readonly server: Trunkline;
  /** host:port to give SIPp. */
  readonly target: string;
  readonly rtpRange: { min: number; max: number };
  /** Parsed log records when `captureLogs` was asked for. */
  readonly logs: Record<string, unknown>[];
  stop(drainMs?: number): Promise<void>;
}

/** An even-aligned random range of `pairs` RTP/RTCP pairs in 40000–60000. */
export function randomRtpRange(pairs: number): { min: number; max: number } {
  const span = pairs * 2;
  const slots = Math.floor((60_000 - 40_000 - span) / 2);
  const min = 40_000 + 2 * Math.floor(Math.random() * slots);
  return { min, max: min + span - 1 };
}

function capturingLogger(level: 'warn' | 'info' | 'debug', sink: Record<string, unknown>[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done): void {
      for (const line of chunk.toString().split('\n')) {
        if (line.length === 0) continue;
        try {
          sink.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // pino writes one JSON object per line; anything else is not ours
        }
      }
      done();
    },
  });
  return pino({ level }, stream);
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const rtpRange = randomRtpRange(options.rtpPairs ?? 300);
  const extra = options.file ?? {};
  const extraSip = (extra['sip'] as Record<string, unknown> | undefined) ?? {};
  const extraRtp = (extra['rtp'] as Record<string, unknown> | undefined) ?? {};
  const extraHttp = (extra['http'] as Record<string, unknown> | undefined) ?? {};
  const config = buildConfig(
    {
      ...extra,
      logLevel: options.captureLogs ?? 'silent',
      sip: { ...extraSip, listen: '127.0.0.1:0' },
      rtp: { ...extraRtp, ports: `${rtpRange.min}-${rtpRange.max}` },
      // The HTTP API on a port of the OS's choosing, never the default 8080.
      http: { listen: '127.0.0.1:0', ...extraHttp },
      bot: options.bot ?? 'echo',
    },
    {},
  );
  const logs: Record<string, unknown>[] = [];
  const logger = options.captureLogs !== undefined ? capturingLogger(options.captureLogs, logs) : silentLogger();
  const server = await startTrunkline(config, {
    logger,
    ...(options.warmTimeoutMs !== undefined ? { warmTimeoutMs: options.warmTimeoutMs } : {}),
    workers: options.workers ?? Number(process.env.TRUNKLINE_TEST_WORKERS ?? 0),
    ...(options.workerReportMs !== undefined ? { workerReportMs: options.workerReportMs } : {}),
  });
  return {
    server,
    target: `127.0.0.1:${server.sipPort}`,
    rtpRange,
    logs,
    stop: (drainMs = 0) => server.stop(drainMs),
  };
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
