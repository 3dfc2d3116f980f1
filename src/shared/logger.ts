import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * The one way to make a logger. Logs are pino JSON; per-call children carry `callId`.
 * Transcripts, DTMF digits and other caller content go only under the `pii` key, which
 * deployments can redact with `redactPii: true`.
 */
export function createLogger(options: { level?: LevelWithSilent; redactPii?: boolean; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'trunkline',
    level: options.level ?? 'info',
    base: { pid: process.pid },
    ...(options.redactPii === true ? { redact: { paths: ['pii'], censor: '[redacted]' } } : {}),
  });
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
