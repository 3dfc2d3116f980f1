import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/index.js';
import { digestResponse, parseChallenge, parseCredentials } from './digest-challenge.js';
import { DigestClient } from './digest-client.js';
import { DigestServer } from './digest-server.js';

const CREDS = { username: 'carrier', password: 's3cret!' };
const INVITE = { method: 'INVITE', uri: 'sip:+15551234567@trunkline.example' };

function setup(options: { algorithms?: ('MD5' | 'SHA-256' | 'MD5-sess' | 'SHA-256-sess')[]; nonceTtlMs?: number } = {}): { clock: FakeClock; server: DigestServer } {
  const clock = new FakeClock(1_000);
  return { clock, server: new DigestServer({ realm: 'trunkline', clock, ...options }) };
}

/** What SIPp's createAuthHeader writes (sipp/src/auth.cpp): no spaces, cnonce as %x of rand(). */
function sippAnswer(challenge: string, method: string, uri: string, nc = 1): string {
  const c = parseChallenge(challenge);
  const cnonce = '6b8b4567';
  const ncText = nc.toString(16).padStart(8, '0');
  const response = digestResponse({ algorithm: c.algorithm, username: CREDS.username, realm: c.realm, password: CREDS.password, method, uri, nonce: c.nonce, qop: 'auth', nc: ncText, cnonce });
  return `Digest username="${CREDS.username}",realm="${c.realm}",cnonce="${cnonce}",nc=${ncText},qop=auth,uri="${uri}",nonce="${c.nonce}",response="${response}",algorithm=${c.algorithm}`;
}

