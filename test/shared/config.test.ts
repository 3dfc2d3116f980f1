import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, buildConfig, loadConfig, validCidr } from '../../src/shared/config.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('defaults: SIP 0.0.0.0:5060, RTP 10000-20000, HTTP 127.0.0.1:8080, demo bot, private sources only', () => {
    const c = buildConfig(undefined, {});
    expect(c.sip.listen).toEqual({ host: '0.0.0.0', port: 5060 });
    expect([c.rtp.portMin, c.rtp.portMax]).toEqual([10000, 20000]);
    expect(c.http.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.bot).toBe('demo');
    expect(c.trunks.inbound).toHaveLength(1);
    expect(c.trunks.inbound[0]?.addresses).toContain('127.0.0.0/8');
    expect(c.trunks.inbound[0]?.addresses).not.toContain('0.0.0.0/0');
    expect(c.http.apiToken).toBeUndefined();
  });

  it('reads every TRUNKLINE_* key of the contract', () => {
    const c = buildConfig(undefined, {
      TRUNKLINE_SIP_LISTEN: '127.0.0.1:15060',
      TRUNKLINE_SIP_EXTERNAL_ADDRESS: '203.0.113.7',
      TRUNKLINE_RTP_PORTS: '30000-30100',
      TRUNKLINE_HTTP_LISTEN: '[::1]:18080',
      TRUNKLINE_API_TOKEN: 'a-long-enough-secret-token',
      TRUNKLINE_BOT: 'echo',
      TRUNKLINE_LOG_LEVEL: 'debug',
    });
    expect(c.sip.listen).toEqual({ host: '127.0.0.1', port: 15060 });
    expect(c.sip.externalAddress).toBe('203.0.113.7');
    expect([c.rtp.portMin, c.rtp.portMax]).toEqual([30000, 30100]);
    expect(c.http.listen).toEqual({ host: '::1', port: 18080 });
    expect(c.http.apiToken).toBe('a-long-enough-secret-token');
    expect(c.bot).toBe('echo');
    expect(c.logLevel).toBe('debug');
  });

  it('is frozen', () => {
    const c = buildConfig(undefined, {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.sip.listen)).toBe(true);
    expect(Object.isFrozen(c.trunks.inbound[0]?.addresses)).toBe(true);
    expect(Object.isFrozen(DEFAULTS)).toBe(false); // the defaults object itself is never handed out
  });

  it.each([
    ['TRUNKLINE_SIP_LISTEN', 'nonsense', /^TRUNKLINE_SIP_LISTEN: expected host:port/],
    ['TRUNKLINE_SIP_LISTEN', '1.2.3.4:99999', /^TRUNKLINE_SIP_LISTEN: expected host:port with a port/],
    ['TRUNKLINE_RTP_PORTS', '20000-10000', /^TRUNKLINE_RTP_PORTS: expected min-max within/],
    ['TRUNKLINE_RTP_PORTS', '10000', /^TRUNKLINE_RTP_PORTS: expected min-max/],
    ['TRUNKLINE_HTTP_LISTEN', ':8080', /^TRUNKLINE_HTTP_LISTEN: expected host:port/],
    ['TRUNKLINE_BOT', 'ftp://x', /^TRUNKLINE_BOT: expected demo, echo, agent or a ws\(s\):\/\/ URL/],
    ['TRUNKLINE_LOG_LEVEL', 'loud', /^TRUNKLINE_LOG_LEVEL: expected one of fatal/],
    ['TRUNKLINE_API_TOKEN', 'short', /^TRUNKLINE_API_TOKEN: expected at least 16 characters, got "<hidden>"$/],
    ['TRUNKLINE_SIP_EXTERNAL_ADDRESS', 'not an address!', /^TRUNKLINE_SIP_EXTERNAL_ADDRESS: expected an IP address/],
  ])('a bad %s stops start-up with one line naming the key (%s)', (key, value, pattern) => {
    const err = errorOf(() => buildConfig(undefined, { [key]: value }));
    expect(err.message).toMatch(pattern);
    expect(err.message).not.toContain('\n');
  });

  it('names the nested key of a bad file value', () => {
    const err = errorOf(() =>
      buildConfig({ trunks: { inbound: [{ name: 'carrier', addresses: ['10.0.0.0/33'] }] } }, {}),
    );
    expect(err.message).toMatch(/^trunks\.inbound\[0\]\.addresses\[0\]: expected an IP address or CIDR/);
    expect(errorOf(() => buildConfig({ sip: { t1: 5 } }, {})).message).toMatch(/^sip\.t1: expected an integer from 50/);
    expect(errorOf(() => buildConfig({ routes: [{ match: { to: '(' }, bot: 'echo' }] }, {})).message).toMatch(/^routes\[0\]\.match\.to:/);
    expect(errorOf(() => buildConfig({ trunks: { outbound: [{ name: 'x', uri: 'http://x' }] } }, {})).message).toMatch(/^trunks\.outbound\[0\]\.uri: expected a sip: URI/);
  });

  it('reads a JSON file named by TRUNKLINE_CONFIG, env overriding it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trunkline-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        bot: 'echo',
        sip: { listen: '127.0.0.1:25060', unknownSource: 'ignore' },
        trunks: {
          inbound: [{ name: 'carrier', addresses: ['198.51.100.0/24'], auth: { username: 'u', password: 'p' } }],
          outbound: [{ name: 'out', uri: 'sip:sip.carrier.example:5060', transport: 'tcp', fromNumber: '+15551230000' }],
        },
      }),
    );
    const c = loadConfig({ TRUNKLINE_CONFIG: file, TRUNKLINE_SIP_LISTEN: '127.0.0.1:25070' });
    expect(c.bot).toBe('echo');
    expect(c.sip.listen.port).toBe(25070);
    expect(c.sip.unknownSource).toBe('ignore');
    expect(c.trunks.inbound[0]?.auth?.username).toBe('u');
    expect(c.trunks.outbound[0]?.transport).toBe('tcp');
    expect(c.trunks.outbound[0]?.referUriScheme).toBe('sip');
  });

  it('sip.rateLimit: per-source bucket, default 2000/s burst 4000 (a carrier sends every call from a few addresses); 0 turns it off; bad values name the key', () => {
    expect(buildConfig(undefined, {}).sip.rateLimit).toEqual({ perSecond: 2000, burst: 4000 });
    expect(buildConfig({ sip: { rateLimit: { perSecond: 50 } } }, {}).sip.rateLimit).toEqual({ perSecond: 50, burst: 100 });
    expect(buildConfig({ sip: { rateLimit: { perSecond: 0 } } }, {}).sip.rateLimit.perSecond).toBe(0);
    expect(buildConfig({ sip: { rateLimit: { perSecond: 10, burst: 5 } } }, {}).sip.rateLimit).toEqual({ perSecond: 10, burst: 5 });
    expect(errorOf(() => buildConfig({ sip: { rateLimit: 100 } }, {})).key).toBe('sip.rateLimit');
    expect(errorOf(() => buildConfig({ sip: { rateLimit: { perSecond: -1 } } }, {})).key).toBe('sip.rateLimit.perSecond');
    expect(errorOf(() => buildConfig({ sip: { rateLimit: { perSecond: 10, burst: 0 } } }, {})).key).toBe('sip.rateLimit.burst');
  });

  it('a missing or broken file names TRUNKLINE_CONFIG', () => {
    expect(errorOf(() => loadConfig({ TRUNKLINE_CONFIG: '/nonexistent/trunkline.json' })).message).toMatch(/^TRUNKLINE_CONFIG: expected a readable JSON file/);
    const dir = mkdtempSync(join(tmpdir(), 'trunkline-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(errorOf(() => loadConfig({ TRUNKLINE_CONFIG: join(dir, 'bad.json') })).message).toMatch(/^TRUNKLINE_CONFIG: expected valid JSON/);
  });

  it('refuses an HTTP API on a non-loopback address without TRUNKLINE_API_TOKEN', () => {
    const err = errorOf(() => buildConfig(undefined, { TRUNKLINE_HTTP_LISTEN: '0.0.0.0:8080' }));
    expect(err.key).toBe('TRUNKLINE_API_TOKEN');
    expect(err.message).toMatch(/^TRUNKLINE_API_TOKEN: expected a token of at least 16 characters when the HTTP API listens on a non-loopback address \(0\.0\.0\.0\)/);
    expect(errorOf(() => buildConfig({ http: { listen: '[::]:8080' } }, {})).key).toBe('TRUNKLINE_API_TOKEN');
    expect(buildConfig(undefined, { TRUNKLINE_HTTP_LISTEN: '0.0.0.0:8080', TRUNKLINE_API_TOKEN: 'a-long-enough-secret-token' }).http.apiToken).toBe('a-long-enough-secret-token');
    expect(buildConfig(undefined, { TRUNKLINE_HTTP_LISTEN: '127.0.0.2:8080' }).http.apiToken).toBeUndefined();
    expect(buildConfig(undefined, { TRUNKLINE_HTTP_LISTEN: 'localhost:8080' }).http.listen.host).toBe('localhost');
  });

  it('reads the webhook secret and URL; a URL without a secret is refused', () => {
    const c = buildConfig(undefined, { TRUNKLINE_WEBHOOK_SECRET: 'whsec-0123456789abcdef', TRUNKLINE_WEBHOOK_URL: 'https://app.example/hooks' });
    expect(c.http.webhookSecret).toBe('whsec-0123456789abcdef');
    expect(c.http.webhookUrl).toBe('https://app.example/hooks');
    expect(errorOf(() => buildConfig(undefined, { TRUNKLINE_WEBHOOK_URL: 'https://app.example/hooks' })).key).toBe('TRUNKLINE_WEBHOOK_SECRET');
    expect(errorOf(() => buildConfig(undefined, { TRUNKLINE_WEBHOOK_SECRET: 'short' })).message).toMatch(/^TRUNKLINE_WEBHOOK_SECRET: expected at least 16 characters/);
    expect(errorOf(() => buildConfig({ http: { webhookUrl: 'ftp://x', webhookSecret: 'whsec-0123456789abcdef' } }, {})).message).toMatch(/^http\.webhookUrl: expected an http:\/\/ or https:\/\/ URL/);
  });

  it('inbound trunks carry a Refer-To scheme (sip by default)', () => {
    const c = buildConfig({ trunks: { inbound: [{ name: 'c', addresses: ['10.0.0.1'], referUriScheme: 'tel' }] } }, {});
    expect(c.trunks.inbound[0]?.referUriScheme).toBe('tel');
    expect(buildConfig(undefined, {}).trunks.inbound[0]?.referUriScheme).toBe('sip');
    expect(errorOf(() => buildConfig({ trunks: { inbound: [{ name: 'c', addresses: ['10.0.0.1'], referUriScheme: 'sips' }] } }, {})).message).toMatch(/^trunks\.inbound\[0\]\.referUriScheme: expected one of sip, tel/);
  });

  it('calls.recordDir turns on per-call stereo recordings and must be a string', () => {
    expect(buildConfig({ calls: { recordDir: '/var/lib/trunkline/rec' } }, {}).calls.recordDir).toBe('/var/lib/trunkline/rec');
    expect(buildConfig(undefined, {}).calls.recordDir).toBeUndefined();
    expect(errorOf(() => buildConfig({ calls: { recordDir: 5 } }, {})).message).toMatch(/^calls\.recordDir: expected a non-empty string/);
  });

  it('rtp.sendSilence keeps the stream continuous by default and takes only a boolean', () => {
    expect(buildConfig(undefined, {}).rtp.sendSilence).toBe(true);
    expect(buildConfig({ rtp: { sendSilence: false } }, {}).rtp.sendSilence).toBe(false);
    expect(errorOf(() => buildConfig({ rtp: { sendSilence: 'yes' } }, {})).message).toMatch(/^rtp\.sendSilence: expected true or false/);
  });

  it('validates CIDRs', () => {
    expect(validCidr('10.0.0.0/8')).toBe(true);
    expect(validCidr('::1/128')).toBe(true);
    expect(validCidr('2001:db8::/129')).toBe(false);
    expect(validCidr('10.0.0.1')).toBe(true);
    expect(validCidr('10.0.0.0/8/1')).toBe(false);
    expect(validCidr('example.com/8')).toBe(false);
  });
});

