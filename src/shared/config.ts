import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * The configuration schema: one typed object with defaults, read from a JSON file
 * (TRUNKLINE_CONFIG) and then the environment (TRUNKLINE_*), validated once at start-up and frozen.
 * A bad value throws ConfigError naming the key and the expected form; main prints that one line.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type Codec = 'PCMU' | 'PCMA';
export type SipTransportName = 'udp' | 'tcp';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
  /** Realm we challenge with (inbound) or expect (outbound, optional). */
  readonly realm?: string;
}

export interface InboundTrunkConfig {
  readonly name: string;
  /** Source addresses or CIDRs (IPv4 or IPv6) allowed to send requests on this trunk. */
  readonly addresses: readonly string[];
  /** When set, requests are challenged with digest auth (in addition to any address match). */
  readonly auth?: DigestCredentials;
  /** Inbound REFER from this trunk is refused (403) unless true. */
  readonly allowRefer: boolean;
  /** Refer-To form when we transfer a call that came in on this trunk (some carriers take only tel:). */
  readonly referUriScheme?: 'sip' | 'tel';
}

export interface OutboundTrunkConfig {
  readonly name: string;
  /** Where INVITEs go, e.g. sip:carrier.example.com:5060 */
  readonly uri: string;
  readonly transport: SipTransportName;
  readonly auth?: DigestCredentials & { readonly authUsername?: string };
  /** The user part of From for dial-out when the request does not name one. */
  readonly fromNumber?: string;
  /** Refer-To form for blind transfers on this trunk. */
  readonly referUriScheme: 'sip' | 'tel';
}

export interface RouteConfig {
  /** Matches when every given condition matches; an empty match matches everything. */
  readonly match: { readonly trunk?: string; readonly to?: string; readonly header?: { readonly name: string; readonly pattern: string } };
  readonly bot: string;
}

