import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError } from '../../shared/index.js';
import type { InboundTrunkConfig } from '../../shared/index.js';
import { InboundTrunkTable } from './inbound-trunk-table.js';

const carrier: InboundTrunkConfig = {
  name: 'carrier',
  addresses: ['203.0.113.0/28', '2001:db8:10::/48'],
  allowRefer: true, referUriScheme: 'sip',
};
const pbx: InboundTrunkConfig = {
  name: 'pbx',
  addresses: ['198.51.100.20'],
  auth: { username: 'pbx', password: 'secret-pbx', realm: 'trunkline' },
  allowRefer: false, referUriScheme: 'sip',
};
const roaming: InboundTrunkConfig = { name: 'roaming', addresses: [], auth: { username: 'alice', password: 'a-pass' }, allowRefer: false, referUriScheme: 'sip' };
const roaming2: InboundTrunkConfig = { name: 'roaming2', addresses: [], auth: { username: 'bob', password: 'b-pass' }, allowRefer: false, referUriScheme: 'sip' };

describe('InboundTrunkTable', () => {
  it('matches the default config: loopback and private sources, nobody else', () => {
    const table = new InboundTrunkTable(buildConfig(undefined, {}).trunks.inbound);
    for (const a of ['127.0.0.1', '::1', '10.0.0.5', '172.20.1.1', '192.168.100.2', '::ffff:192.168.1.2', 'fd12::1']) {
      const m = table.match(a);
      expect(m?.trunk.name, a).toBe('default-private');
      expect(m?.needsAuth).toBe(false);
    }
    for (const a of ['8.8.8.8', '2001:db8::1', '::ffff:1.1.1.1', 'garbage']) expect(table.match(a), a).toBeUndefined();
  });

  it('finds an address trunk, v4, v6 and mapped', () => {
    const table = new InboundTrunkTable([carrier, pbx]);
    expect(table.match('203.0.113.15')?.trunk).toBe(carrier);
    expect(table.match('203.0.113.16')).toBeUndefined();
    expect(table.match('::ffff:203.0.113.1')?.trunk).toBe(carrier);
    expect(table.match('2001:db8:10:ffff::1')?.trunk).toBe(carrier);
    expect(table.match('2001:db8:11::1')).toBeUndefined();
    expect(table.match('203.0.113.1')).toEqual({ trunk: carrier, needsAuth: false, authOnly: false });
  });

  it('a trunk with addresses AND auth needs auth; its credentials are not usable from elsewhere', () => {
    const table = new InboundTrunkTable([carrier, pbx, roaming]);
    expect(table.match('198.51.100.20')).toEqual({ trunk: pbx, needsAuth: true, authOnly: false });
    expect(table.byUsername('pbx')).toBeUndefined();
  });

  it('an unknown source falls to the auth-only trunks, resolved by username', () => {
    const table = new InboundTrunkTable([carrier, roaming, roaming2]);
    const m = table.match('192.0.2.99');
    expect(m).toEqual({ trunk: roaming, needsAuth: true, authOnly: true });
    expect(table.byUsername('alice')).toBe(roaming);
    expect(table.byUsername('bob')).toBe(roaming2);
    expect(table.byUsername('mallory')).toBeUndefined();
    // an address match still wins over auth-only trunks
    expect(table.match('203.0.113.2')?.trunk).toBe(carrier);
  });

  it('prefers the most specific prefix, then configuration order', () => {
    const wide: InboundTrunkConfig = { name: 'wide', addresses: ['10.0.0.0/8'], allowRefer: false, referUriScheme: 'sip' };
    const narrow: InboundTrunkConfig = { name: 'narrow', addresses: ['10.1.2.3'], allowRefer: false, referUriScheme: 'sip' };
    const twin: InboundTrunkConfig = { name: 'twin', addresses: ['10.0.0.0/8'], allowRefer: false, referUriScheme: 'sip' };
    const table = new InboundTrunkTable([wide, narrow, twin]);
    expect(table.match('10.1.2.3')?.trunk).toBe(narrow);
    expect(table.match('10.9.9.9')?.trunk).toBe(wide);
  });

  it('refuses two auth-only trunks with one username', () => {
    expect(() => new InboundTrunkTable([roaming, { ...roaming2, auth: { username: 'alice', password: 'x' } }])).toThrow(ConfigError);
  });

  it('with no trunks nothing matches', () => {
    expect(new InboundTrunkTable([]).match('127.0.0.1')).toBeUndefined();
  });
});
