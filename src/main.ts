/**
 * Trunkline's entry point: `npm start`. Loads and validates the config (one line naming the key
 * on a bad value), starts the SIP user agent, the RTP port pool and pacer, and the call manager
 * with the configured bot, and drains calls on SIGTERM/SIGINT.
 *
 * `startTrunkline()` is exported so tests run the whole server in process on free ports.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { buildApiServer, type ApiServer } from './api/index.js';
import { CallManager, CallRouter, LocalMediaHostFactory, WorkerPool, splitPortRange, workerCount, type CallDeps } from './call/index.js';
import { FliteTts, createBot, isBotName, type Bot, type BotContext } from './pipeline/index.js';
import { Pacer, PortPool } from './rtp/index.js';
import { SipUserAgent, isWildcard, localAddressToward } from './sip/index.js';
import {
  ConfigError,
  DEFAULT_ALLOWED_SOURCES,
  createLogger,
  loadConfig,
  systemClock,
  type Clock,
  type Logger,
  type TrunklineConfig,
} from './shared/index.js';

/** Refuses, at start-up, a bot this build cannot run: a call must never find that out. */
export function checkBots(config: TrunklineConfig, env: Readonly<Record<string, string | undefined>> = process.env): void {
  if (!isBotName(config.bot)) {
    throw new ConfigError(env.TRUNKLINE_BOT !== undefined ? 'TRUNKLINE_BOT' : 'bot', 'demo, echo, agent or a ws(s):// URL', config.bot);
  }
  config.routes.forEach((r, i) => {
    if (!isBotName(r.bot)) throw new ConfigError(`routes[${i}].bot`, 'demo, echo, agent or a ws(s):// URL', r.bot);
  });
}