export interface TrunklineConfig {
  readonly logLevel: LogLevel;
  readonly sip: {
    readonly listen: HostPort;
    readonly externalAddress?: string;
    readonly transports: readonly SipTransportName[];
    /** RFC 3261 timer base values in ms. */
    readonly t1: number;
    readonly t2: number;
    readonly t4: number;
    /** What an unknown source gets: a 403, or no answer at all. */
    readonly unknownSource: 'reject' | 'ignore';
    readonly userAgent: string;
    readonly maxMessageBytes: number;
    readonly maxHeaders: number;
    /** RFC 4028 session interval we ask for and the minimum we accept, seconds. */
    readonly sessionExpires: number;
    readonly minSessionExpires: number;
    readonly tcpIdleTimeoutMs: number;
    /**
     * Per-source token bucket on inbound requests (responses are not counted): `perSecond`
     * sustained, `burst` at once; excess is dropped silently. `perSecond: 0` turns it off.
     */
    readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  };
  readonly rtp: {
    readonly portMin: number;
    readonly portMax: number;
    readonly quarantineMs: number;
    readonly inactivityTimeoutMs: number;
    /** Codec preference when answering; 'offerer' keeps the offer's order. */
    readonly codecPreference: 'offerer' | readonly Codec[];
    readonly jitterMinMs: number;
    readonly jitterMaxMs: number;
    /** Send silence frames while the bot has nothing to say, so the stream never stops (default true). */
    readonly sendSilence: boolean;
  };
  readonly http: {
    readonly listen: HostPort;
    readonly apiToken?: string;
    /** HMAC-SHA256 key that signs webhooks (Trunkline-Signature); webhooks are refused without it. */
    readonly webhookSecret?: string;
    /** Where every call's events go (dial-out may name its own webhook as well). */
    readonly webhookUrl?: string;
  };
  readonly bot: string;
  readonly calls: {
    readonly maxConcurrent: number;
    readonly maxDurationSec: number;
    readonly drainTimeoutSec: number;
    readonly workers: number | 'auto';
    /** When set, every call is recorded as a stereo WAV (caller left, bot right) in this folder. */
    readonly recordDir?: string;
  };
  readonly trunks: {
    readonly inbound: readonly InboundTrunkConfig[];
    readonly outbound: readonly OutboundTrunkConfig[];
  };
  readonly routes: readonly RouteConfig[];
  /** The `agent` bot: STT → LLM → TTS providers, prompt, tools, failure policy. */
  readonly agent: AgentConfig;
  /** The ws(s):// bridge bot (Twilio Media Streams protocol). */
  readonly bridge: BridgeConfig;
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    expected: string,
    got: unknown,
  ) {
    super(`${key}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
    this.name = 'ConfigError';
  }
}

/** Loopback and private ranges: what the default config (no trunks configured) accepts. */
export const DEFAULT_ALLOWED_SOURCES = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
] as const;

export const DEFAULTS = {
  logLevel: 'info',
  sip: {
    listen: { host: '0.0.0.0', port: 5060 },
    transports: ['udp', 'tcp'],
    t1: 500,
    t2: 4000,
    t4: 5000,
    unknownSource: 'reject',
    userAgent: 'Trunkline/0.1',
    maxMessageBytes: 65536,
    maxHeaders: 256,
    sessionExpires: 1800,
    minSessionExpires: 90,
    tcpIdleTimeoutMs: 120_000,
    rateLimit: { perSecond: 2000, burst: 4000 },
  },
  rtp: {
    portMin: 10000,
    portMax: 20000,
    quarantineMs: 2000,
    inactivityTimeoutMs: 30_000,
    codecPreference: 'offerer',
    jitterMinMs: 20,
    jitterMaxMs: 200,
    sendSilence: true,
  },
  http: { listen: { host: '127.0.0.1', port: 8080 } },
  bot: 'demo',
  calls: { maxConcurrent: 1000, maxDurationSec: 3600, drainTimeoutSec: 30, workers: 'auto' },
  trunks: {
    inbound: [{ name: 'default-private', addresses: [...DEFAULT_ALLOWED_SOURCES], allowRefer: false, referUriScheme: 'sip' }],
    outbound: [],
  },
  routes: [],
  agent: {
    systemPrompt: 'You are a friendly phone assistant. Answer in one or two short spoken sentences, with no lists or markup.',
    stt: { provider: 'deepgram' },
    llm: { provider: 'openai', model: 'gpt-4o-mini' },
    tts: { provider: 'openai' },
    transferTargets: {},
    tools: [],
    onFailure: { action: 'hangup', apology: 'Sorry, I am having technical trouble. Please call again later.' },
    retries: 2,
    stallMs: 8000,
    endOfTurnDelayMs: 0,
  },
  bridge: { maxReconnects: 2, reconnectDelayMs: 250, connectTimeoutMs: 3000 },
} as const satisfies TrunklineConfig;

// ---------------------------------------------------------------------------------------------
// Field readers: each takes the key path (for the error line) and an unknown value.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(key: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(key, 'a non-empty string', v);
  return v;
}

function int(key: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `an integer from ${min} to ${max}`, v);
  }
  return n;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(key, 'true or false', v);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, options: readonly T[]): T {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    throw new ConfigError(key, `one of ${options.join(', ')}`, v);
  }
  return v as T;
}

export function parseHostPort(key: string, v: unknown): HostPort {
  if (isObj(v)) return { host: str(`${key}.host`, v.host), port: int(`${key}.port`, v.port, 0, 65535) };
  if (typeof v !== 'string') throw new ConfigError(key, 'host:port', v);
  // [v6]:port, v4:port, name:port
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]]+):(\d+)$/.exec(v);
  if (m === null || m[1] === undefined || m[2] === undefined) throw new ConfigError(key, 'host:port (e.g. 0.0.0.0:5060 or [::]:5060)', v);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(key, 'host:port with a port from 0 to 65535', v);
  return { host: m[1], port };
}

export function parsePortRange(key: string, v: unknown): { min: number; max: number } {
  const m = typeof v === 'string' ? /^(\d+)-(\d+)$/.exec(v.trim()) : null;
  if (m === null || m[1] === undefined || m[2] === undefined) throw new ConfigError(key, 'min-max (e.g. 10000-20000)', v);
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min < 1024 || max > 65535 || max - min < 3) {
    throw new ConfigError(key, 'min-max within 1024-65535 with room for at least two RTP/RTCP pairs', v);
  }
  return { min, max };
}

/** 127.0.0.0/8, ::1 and localhost: an API bound there is reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Checks an address or CIDR (a.b.c.d, a.b.c.d/n, v6, v6/n). */
export function validCidr(v: string): boolean {
  const [addr, bits, extra] = v.split('/');
  if (addr === undefined || extra !== undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function credentials(key: string, v: unknown): DigestCredentials {
  if (!isObj(v)) throw new ConfigError(key, 'an object { username, password, realm? }', v);
  return {
    username: str(`${key}.username`, v.username),
    password: str(`${key}.password`, v.password),
    ...(v.realm !== undefined ? { realm: str(`${key}.realm`, v.realm) } : {}),
  };
}

function inboundTrunk(key: string, v: unknown): InboundTrunkConfig {
  if (!isObj(v)) throw new ConfigError(key, 'an object { name, addresses, auth? }', v);
  const addresses = v.addresses ?? [];
  if (!Array.isArray(addresses)) throw new ConfigError(`${key}.addresses`, 'an array of addresses or CIDRs', addresses);
  addresses.forEach((a, i) => {
    if (typeof a !== 'string' || !validCidr(a)) throw new ConfigError(`${key}.addresses[${i}]`, 'an IP address or CIDR', a);
  });
  if (addresses.length === 0 && v.auth === undefined) {
    throw new ConfigError(key, 'addresses or auth (a trunk nobody can reach is a mistake)', v);
  }
  return {
    name: str(`${key}.name`, v.name),
    addresses: addresses as string[],
    ...(v.auth !== undefined ? { auth: credentials(`${key}.auth`, v.auth) } : {}),
    allowRefer: v.allowRefer === true,
    referUriScheme: v.referUriScheme === undefined ? 'sip' : oneOf(`${key}.referUriScheme`, v.referUriScheme, ['sip', 'tel'] as const),
  };
}

function outboundTrunk(key: string, v: unknown): OutboundTrunkConfig {
  if (!isObj(v)) throw new ConfigError(key, 'an object { name, uri, transport?, auth?, fromNumber? }', v);
  const uri = str(`${key}.uri`, v.uri);
  if (!/^sips?:/i.test(uri)) throw new ConfigError(`${key}.uri`, 'a sip: URI', uri);
  let auth: OutboundTrunkConfig['auth'];
  if (v.auth !== undefined) {
    const base = credentials(`${key}.auth`, v.auth);
    const a = v.auth as Obj;
    auth = { ...base, ...(a.authUsername !== undefined ? { authUsername: str(`${key}.auth.authUsername`, a.authUsername) } : {}) };
  }
  return {
    name: str(`${key}.name`, v.name),
    uri,
    transport: v.transport === undefined ? 'udp' : oneOf(`${key}.transport`, v.transport, ['udp', 'tcp'] as const),
    ...(auth !== undefined ? { auth } : {}),
    ...(v.fromNumber !== undefined ? { fromNumber: str(`${key}.fromNumber`, v.fromNumber) } : {}),
    referUriScheme: v.referUriScheme === undefined ? 'sip' : oneOf(`${key}.referUriScheme`, v.referUriScheme, ['sip', 'tel'] as const),
  };
}

function route(key: string, v: unknown): RouteConfig {
  if (!isObj(v)) throw new ConfigError(key, 'an object { match, bot }', v);
  const match = v.match ?? {};
  if (!isObj(match)) throw new ConfigError(`${key}.match`, 'an object', match);
  const out: { trunk?: string; to?: string; header?: { name: string; pattern: string } } = {};
  if (match.trunk !== undefined) out.trunk = str(`${key}.match.trunk`, match.trunk);
  if (match.to !== undefined) {
    out.to = str(`${key}.match.to`, match.to);
    try {
      new RegExp(out.to);
    } catch {
      throw new ConfigError(`${key}.match.to`, 'a valid regular expression', match.to);
    }
  }
  if (match.header !== undefined) {
    const h = match.header;
    if (!isObj(h)) throw new ConfigError(`${key}.match.header`, 'an object { name, pattern }', h);
    out.header = { name: str(`${key}.match.header.name`, h.name), pattern: str(`${key}.match.header.pattern`, h.pattern) };
  }
  return { match: out, bot: str(`${key}.bot`, v.bot) };
}

function section(root: Obj, key: string): Obj {
  const v = root[key];
  if (v === undefined) return {};
  if (!isObj(v)) throw new ConfigError(key, 'an object', v);
  return v;
}

function codecPreference(key: string, v: unknown): 'offerer' | readonly Codec[] {
  if (v === 'offerer') return v;
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(key, "'offerer' or a list of PCMU, PCMA", v);
  return list.map((c, i) => oneOf(`${key}[${i}]`, c, ['PCMU', 'PCMA'] as const));
}

function rateLimit(key: string, v: unknown): { perSecond: number; burst: number } {
  if (v === undefined) return { ...DEFAULTS.sip.rateLimit };
  if (!isObj(v)) throw new ConfigError(key, 'an object { perSecond, burst? } (perSecond 0 turns the limit off)', v);
  const perSecond = v.perSecond === undefined ? DEFAULTS.sip.rateLimit.perSecond : int(`${key}.perSecond`, v.perSecond, 0, 1_000_000);
  const burst = v.burst === undefined ? Math.max(1, perSecond * 2) : int(`${key}.burst`, v.burst, 1, 2_000_000);
  return { perSecond, burst };
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Builds the config from a parsed file object and an environment. Pure: tests pass both.
 */
export function buildConfig(file: unknown, env: Readonly<Record<string, string | undefined>>): TrunklineConfig {
  if (file !== undefined && !isObj(file)) throw new ConfigError('TRUNKLINE_CONFIG', 'a JSON object', file);
  const f: Obj = file ?? {};
  const sipF = section(f, 'sip');
  const rtpF = section(f, 'rtp');
  const httpF = section(f, 'http');
  const callsF = section(f, 'calls');
  const trunksF = section(f, 'trunks');

  const d = DEFAULTS;
  const pick = (envKey: string, fileVal: unknown): unknown => env[envKey] ?? fileVal;

  const listenRaw = pick('TRUNKLINE_SIP_LISTEN', sipF.listen);
  const listen = listenRaw === undefined ? d.sip.listen : parseHostPort(env.TRUNKLINE_SIP_LISTEN !== undefined ? 'TRUNKLINE_SIP_LISTEN' : 'sip.listen', listenRaw);
  const httpRaw = pick('TRUNKLINE_HTTP_LISTEN', httpF.listen);
  const httpListen = httpRaw === undefined ? d.http.listen : parseHostPort(env.TRUNKLINE_HTTP_LISTEN !== undefined ? 'TRUNKLINE_HTTP_LISTEN' : 'http.listen', httpRaw);

  let portMin: number = d.rtp.portMin;
  let portMax: number = d.rtp.portMax;
  if (env.TRUNKLINE_RTP_PORTS !== undefined) {
    ({ min: portMin, max: portMax } = parsePortRange('TRUNKLINE_RTP_PORTS', env.TRUNKLINE_RTP_PORTS));
  } else if (rtpF.ports !== undefined) {
    ({ min: portMin, max: portMax } = parsePortRange('rtp.ports', rtpF.ports));
  }

  const externalRaw = pick('TRUNKLINE_SIP_EXTERNAL_ADDRESS', sipF.externalAddress);
  let externalAddress: string | undefined;
  if (externalRaw !== undefined && externalRaw !== '') {
    const key = env.TRUNKLINE_SIP_EXTERNAL_ADDRESS !== undefined ? 'TRUNKLINE_SIP_EXTERNAL_ADDRESS' : 'sip.externalAddress';
    externalAddress = str(key, externalRaw);
    if (isIP(externalAddress) === 0 && !/^[a-zA-Z0-9.-]+$/.test(externalAddress)) throw new ConfigError(key, 'an IP address or host name', externalRaw);
  }

  const levelRaw = pick('TRUNKLINE_LOG_LEVEL', f.logLevel);
  const logLevel = levelRaw === undefined ? d.logLevel : oneOf(env.TRUNKLINE_LOG_LEVEL !== undefined ? 'TRUNKLINE_LOG_LEVEL' : 'logLevel', levelRaw, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);

  const botRaw = pick('TRUNKLINE_BOT', f.bot);
  const bot = botRaw === undefined ? d.bot : str(env.TRUNKLINE_BOT !== undefined ? 'TRUNKLINE_BOT' : 'bot', botRaw);
  if (!/^(demo|echo|agent|wss?:\/\/\S+)$/.test(bot)) {
    throw new ConfigError(env.TRUNKLINE_BOT !== undefined ? 'TRUNKLINE_BOT' : 'bot', 'demo, echo, agent or a ws(s):// URL', bot);
  }

  const tokenRaw = pick('TRUNKLINE_API_TOKEN', httpF.apiToken);
  const apiToken = tokenRaw === undefined || tokenRaw === '' ? undefined : str(env.TRUNKLINE_API_TOKEN !== undefined ? 'TRUNKLINE_API_TOKEN' : 'http.apiToken', tokenRaw);
  if (apiToken !== undefined && apiToken.length < 16) throw new ConfigError('TRUNKLINE_API_TOKEN', 'at least 16 characters', '<hidden>');
  // The API may only be reachable from elsewhere when it asks for a token.
  if (apiToken === undefined && !isLoopbackHost(httpListen.host)) {
    throw new ConfigError('TRUNKLINE_API_TOKEN', `a token of at least 16 characters when the HTTP API listens on a non-loopback address (${httpListen.host})`, '<unset>');
  }
  const secretRaw = pick('TRUNKLINE_WEBHOOK_SECRET', httpF.webhookSecret);
  const webhookSecret = secretRaw === undefined || secretRaw === '' ? undefined : str(env.TRUNKLINE_WEBHOOK_SECRET !== undefined ? 'TRUNKLINE_WEBHOOK_SECRET' : 'http.webhookSecret', secretRaw);
  if (webhookSecret !== undefined && webhookSecret.length < 16) throw new ConfigError('TRUNKLINE_WEBHOOK_SECRET', 'at least 16 characters', '<hidden>');
  const webhookRaw = pick('TRUNKLINE_WEBHOOK_URL', httpF.webhookUrl);
  const webhookKey = env.TRUNKLINE_WEBHOOK_URL !== undefined ? 'TRUNKLINE_WEBHOOK_URL' : 'http.webhookUrl';
  const webhookUrl = webhookRaw === undefined || webhookRaw === '' ? undefined : str(webhookKey, webhookRaw);
  if (webhookUrl !== undefined) {
    if (!/^https?:\/\/\S+$/.test(webhookUrl)) throw new ConfigError(webhookKey, 'an http:// or https:// URL', webhookUrl);
    if (webhookSecret === undefined) throw new ConfigError('TRUNKLINE_WEBHOOK_SECRET', 'a secret of at least 16 characters when a webhook URL is set', '<unset>');
  }

  const transportsRaw = sipF.transports ?? d.sip.transports;
  if (!Array.isArray(transportsRaw) || transportsRaw.length === 0) throw new ConfigError('sip.transports', 'a non-empty list of udp, tcp', transportsRaw);
  const transports = transportsRaw.map((t, i) => oneOf(`sip.transports[${i}]`, t, ['udp', 'tcp'] as const));

  const t1 = sipF.t1 === undefined ? d.sip.t1 : int('sip.t1', sipF.t1, 50, 10_000);
  const t2 = sipF.t2 === undefined ? d.sip.t2 : int('sip.t2', sipF.t2, t1, 60_000);
  const t4 = sipF.t4 === undefined ? d.sip.t4 : int('sip.t4', sipF.t4, 100, 60_000);

  const jitterMinMs = rtpF.jitterMinMs === undefined ? d.rtp.jitterMinMs : int('rtp.jitterMinMs', rtpF.jitterMinMs, 0, 1000);
  const jitterMaxMs = rtpF.jitterMaxMs === undefined ? d.rtp.jitterMaxMs : int('rtp.jitterMaxMs', rtpF.jitterMaxMs, jitterMinMs, 2000);

  const minSE = sipF.minSessionExpires === undefined ? d.sip.minSessionExpires : int('sip.minSessionExpires', sipF.minSessionExpires, 90, 86_400);

  const inboundRaw = trunksF.inbound;
  let inbound: readonly InboundTrunkConfig[] = d.trunks.inbound;
  if (inboundRaw !== undefined) {
    if (!Array.isArray(inboundRaw)) throw new ConfigError('trunks.inbound', 'an array of trunks', inboundRaw);
    inbound = inboundRaw.map((t, i) => inboundTrunk(`trunks.inbound[${i}]`, t));
  }
  const outboundRaw = trunksF.outbound;
  let outbound: readonly OutboundTrunkConfig[] = [];
  if (outboundRaw !== undefined) {
    if (!Array.isArray(outboundRaw)) throw new ConfigError('trunks.outbound', 'an array of trunks', outboundRaw);
    outbound = outboundRaw.map((t, i) => outboundTrunk(`trunks.outbound[${i}]`, t));
  }
  const routesRaw = f.routes;
  let routes: readonly RouteConfig[] = [];
  if (routesRaw !== undefined) {
    if (!Array.isArray(routesRaw)) throw new ConfigError('routes', 'an array of routes', routesRaw);
    routes = routesRaw.map((r, i) => route(`routes[${i}]`, r));
  }
  const workersRaw = callsF.workers;
  const workers = workersRaw === undefined || workersRaw === 'auto' ? 'auto' : int('calls.workers', workersRaw, 0, 64);

  const config: TrunklineConfig = {
    logLevel,
    sip: {
      listen,
      ...(externalAddress !== undefined ? { externalAddress } : {}),
      transports,
      t1,
      t2,
      t4,
      unknownSource: sipF.unknownSource === undefined ? d.sip.unknownSource : oneOf('sip.unknownSource', sipF.unknownSource, ['reject', 'ignore'] as const),
      userAgent: sipF.userAgent === undefined ? d.sip.userAgent : str('sip.userAgent', sipF.userAgent),
      maxMessageBytes: sipF.maxMessageBytes === undefined ? d.sip.maxMessageBytes : int('sip.maxMessageBytes', sipF.maxMessageBytes, 1500, 65536),
      maxHeaders: sipF.maxHeaders === undefined ? d.sip.maxHeaders : int('sip.maxHeaders', sipF.maxHeaders, 16, 1024),
      sessionExpires: sipF.sessionExpires === undefined ? d.sip.sessionExpires : int('sip.sessionExpires', sipF.sessionExpires, minSE, 86_400),
      minSessionExpires: minSE,
      tcpIdleTimeoutMs: sipF.tcpIdleTimeoutMs === undefined ? d.sip.tcpIdleTimeoutMs : int('sip.tcpIdleTimeoutMs', sipF.tcpIdleTimeoutMs, 1000, 3_600_000),
      rateLimit: rateLimit('sip.rateLimit', sipF.rateLimit),
    },
    rtp: {
      portMin,
      portMax,
      quarantineMs: rtpF.quarantineMs === undefined ? d.rtp.quarantineMs : int('rtp.quarantineMs', rtpF.quarantineMs, 0, 60_000),
      inactivityTimeoutMs: rtpF.inactivityTimeoutMs === undefined ? d.rtp.inactivityTimeoutMs : int('rtp.inactivityTimeoutMs', rtpF.inactivityTimeoutMs, 1000, 3_600_000),
      codecPreference: rtpF.codecPreference === undefined ? d.rtp.codecPreference : codecPreference('rtp.codecPreference', rtpF.codecPreference),
      jitterMinMs,
      jitterMaxMs,
      sendSilence: rtpF.sendSilence === undefined ? d.rtp.sendSilence : bool('rtp.sendSilence', rtpF.sendSilence),
    },
    http: {
      listen: httpListen,
      ...(apiToken !== undefined ? { apiToken } : {}),
      ...(webhookSecret !== undefined ? { webhookSecret } : {}),
      ...(webhookUrl !== undefined ? { webhookUrl } : {}),
    },
    bot,
    calls: {
      maxConcurrent: callsF.maxConcurrent === undefined ? d.calls.maxConcurrent : int('calls.maxConcurrent', callsF.maxConcurrent, 1, 100_000),
      maxDurationSec: callsF.maxDurationSec === undefined ? d.calls.maxDurationSec : int('calls.maxDurationSec', callsF.maxDurationSec, 10, 86_400),
      drainTimeoutSec: callsF.drainTimeoutSec === undefined ? d.calls.drainTimeoutSec : int('calls.drainTimeoutSec', callsF.drainTimeoutSec, 0, 3600),
      workers,
      ...(callsF.recordDir !== undefined ? { recordDir: str('calls.recordDir', callsF.recordDir) } : {}),
    },
    trunks: { inbound, outbound },
    routes,
    agent: agentConfig(f, env, usesAgent(bot, routes)),
    bridge: bridgeConfig(section(f, 'bridge')),
  };
  return deepFreeze(structuredClone(config));
}

/** Reads TRUNKLINE_CONFIG (if set) and the environment. Throws ConfigError on any bad value. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): TrunklineConfig {
  const path = env.TRUNKLINE_CONFIG;
  let file: unknown;
  if (path !== undefined && path !== '') {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError('TRUNKLINE_CONFIG', 'a readable JSON file', `${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      file = JSON.parse(text);
    } catch (err) {
      throw new ConfigError('TRUNKLINE_CONFIG', 'valid JSON', `${path}: ${(err as Error).message}`);
    }
  }
  return buildConfig(file, env);
}