describe('DigestServer', () => {
  it('challenges with SHA-256 first, then MD5 (RFC 8760 §2.4), one nonce, qop=auth', () => {
    const { server } = setup();
    const values = server.challenge();
    expect(values).toHaveLength(2);
    const [sha, md5] = values.map(parseChallenge);
    expect(sha?.algorithm).toBe('SHA-256');
    expect(md5?.algorithm).toBe('MD5');
    expect(sha?.nonce).toBe(md5?.nonce);
    expect(sha?.qop).toEqual(['auth']);
    expect(sha?.realm).toBe('trunkline');
    expect(sha?.stale).toBe(false);
    expect(parseChallenge(server.challenge(true)[0]!).stale).toBe(true);
    expect(server.challenge()[0]).not.toBe(values[0]); // fresh nonce each time
  });

  it('accepts our own client, SHA-256 and MD5', () => {
    const { server } = setup();
    const challenges = server.challenge();
    const sha = new DigestClient(CREDS).authorize(challenges, INVITE)!;
    expect(parseCredentials(sha).algorithm).toBe('SHA-256');
    expect(server.verify(sha, INVITE, CREDS)).toBe('ok');
    const md5 = new DigestClient(CREDS).authorize(server.challenge()[1]!, INVITE)!;
    expect(parseCredentials(md5).algorithm).toBe('MD5');
    expect(server.verify(md5, INVITE, CREDS)).toBe('ok');
  });

  it("accepts SIPp's answer format", () => {
    const { server } = setup({ algorithms: ['MD5'] });
    const [challenge] = server.challenge();
    expect(server.verify(sippAnswer(challenge!, 'INVITE', INVITE.uri), INVITE, CREDS)).toBe('ok');
  });

  it('refuses a wrong password, user, realm, method or uri', () => {
    const { server } = setup();
    const challenges = server.challenge();
    const good = new DigestClient(CREDS).authorize(challenges, INVITE)!;
    expect(server.verify(new DigestClient({ ...CREDS, password: 'wrong' }).authorize(challenges, INVITE)!, INVITE, CREDS)).toBe('invalid');
    expect(server.verify(good, INVITE, { ...CREDS, username: 'other' })).toBe('invalid');
    expect(server.verify(good, { method: 'BYE' }, CREDS)).toBe('invalid');
    expect(server.verify(good, { ...INVITE, uri: 'sip:other@trunkline.example' }, CREDS)).toBe('invalid');
    const otherRealm = new DigestServer({ realm: 'elsewhere', clock: new FakeClock(1000) });
    expect(otherRealm.verify(good, INVITE, CREDS)).toBe('invalid');
  });

  it('refuses forged or foreign nonces', () => {
    const { server, clock } = setup();
    const forged = 'Digest realm="trunkline", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", qop="auth", algorithm=MD5';
    expect(server.verify(new DigestClient(CREDS).authorize(forged, INVITE)!, INVITE, CREDS)).toBe('invalid');
    const other = new DigestServer({ realm: 'trunkline', clock, secret: Buffer.alloc(32, 7) });
    expect(server.verify(new DigestClient(CREDS).authorize(other.challenge(), INVITE)!, INVITE, CREDS)).toBe('invalid');
    expect(server.verify('Digest username="carrier"', INVITE, CREDS)).toBe('invalid');
    expect(server.verify('Basic Y2FycmllcjpzM2NyZXQh', INVITE, CREDS)).toBe('invalid');
  });

  it('refuses answers without qop (it offered qop=auth) and algorithms it did not offer', () => {
    const { server } = setup({ algorithms: ['SHA-256'] });
    const c = parseChallenge(server.challenge()[0]!);
    const noQop = `Digest username="carrier", realm="trunkline", nonce="${c.nonce}", uri="${INVITE.uri}", response="${digestResponse({ algorithm: 'SHA-256', username: 'carrier', realm: 'trunkline', password: CREDS.password, method: 'INVITE', uri: INVITE.uri, nonce: c.nonce })}", algorithm=SHA-256`;
    expect(server.verify(noQop, INVITE, CREDS)).toBe('invalid');
    const md5 = new DigestClient(CREDS).authorize(server.challenge()[0]!.replace('SHA-256', 'MD5'), INVITE)!;
    expect(server.verify(md5, INVITE, CREDS)).toBe('invalid');
  });

  it('expires nonces: right digest on an old nonce is stale, wrong digest stays invalid', () => {
    const { server, clock } = setup({ nonceTtlMs: 300_000 });
    const challenges = server.challenge();
    const good = new DigestClient(CREDS).authorize(challenges, INVITE)!;
    const bad = new DigestClient({ ...CREDS, password: 'x' }).authorize(challenges, INVITE)!;
    clock.advance(300_000);
    expect(server.verify(good, INVITE, CREDS)).toBe('ok');
    clock.advance(1);
    const good2 = new DigestClient(CREDS).authorize(challenges, INVITE)!;
    expect(server.verify(good2, INVITE, CREDS)).toBe('stale');
    expect(server.verify(bad, INVITE, CREDS)).toBe('invalid');
  });

  it('refuses a replayed nonce count and accepts the next one', () => {
    const { server } = setup();
    const challenges = server.challenge();
    const client = new DigestClient(CREDS);
    const first = client.authorize(challenges, INVITE)!;
    expect(server.verify(first, INVITE, CREDS)).toBe('ok');
    expect(server.verify(first, INVITE, CREDS)).toBe('invalid');
    client.accepted();
    const second = client.authorize(challenges, INVITE)!;
    expect(parseCredentials(second).nc).toBe('00000002');
    expect(server.verify(second, INVITE, CREDS)).toBe('ok');
    expect(server.trackedNonces).toBe(1);
  });

  it('full loop: stale challenge, one client retry, ok', () => {
    const { server, clock } = setup({ nonceTtlMs: 1000 });
    const client = new DigestClient(CREDS);
    const first = client.authorize(server.challenge(), INVITE)!;
    clock.advance(5000);
    expect(server.verify(first, INVITE, CREDS)).toBe('stale');
    const retry = client.authorize(server.challenge(true), INVITE);
    expect(retry).toBeDefined();
    expect(server.verify(retry!, INVITE, CREDS)).toBe('ok');
  });
});
