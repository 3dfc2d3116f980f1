/**
 * A media worker thread's entry: its own PortPool over its slice of the RTP range, its own Pacer,
 * and one LocalMediaHost (media session + bot) per call pinned to it. The main thread drives it
 * with the small control messages of media-worker-protocol.ts; nothing per packet crosses.
 *
 * `runMediaWorker()` takes any MessagePort-like endpoint, so tests can run the worker's logic in
 * their own thread over a MessageChannel as well as in a real worker.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { FliteTts, createBot, isBotName, type Bot, type BotContext } from '../pipeline/index.js';
import { Pacer, PortPool, type MediaSession, type MediaSessionStats } from '../rtp/index.js';
import { pino } from 'pino';
import { ConfigError, createLogger, systemClock, type Clock, type Logger, type TimerHandle } from '../shared/index.js';
import { LocalMediaHost } from './local-media-host.js';
import { serializeError, type FromWorker, type MediaWorkerData, type ToWorker } from './media-worker-protocol.js';

/** The endpoint a worker talks through (parentPort, or one side of a MessageChannel in tests). */
/** Slices the per-period statistics of all sessions are sent in. */
const STATS_SLICES = 20;

export interface WorkerEndpoint {
  postMessage(message: FromWorker): void;
  on(event: 'message', listener: (message: ToWorker) => void): void;
}

export interface MediaWorkerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Builds a bot by name (default: createBot with the config's agent and bridge sections). */
  readonly createBot?: (name: string, context: BotContext) => Bot;
  /** The main thread asked the worker to stop ('shutdown'). */
  readonly onShutdown?: () => void;
}

export interface MediaWorkerHandle {
  readonly sessions: number;
  /** Closes every session, stops the pacer and the load reports, closes the pool. Idempotent. */
  close(): Promise<void>;
}

export function runMediaWorker(port: WorkerEndpoint, data: MediaWorkerData, options: MediaWorkerOptions = {}): MediaWorkerHandle {
  const { config } = data;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const pool = new PortPool({ min: data.portMin, max: data.portMax, quarantineMs: config.rtp.quarantineMs, clock, logger });
  const pacer = new Pacer({ clock, logger });
  const build =
    options.createBot ??
    ((name: string, context: BotContext): Bot => {
      if (!isBotName(name)) throw new ConfigError('bot', 'demo, echo, agent or a ws(s):// URL', name);
      return createBot(name, context, { agent: config.agent, bridge: config.bridge });
    });
  const hosts = new Map<number, LocalMediaHost>();
  /** Sessions handed to a bridge in the main thread (see ToWorker 'bridge'). */
  const bridged = new Map<number, MediaSession>();
  const send = (message: FromWorker): void => port.postMessage(message);

  let closed = false;
  let report: TimerHandle | undefined;
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let skipped = pacer.skippedTicks;
  const sendLoad = (): void => {
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, elu);
    elu = now;
    send({ t: 'load', load: { sessions: hosts.size, lateness: pacer.lateness(), utilization: window.utilization, skippedTicks: pacer.skippedTicks - skipped } });
    skipped = pacer.skippedTicks;
    // Each report covers one period: a burst long ago must not hide how the worker does now.
    pacer.resetLateness();
    if (!closed) report = clock.setTimeout(sendLoad, data.reportMs);
  };
  report = clock.setTimeout(sendLoad, data.reportMs);

  // Every session's statistics reach the main thread once per report period, in small slices
  // spread over the period: one batch of 1,000 sessions would hold this thread (and every call's
  // next tick) for ~10 ms while it is built and cloned.
  const sliceEvery = Math.max(10, Math.floor(data.reportMs / STATS_SLICES));
  const statsQueue: number[] = [];
  let statsTimer: TimerHandle | undefined;
  const sendStatsSlice = (): void => {
    if (statsQueue.length === 0) for (const sid of hosts.keys()) statsQueue.push(sid);
    const take = Math.ceil(hosts.size / STATS_SLICES);
    const sids: number[] = [];
    const stats: MediaSessionStats[] = [];
    for (let i = 0; i < take && statsQueue.length > 0; i++) {
      const sid = statsQueue.pop()!;
      const s = hosts.get(sid)?.stats;
      if (s === undefined) continue;
      sids.push(sid);
      stats.push(s);
    }
    if (sids.length > 0) send({ t: 'stats-batch', sids, stats });
    if (!closed) statsTimer = clock.setTimeout(sendStatsSlice, sliceEvery);
  };
  statsTimer = clock.setTimeout(sendStatsSlice, sliceEvery);

  const open = (msg: Extract<ToWorker, { t: 'open' }>): void => {
    const { sid } = msg;
    const log = logger.child({ callId: msg.callId });
    const context: BotContext = {
      callId: msg.callId,
      metadata: msg.metadata,
      logger: log,
      clock,
      hangup: (reason) => send({ t: 'bot-hangup', sid, reason }),
      transfer: (target) => send({ t: 'bot-transfer', sid, target }),
      sendDtmf: (digits) => send({ t: 'bot-send-dtmf', sid, digits }),
    };
    const host = new LocalMediaHost(
      { config, clock, logger: log, pool, pacer, createBot: build },
      {
        callId: msg.callId,
        botName: msg.botName,
        context,
        rtcpMux: msg.rtcpMux,
        ...(msg.recordPath !== undefined ? { recordPath: msg.recordPath } : {}),
        onDtmf: (digit, durationMs) => send({ t: 'dtmf', sid, digit, durationMs }),
        onInactive: () => send({ t: 'inactive', sid }),
        onBotEvent: (event) => send({ t: 'bot-event', sid, event }),
        onFailed: () => undefined,
      },
    );
    hosts.set(sid, host);
    host.open().then(
      (localPort) => send({ t: 'opened', sid, localPort, stats: host.stats }),
      (err: unknown) => {
        hosts.delete(sid);
        void host.close();
        send({ t: 'open-failed', sid, error: serializeError(err) });
      },
    );
  };

  const close = (sid: number): void => {
    const host = hosts.get(sid);
    if (host === undefined) {
      send({ t: 'closed', sid, stats: undefined });
      return;
    }
    bridged.delete(sid);
    void host.close().then((stats) => {
      hosts.delete(sid);
      send({ t: 'closed', sid, stats });
    });
  };

  port.on('message', (msg: ToWorker) => {
    if (closed) return;
    if (msg.t === 'crash') {
      setImmediate(() => {
        throw new Error('media worker crash requested (test)');
      });
      return;
    }
    if (msg.t === 'open') {
      open(msg);
      return;
    }
    if (msg.t === 'close') {
      close(msg.sid);
      return;
    }
    if (msg.t === 'shutdown') {
      options.onShutdown?.();
      return;
    }
    const host = hosts.get(msg.sid);
    if (host === undefined) return; // closed meanwhile: nothing to do
    try {
      switch (msg.t) {
        case 'prepare':
          host.prepareBot().then(
            () => send({ t: 'prepared', sid: msg.sid }),
            (err: unknown) => send({ t: 'prepare-failed', sid: msg.sid, error: serializeError(err) }),
          );
          break;
        case 'remote':
          host.setRemote(msg.remote);
          break;
        case 'start':
          host.start();
          break;
        case 'mute':
          host.mute();
          break;
        case 'send-dtmf':
          host.sendDtmf(msg.digit, msg.durationMs);
          break;
        case 'bot-dtmf':
          host.dtmfToBot(msg.digit);
          break;
        case 'transfer-failed':
          host.transferFailed(msg.reason, msg.status);
          break;
        case 'stats':
          send({ t: 'stats', sid: msg.sid, stats: host.stats });
          break;
        case 'bridge': {
          const { sid } = msg;
          const media = host.detachForBridge();
          // postMessage clones the reused frame buffer at once; silent ticks send nothing.
          media.onFrame((pcm, info) => {
            if (!info.silent) send({ t: 'frame', sid, pcm });
          });
          bridged.set(sid, media);
          break;
        }
        case 'frame':
          bridged.get(msg.sid)?.sendFrame(msg.pcm);
          break;
        case 'clear':
          bridged.get(msg.sid)?.clearPlayout();
          break;
      }
    } catch (err) {
      logger.error({ err, op: msg.t }, 'media worker operation failed');
    }
  });

  return {
    get sessions(): number {
      return hosts.size;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      report?.cancel();
      statsTimer?.cancel();
      await Promise.allSettled([...hosts.values()].map((h) => h.close()));
      hosts.clear();
      pacer.stop();
      await pool.close();
    },
  };
}