// ---------------------------------------------------------------------------------------------
// The agent bot and the ws(s):// bridge.

export type SttProviderName = 'deepgram' | 'openai' | 'pocketsphinx';
export type LlmProviderName = 'openai';
export type TtsProviderName = 'openai' | 'deepgram' | 'flite';

export interface AgentHttpToolConfig {
  readonly name: string;
  readonly description: string;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** JSON Schema of the arguments. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
}

/**
 * Credentials are not part of the config: providers read DEEPGRAM_API_KEY / OPENAI_API_KEY /
 * ELEVENLABS_API_KEY from the environment when a call starts; start-up only checks they are set
 * where a provider's public endpoint needs one.
 */
export interface AgentConfig {
  readonly systemPrompt: string;
  readonly greeting?: string;
  readonly stt: {
    readonly provider: SttProviderName;
    readonly baseUrl?: string;
    readonly model?: string;
    readonly language?: string;
    /** pocketsphinx: a JSGF grammar file, or keywords to build one from. */
    readonly grammarPath?: string;
    readonly keywords?: readonly string[];
  };
  readonly llm: { readonly provider: LlmProviderName; readonly baseUrl?: string; readonly model: string; readonly temperature?: number };
  readonly tts: { readonly provider: TtsProviderName; readonly baseUrl?: string; readonly model?: string; readonly voice?: string };
  /** Names the model may transfer to → SIP URIs (the transfer_call tool offers only these). */
  readonly transferTargets: Readonly<Record<string, string>>;
  readonly tools: readonly AgentHttpToolConfig[];
  readonly onFailure: { readonly action: 'transfer' | 'hangup'; readonly target?: string; readonly apology: string };
  readonly retries: number;
  readonly stallMs: number;
  readonly endOfTurnDelayMs: number;
}