export interface Trunkline {
  readonly config: TrunklineConfig;
  readonly ua: SipUserAgent;
  readonly calls: CallManager;
  /** The main thread's port pool and pacer: every call's media when calls.workers = 0, else only transfer consult legs. */
  readonly pool: PortPool;
  readonly pacer: Pacer;
  /** The media worker threads (undefined when calls.workers = 0: media runs in the main thread). */
  readonly mediaWorkers: WorkerPool | undefined;
  /** The SIP port actually bound (differs from config when it asked for port 0). */
  readonly sipPort: number;
  /** The HTTP API (undefined when started with `http: false`). */
  readonly api: ApiServer | undefined;
  /** The HTTP port actually bound. */
  readonly httpPort: number | undefined;
  /** Drains calls (up to `drainTimeoutMs`), then closes everything. Idempotent. */
  stop(drainTimeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  /** Bot warm-up bound before a call is refused with 503 (ms). */
  warmTimeoutMs?: number;
  /** Start the HTTP API on config.http.listen (default true). */
  http?: boolean;
  /** Webhook delivery tuning (tests shorten the retry schedule). */
  webhooks?: { timeoutMs?: number; maxAttempts?: number; backoffMs?: number };
  /**
   * Media worker threads: a number, or 'auto' (one per core). Default 0 — media in the calling
   * thread — so embedders and tests get one deterministic thread unless they ask; `main()` (what
   * `npm start` runs) passes config.calls.workers.
   */
  workers?: number | 'auto';
  /** Media worker load report period (ms, default 1000). */
  workerReportMs?: number;
}

export async function startTrunkline(config: TrunklineConfig, options: StartOptions = {}): Promise<Trunkline> {
  checkBots(config);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;

  // Issue 4 "All cores": media sessions and their bots in worker threads, SIP and the API here;
  // the main thread keeps a small slice of the RTP range for the calls it still runs itself.
  const workers = workerCount(options.workers ?? 0);
  let ports: ReturnType<typeof splitPortRange>;
  try {
    ports = splitPortRange(config.rtp.portMin, config.rtp.portMax, workers);
  } catch {
    throw new ConfigError('rtp.ports', `a range with more than ${workers} port pairs for ${workers} media workers (calls.workers)`, `${config.rtp.portMin}-${config.rtp.portMax}`);
  }
  const pool = new PortPool({ min: ports.main.min, max: ports.main.max, quarantineMs: config.rtp.quarantineMs, clock, logger });
  const pacer = new Pacer({ clock, logger });
  const ua = new SipUserAgent({ config, clock, logger });

  const listenHost = config.sip.listen.host;
  const deps: CallDeps = {
    config,
    clock,
    logger,
    pool,
    pacer,
    warmTimeoutMs: options.warmTimeoutMs ?? 3000,
    mediaAddress: (toward) =>
      config.sip.externalAddress ?? (isWildcard(listenHost) ? localAddressToward(toward, listenHost.includes(':')) : listenHost),
    createBot: (name: string, context: BotContext): Bot => {
      if (!isBotName(name)) throw new ConfigError('bot', 'demo, echo, agent or a ws(s):// URL', name);
      return createBot(name, context, { agent: config.agent, bridge: config.bridge });
    },
  };
  let mediaWorkers: WorkerPool | undefined;
  if (workers > 0) {
    mediaWorkers = new WorkerPool({
      config,
      logger,
      clock,
      count: workers,
      ports: ports.workers,
      local: new LocalMediaHostFactory(deps),
      ...(options.workerReportMs !== undefined ? { reportMs: options.workerReportMs } : {}),
    });
    try {
      await mediaWorkers.start();
    } catch (err) {
      await mediaWorkers.close();
      throw err;
    }
    logger.info({ workers }, 'media worker threads started');
  }
  const calls = new CallManager(mediaWorkers === undefined ? deps : { ...deps, mediaHosts: mediaWorkers }, new CallRouter(config.routes, config.bot));
  calls.attach(ua);

  await ua.start();

  let api: ApiServer | undefined;
  let httpPort: number | undefined;
  if (options.http !== false) {
    api = await buildApiServer({ config, calls, logger, clock, lateness: () => mediaWorkers?.lateness() ?? pacer.lateness(), refused: () => ua.refused, ...(options.webhooks !== undefined ? { webhooks: options.webhooks } : {}) });
    try {
      httpPort = await api.listen();
    } catch (err) {
      await api.close(0);
      await ua.close();
      await mediaWorkers?.close();
      pacer.stop();
      await pool.close();
      throw err;
    }
    logger.info({ http: `${config.http.listen.host}:${httpPort}`, auth: config.http.apiToken !== undefined }, 'HTTP API listening');
  }

  const usesDemo = config.bot === 'demo' || config.routes.some((r) => r.bot === 'demo');
  if (usesDemo) {
    // Warm the offline TTS and the demo prompts now, so the first caller hears the bot at once.
    // Preparing one throwaway demo bot fills the process-wide prompt cache every call shares.
    // A stuck TTS worker fails its request after a bound (FliteTts) and is replaced; one more try.
    const started = clock.now();
    for (let attempt = 1; ; attempt++) {
      const warm = createBot('demo', { callId: 'warm-up', metadata: {}, logger, clock, hangup: () => undefined, transfer: () => undefined });
      try {
        await warm.prepare();
        break;
      } catch (err) {
        if (attempt >= 2) throw err;
        logger.warn({ err, attempt }, 'demo bot warm-up failed; trying again');
      } finally {
        await warm.close();
      }
    }
    logger.info({ ms: Math.round(clock.now() - started) }, 'demo bot prompts ready');
  }

  const usingDefaultTrunks = config.trunks.inbound.length === 1 && config.trunks.inbound[0]?.name === 'default-private';
  logger.info(
    {
      sip: { udp: config.sip.transports.includes('udp'), tcp: config.sip.transports.includes('tcp'), host: listenHost, port: ua.port },
      externalAddress: config.sip.externalAddress,
      rtp: `${config.rtp.portMin}-${config.rtp.portMax}`,
      bot: config.bot,
      trunks: config.trunks.inbound.map((t) => ({ name: t.name, addresses: t.addresses, auth: t.auth !== undefined })),
      unknownSource: config.sip.unknownSource,
    },
    usingDefaultTrunks
      ? `listening on ${listenHost}:${ua.port}; accepting calls from loopback and private ranges only (${DEFAULT_ALLOWED_SOURCES.join(', ')}) — configure trunks to accept a carrier`
      : `listening on ${listenHost}:${ua.port}; accepting calls from ${config.trunks.inbound.length} configured trunk(s)`,
  );

  let stopping: Promise<void> | undefined;
  return {
    config,
    ua,
    calls,
    pool,
    pacer,
    mediaWorkers,
    sipPort: ua.port,
    api,
    httpPort,
    stop(drainTimeoutMs = 0): Promise<void> {
      stopping ??= (async () => {
        // /readyz answers 503 from here on (calls.isDraining); the API stays up while calls drain.
        await calls.drain(drainTimeoutMs);
        await api?.close();
        await ua.close();
        await mediaWorkers?.close();
        pacer.stop();
        await pool.close();
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  let config: TrunklineConfig;
  try {
    config = loadConfig();
    checkBots(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`config error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  logger.info({ workers: workerCount(config.calls.workers), setting: config.calls.workers, cores: availableParallelism() }, 'media threads');
  let server: Trunkline;
  try {
    server = await startTrunkline(config, { logger, workers: config.calls.workers });
  } catch (err) {
    // A value valid on its own that does not fit the rest (an RTP range too small for the workers).
    if (err instanceof ConfigError) {
      process.stderr.write(`config error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal, active: server.calls.active, drainTimeoutSec: config.calls.drainTimeoutSec }, 'shutting down: new calls get 503, calls in progress may finish');
    server
      .stop(config.calls.drainTimeoutSec * 1000)
      // The process-wide flite thread ends by itself too: a thread holding WebAssembly that is
      // still alive at exit is torn down like terminate(), which can crash the exit (nodejs/node#47748).
      .then(() => FliteTts.shared().close())
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
