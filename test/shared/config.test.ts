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

  it('a missing or broken file names TRUNKLINE_CONFIG', () => {
    expect(errorOf(() => loadConfig({ TRUNKLINE_CONFIG: '/nonexistent/trunkline.json' })).message).toMatch(/^TRUNKLINE_CONFIG: expected a readable JSON file/);
    const dir = mkdtempSync(join(tmpdir(), 'trunkline-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(errorOf(() => loadConfig({ TRUNKLINE_CONFIG: join(dir, 'bad.json') })).message).toMatch(/^TRUNKLINE_CONFIG: expected valid JSON/);
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