export interface BridgeConfig {
  readonly maxReconnects: number;
  readonly reconnectDelayMs: number;
  readonly connectTimeoutMs: number;
  readonly accountSid?: string;
}

function usesAgent(bot: string, routes: readonly RouteConfig[]): boolean {
  return bot === 'agent' || routes.some((r) => r.bot === 'agent');
}

function optStr(key: string, v: unknown): string | undefined {
  return v === undefined || v === '' ? undefined : str(key, v);
}

function httpUrl(key: string, v: unknown, schemes: RegExp): string | undefined {
  const s = optStr(key, v);
  if (s !== undefined && !schemes.test(s)) throw new ConfigError(key, `a URL matching ${String(schemes)}`, s);
  return s;
}

function httpTool(key: string, v: unknown): AgentHttpToolConfig {
  if (!isObj(v)) throw new ConfigError(key, 'an object { name, description, url, method?, parameters?, timeoutMs? }', v);
  const name = str(`${key}.name`, v.name);
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name) || ['transfer_call', 'end_call', 'send_dtmf'].includes(name)) {
    throw new ConfigError(`${key}.name`, 'letters, digits, _ or - (1-64), not a built-in tool name', name);
  }
  const parameters = v.parameters ?? { type: 'object', properties: {} };
  if (!isObj(parameters) || parameters.type !== 'object') throw new ConfigError(`${key}.parameters`, "a JSON Schema object with type 'object'", parameters);
  return {
    name,
    description: str(`${key}.description`, v.description),
    url: httpUrl(`${key}.url`, v.url, /^https?:\/\/\S+$/) ?? str(`${key}.url`, v.url),
    method: v.method === undefined ? 'POST' : oneOf(`${key}.method`, v.method, ['GET', 'POST'] as const),
    parameters,
    timeoutMs: v.timeoutMs === undefined ? 5000 : int(`${key}.timeoutMs`, v.timeoutMs, 100, 60_000),
  };
}