/** Warms the demo prompts in this worker's own prompt cache, so its first caller hears the bot at once. */
async function warmDemo(data: MediaWorkerData, logger: Logger): Promise<void> {
  const { config } = data;
  if (config.bot !== 'demo' && !config.routes.some((r) => r.bot === 'demo')) return;
  const bot = createBot('demo', { callId: 'warm-up', metadata: {}, logger, clock: systemClock, hangup: () => undefined, transfer: () => undefined });
  try {
    await bot.prepare();
  } finally {
    await bot.close();
  }
}

function isMediaWorkerData(value: unknown): value is MediaWorkerData & { kind: 'trunkline-media' } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'trunkline-media';
}

if (!isMainThread && parentPort !== null && isMediaWorkerData(workerData)) {
  const data = workerData;
  const endpoint = parentPort;
  // Records go to the main thread's logger (WorkerPool re-emits them): whatever it is configured
  // to do — file, redaction, a test's capture — applies to the workers' records too.
  const logger = pino(
    { level: data.config.logLevel, base: { worker: data.index } },
    {
      write(line: string): void {
        endpoint.postMessage({ t: 'log', line } satisfies FromWorker);
      },
    },
  );
  // Shutdown: close the sessions, the pacer and the ports, then the shared TTS engine's own
  // thread (a warm-up still running fails with "engine closed"), then the channel; with no handle
  // left the thread ends by itself (no terminate()).
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await handle.close();
        await FliteTts.shared().close();
      } catch (err) {
        logger.error({ err }, 'media worker shutdown failed');
      }
      endpoint.close();
    })());
  const handle = runMediaWorker(endpoint, data, { logger, onShutdown: () => void stop() });
  endpoint.postMessage({ t: 'ready' } satisfies FromWorker);
  warmDemo(data, logger).catch((err: unknown) => logger.warn({ err }, 'demo prompts not warmed in media worker'));
  endpoint.once('close', () => void stop());
}