describe('config: agent and bridge bots', () => {
  const keys = { OPENAI_API_KEY: 'sk-x', DEEPGRAM_API_KEY: 'dg-x' };

  it('defaults: deepgram STT, OpenAI LLM and TTS, hang up on failure; bridge reconnects twice', () => {
    const c = buildConfig(undefined, {});
    expect(c.agent.stt.provider).toBe('deepgram');
    expect(c.agent.llm).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(c.agent.tts.provider).toBe('openai');
    expect(c.agent.onFailure.action).toBe('hangup');
    expect(c.agent.retries).toBe(2);
    expect(c.bridge).toEqual({ maxReconnects: 2, reconnectDelayMs: 250, connectTimeoutMs: 3000 });
  });

  it('TRUNKLINE_BOT=agent without the providers\' API keys stops start-up naming the variable', () => {
    expect(errorOf(() => buildConfig(undefined, { TRUNKLINE_BOT: 'agent' })).key).toBe('DEEPGRAM_API_KEY');
    expect(errorOf(() => buildConfig(undefined, { TRUNKLINE_BOT: 'agent', DEEPGRAM_API_KEY: 'x' })).key).toBe('OPENAI_API_KEY');
    expect(buildConfig(undefined, { TRUNKLINE_BOT: 'agent', ...keys }).bot).toBe('agent');
    // keys are read from env by the providers, never copied into the config
    expect(JSON.stringify(buildConfig(undefined, { TRUNKLINE_BOT: 'agent', ...keys }))).not.toContain('sk-x');
  });

  it('a local OpenAI-compatible server by base URL needs no key; offline pocketsphinx + flite need none', () => {
    const c = buildConfig(
      { agent: { stt: { provider: 'pocketsphinx', keywords: ['sales', 'support'] }, tts: { provider: 'flite' }, llm: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'llama' } } },
      { TRUNKLINE_BOT: 'agent' },
    );
    expect(c.agent.stt).toEqual({ provider: 'pocketsphinx', keywords: ['sales', 'support'] });
    expect(c.agent.llm).toEqual({ provider: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'llama' });
  });

  it('reads prompt, providers, transfer targets, HTTP tools and failure policy', () => {
    const c = buildConfig(
      {
        agent: {
          systemPrompt: 'file prompt',
          greeting: 'Hello!',
          transferTargets: { sales: 'sip:sales@pbx', support: 'tel:+15551234567' },
          tools: [{ name: 'order_status', description: 'Look up an order', url: 'https://crm.example.com/orders', parameters: { type: 'object', properties: { id: { type: 'string' } } } }],
          onFailure: { action: 'transfer', target: 'sip:operator@pbx', apology: 'Sorry!' },
          retries: 1,
          stallMs: 4000,
        },
      },
      { TRUNKLINE_AGENT_PROMPT: 'env prompt', TRUNKLINE_STT_PROVIDER: 'openai', TRUNKLINE_TTS_PROVIDER: 'deepgram', TRUNKLINE_LLM_MODEL: 'gpt-x' },
    );
    expect(c.agent.systemPrompt).toBe('env prompt');
    expect(c.agent.greeting).toBe('Hello!');
    expect(c.agent.stt.provider).toBe('openai');
    expect(c.agent.tts.provider).toBe('deepgram');
    expect(c.agent.llm.model).toBe('gpt-x');
    expect(c.agent.transferTargets).toEqual({ sales: 'sip:sales@pbx', support: 'tel:+15551234567' });
    expect(c.agent.tools[0]).toMatchObject({ name: 'order_status', method: 'POST', timeoutMs: 5000 });
    expect(c.agent.onFailure).toEqual({ action: 'transfer', target: 'sip:operator@pbx', apology: 'Sorry!' });
    expect([c.agent.retries, c.agent.stallMs]).toEqual([1, 4000]);
    expect(Object.isFrozen(c.agent.transferTargets)).toBe(true);
  });

  it('bad agent and bridge values name their key', () => {
    expect(errorOf(() => buildConfig({ agent: { stt: { provider: 'whisper' } } }, {})).key).toBe('agent.stt.provider');
    expect(errorOf(() => buildConfig({ agent: { stt: { provider: 'pocketsphinx' } } }, {})).key).toBe('agent.stt');
    expect(errorOf(() => buildConfig({ agent: { transferTargets: { sales: 'http://x' } } }, {})).key).toBe('agent.transferTargets.sales');
    expect(errorOf(() => buildConfig({ agent: { tools: [{ name: 'end_call', description: 'x', url: 'https://x' }] } }, {})).key).toBe('agent.tools[0].name');
    expect(errorOf(() => buildConfig({ agent: { tools: [{ name: 't', description: 'x', url: 'ftp://x' }] } }, {})).key).toBe('agent.tools[0].url');
    expect(errorOf(() => buildConfig({ agent: { onFailure: { action: 'transfer' } } }, {})).key).toBe('agent.onFailure.target');
    expect(errorOf(() => buildConfig({ agent: { llm: { temperature: 3 } } }, {})).key).toBe('agent.llm.temperature');
    expect(errorOf(() => buildConfig(undefined, { TRUNKLINE_LLM_BASE_URL: 'localhost:8000' })).key).toBe('TRUNKLINE_LLM_BASE_URL');
    expect(errorOf(() => buildConfig({ bridge: { maxReconnects: 99 } }, {})).key).toBe('bridge.maxReconnects');
    expect(errorOf(() => buildConfig({ bridge: { accountSid: 'nope' } }, {})).key).toBe('bridge.accountSid');
  });
});