function agentConfig(f: Obj, env: Readonly<Record<string, string | undefined>>, inUse: boolean): AgentConfig {
  const a = section(f, 'agent');
  const d = DEFAULTS.agent;
  const sttF = section(a, 'stt');
  const llmF = section(a, 'llm');
  const ttsF = section(a, 'tts');
  const failF = section(a, 'onFailure');
  const envOr = (envKey: string, fileKey: string, v: unknown): { key: string; value: unknown } =>
    env[envKey] !== undefined ? { key: envKey, value: env[envKey] } : { key: fileKey, value: v };

  const prompt = envOr('TRUNKLINE_AGENT_PROMPT', 'agent.systemPrompt', a.systemPrompt);
  const sttP = envOr('TRUNKLINE_STT_PROVIDER', 'agent.stt.provider', sttF.provider);
  const llmUrl = envOr('TRUNKLINE_LLM_BASE_URL', 'agent.llm.baseUrl', llmF.baseUrl);
  const llmModel = envOr('TRUNKLINE_LLM_MODEL', 'agent.llm.model', llmF.model);
  const ttsP = envOr('TRUNKLINE_TTS_PROVIDER', 'agent.tts.provider', ttsF.provider);

  const keywordsRaw = sttF.keywords;
  let keywords: string[] | undefined;
  if (keywordsRaw !== undefined) {
    const list = typeof keywordsRaw === 'string' ? keywordsRaw.split(',').map((k) => k.trim()) : keywordsRaw;
    if (!Array.isArray(list) || list.length === 0) throw new ConfigError('agent.stt.keywords', 'a non-empty list of words', keywordsRaw);
    keywords = list.map((k, i) => {
      if (typeof k !== 'string' || !/^[a-zA-Z']+$/.test(k)) throw new ConfigError(`agent.stt.keywords[${i}]`, 'a single word (letters only)', k);
      return k.toLowerCase();
    });
  }
  const stt: AgentConfig['stt'] = {
    provider: sttP.value === undefined ? d.stt.provider : oneOf(sttP.key, sttP.value, ['deepgram', 'openai', 'pocketsphinx'] as const),
    ...(sttF.baseUrl !== undefined ? { baseUrl: httpUrl('agent.stt.baseUrl', sttF.baseUrl, /^(https?|wss?):\/\/\S+$/)! } : {}),
    ...(sttF.model !== undefined ? { model: str('agent.stt.model', sttF.model) } : {}),
    ...(sttF.language !== undefined ? { language: str('agent.stt.language', sttF.language) } : {}),
    ...(sttF.grammarPath !== undefined ? { grammarPath: str('agent.stt.grammarPath', sttF.grammarPath) } : {}),
    ...(keywords !== undefined ? { keywords } : {}),
  };
  if (stt.provider === 'pocketsphinx' && stt.grammarPath === undefined && stt.keywords === undefined) {
    throw new ConfigError('agent.stt', 'grammarPath or keywords for pocketsphinx (it only recognises a grammar)', sttF);
  }
  const llmBase = httpUrl(llmUrl.key, llmUrl.value, /^https?:\/\/\S+$/);
  const llm: AgentConfig['llm'] = {
    provider: llmF.provider === undefined ? d.llm.provider : oneOf('agent.llm.provider', llmF.provider, ['openai'] as const),
    ...(llmBase !== undefined ? { baseUrl: llmBase } : {}),
    model: llmModel.value === undefined ? d.llm.model : str(llmModel.key, llmModel.value),
    ...(llmF.temperature !== undefined ? { temperature: temperature(llmF.temperature) } : {}),
  };
  const tts: AgentConfig['tts'] = {
    provider: ttsP.value === undefined ? d.tts.provider : oneOf(ttsP.key, ttsP.value, ['openai', 'deepgram', 'flite'] as const),
    ...(ttsF.baseUrl !== undefined ? { baseUrl: httpUrl('agent.tts.baseUrl', ttsF.baseUrl, /^(https?|wss?):\/\/\S+$/)! } : {}),
    ...(ttsF.model !== undefined ? { model: str('agent.tts.model', ttsF.model) } : {}),
    ...(ttsF.voice !== undefined ? { voice: str('agent.tts.voice', ttsF.voice) } : {}),
  };
  const targetsRaw = a.transferTargets ?? {};
  if (!isObj(targetsRaw)) throw new ConfigError('agent.transferTargets', 'an object { name: "sip:…" }', targetsRaw);
  const transferTargets: Record<string, string> = {};
  for (const [name, uri] of Object.entries(targetsRaw)) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) throw new ConfigError(`agent.transferTargets.${name}`, 'a name of letters, digits, _ or -', name);
    const u = str(`agent.transferTargets.${name}`, uri);
    if (!/^(sips?|tel):/i.test(u)) throw new ConfigError(`agent.transferTargets.${name}`, 'a sip:, sips: or tel: URI', u);
    transferTargets[name] = u;
  }
  const toolsRaw = a.tools ?? [];
  if (!Array.isArray(toolsRaw)) throw new ConfigError('agent.tools', 'an array of HTTP tools', toolsRaw);
  const tools = toolsRaw.map((t, i) => httpTool(`agent.tools[${i}]`, t));
  const action = failF.action === undefined ? d.onFailure.action : oneOf('agent.onFailure.action', failF.action, ['transfer', 'hangup'] as const);
  const failTarget = optStr('agent.onFailure.target', failF.target);
  if (action === 'transfer' && failTarget === undefined) throw new ConfigError('agent.onFailure.target', 'a SIP URI when action is transfer', failF.target);
  if (failTarget !== undefined && !/^(sips?|tel):/i.test(failTarget)) throw new ConfigError('agent.onFailure.target', 'a sip:, sips: or tel: URI', failTarget);

  const config: AgentConfig = {
    systemPrompt: prompt.value === undefined ? d.systemPrompt : str(prompt.key, prompt.value),
    ...(a.greeting !== undefined ? { greeting: str('agent.greeting', a.greeting) } : {}),
    stt,
    llm,
    tts,
    transferTargets,
    tools,
    onFailure: {
      action,
      ...(failTarget !== undefined ? { target: failTarget } : {}),
      apology: failF.apology === undefined ? d.onFailure.apology : str('agent.onFailure.apology', failF.apology),
    },
    retries: a.retries === undefined ? d.retries : int('agent.retries', a.retries, 0, 5),
    stallMs: a.stallMs === undefined ? d.stallMs : int('agent.stallMs', a.stallMs, 500, 60_000),
    endOfTurnDelayMs: a.endOfTurnDelayMs === undefined ? d.endOfTurnDelayMs : int('agent.endOfTurnDelayMs', a.endOfTurnDelayMs, 0, 3000),
  };
  if (inUse) {
    // a public endpoint without its key fails every call: refuse at start-up instead
    const need = (provider: string, baseUrl: string | undefined, envKey: string, key: string): void => {
      if (baseUrl === undefined && (env[envKey] === undefined || env[envKey] === '')) throw new ConfigError(envKey, `an API key for ${key} ${provider} (or set a baseUrl for a local server)`, '<unset>');
    };
    if (stt.provider === 'deepgram') need('deepgram', stt.baseUrl, 'DEEPGRAM_API_KEY', 'agent.stt');
    if (stt.provider === 'openai') need('openai', stt.baseUrl ?? llm.baseUrl, 'OPENAI_API_KEY', 'agent.stt');
    need('openai', llm.baseUrl, 'OPENAI_API_KEY', 'agent.llm');
    if (tts.provider === 'deepgram') need('deepgram', tts.baseUrl, 'DEEPGRAM_API_KEY', 'agent.tts');
    if (tts.provider === 'openai') need('openai', tts.baseUrl ?? llm.baseUrl, 'OPENAI_API_KEY', 'agent.tts');
  }
  return config;
}

function temperature(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 2) throw new ConfigError('agent.llm.temperature', 'a number from 0 to 2', v);
  return n;
}

function bridgeConfig(b: Obj): BridgeConfig {
  const d = DEFAULTS.bridge;
  const accountSid = optStr('bridge.accountSid', b.accountSid);
  if (accountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) throw new ConfigError('bridge.accountSid', 'AC followed by 32 hex digits', accountSid);
  return {
    maxReconnects: b.maxReconnects === undefined ? d.maxReconnects : int('bridge.maxReconnects', b.maxReconnects, 0, 10),
    reconnectDelayMs: b.reconnectDelayMs === undefined ? d.reconnectDelayMs : int('bridge.reconnectDelayMs', b.reconnectDelayMs, 10, 30_000),
    connectTimeoutMs: b.connectTimeoutMs === undefined ? d.connectTimeoutMs : int('bridge.connectTimeoutMs', b.connectTimeoutMs, 100, 30_000),
    ...(accountSid !== undefined ? { accountSid } : {}),
  };
}
