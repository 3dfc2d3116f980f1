import { describe, expect, it } from 'vitest';
import { parseCredentials } from './digest-challenge.js';
import { DigestClient } from './digest-client.js';

const RFC7616_CHALLENGE_SHA = 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const RFC7616_CHALLENGE_MD5 = 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const GET = { method: 'GET', uri: '/dir/index.html' };

function mufasa(): DigestClient {
  return new DigestClient({ username: 'Mufasa', password: 'Circle of Life' }, { cnonce: () => 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' });
}

describe('DigestClient', () => {
  it('answers the RFC 7616 §3.9.1 SHA-256 challenge with the RFC response', () => {
    const value = mufasa().authorize(RFC7616_CHALLENGE_SHA, GET);
    expect(value).toBeDefined();
    const p = parseCredentials(value!);
    expect(p).toEqual({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      uri: '/dir/index.html',
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      algorithm: 'SHA-256',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      qop: 'auth',
      nc: '00000001',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
    // qop and nc are unquoted tokens (RFC 3261 §25.1 message-qop, nonce-count)
    expect(value).toMatch(/qop=auth, nc=00000001/);
  });

  it('answers the RFC 7616 §3.9.1 MD5 challenge with the RFC response', () => {
    expect(parseCredentials(mufasa().authorize(RFC7616_CHALLENGE_MD5, GET)!).response).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('answers the RFC 2617 §3.5 challenge (Mufasa, MD5, qop=auth)', () => {
    const client = new DigestClient({ username: 'Mufasa', password: 'Circle Of Life' }, { cnonce: () => '0a4f113b' });
    const value = client.authorize('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"', GET);
    expect(parseCredentials(value!).response).toBe('6629fae49393a05397450978507c4ef1');
    expect(parseCredentials(value!).opaque).toBe('5ccc069c403ebaf9f0171e9517f40e41');
  });

  it('picks the first usable of several WWW-Authenticate values (RFC 8760 §2.4)', () => {
    const both = mufasa().authorize([RFC7616_CHALLENGE_SHA, RFC7616_CHALLENGE_MD5], GET);
    expect(parseCredentials(both!).algorithm).toBe('SHA-256');
    const unknownFirst = mufasa().authorize([RFC7616_CHALLENGE_SHA.replace('SHA-256', 'SHA-512-256'), RFC7616_CHALLENGE_MD5], GET);
    expect(parseCredentials(unknownFirst!).response).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('answers an RFC 2069 challenge (no qop) without cnonce and nc', () => {
    const client = new DigestClient({ username: 'Mufasa', password: 'Circle Of Life' });
    const p = parseCredentials(client.authorize('Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"', GET)!);
    expect(p.response).toBe('670fd8c2df070c60b045671b8b24ff02');
    expect(p.cnonce).toBeUndefined();
    expect(p.nc).toBeUndefined();
    expect(p.qop).toBeUndefined();
  });

  it('uses the auth user and the Request-URI; From is not its business', () => {
    const client = new DigestClient({ username: 'trunk-7731', password: 'pw' }, { cnonce: () => 'c' });
    const uri = 'sip:+14155550100@sip.carrier.example;user=phone';
    const p = parseCredentials(client.authorize('Digest realm="carrier", nonce="n1", qop="auth"', { method: 'INVITE', uri })!);
    expect(p.username).toBe('trunk-7731');
    expect(p.uri).toBe(uri);
  });

  it('counts requests per nonce', () => {
    const client = mufasa();
    client.authorize(RFC7616_CHALLENGE_SHA, GET);
    client.accepted();
    expect(parseCredentials(client.authorize(RFC7616_CHALLENGE_SHA, GET)!).nc).toBe('00000002');
    client.accepted();
    expect(parseCredentials(client.authorize(RFC7616_CHALLENGE_SHA.replace('7ypf', 'OTHER'), GET)!).nc).toBe('00000001');
    expect(client.nonceCount('7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v')).toBe(2);
  });

  it('does not retry after its credentials were rejected', () => {
    const client = mufasa();
    expect(client.authorize(RFC7616_CHALLENGE_SHA, GET)).toBeDefined();
    // the same nonce again, not stale: wrong password
    expect(client.authorize(RFC7616_CHALLENGE_SHA, GET)).toBeUndefined();
    // a new nonce but not stale (Asterisk issues a fresh nonce per 401): still a rejection
    expect(client.authorize(RFC7616_CHALLENGE_SHA.replace('7ypf', 'XXXX'), GET)).toBeUndefined();
  });

  it('stale=true earns exactly one retry with the new nonce', () => {
    const client = mufasa();
    expect(client.authorize(RFC7616_CHALLENGE_SHA, GET)).toBeDefined();
    const retry = client.authorize(`${RFC7616_CHALLENGE_SHA.replace('7ypf', 'NEW1')}, stale=TRUE`, GET);
    expect(parseCredentials(retry!).nonce).toBe('NEW1/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v');
    expect(client.authorize(`${RFC7616_CHALLENGE_SHA.replace('7ypf', 'NEW2')}, stale=TRUE`, GET)).toBeUndefined();
  });

  it('stale=true with the nonce it already used is not retried', () => {
    const client = mufasa();
    client.authorize(RFC7616_CHALLENGE_SHA, GET);
    expect(client.authorize(`${RFC7616_CHALLENGE_SHA}, stale=TRUE`, GET)).toBeUndefined();
  });

  it('after accepted(), the next request is answered afresh', () => {
    const client = mufasa();
    client.authorize(RFC7616_CHALLENGE_SHA, GET);
    client.accepted('http-auth@example.org');
    expect(client.authorize(RFC7616_CHALLENGE_SHA.replace('7ypf', 'NEXT'), { method: 'BYE', uri: '/x' })).toBeDefined();
  });

  it('realm mismatch, unknown schemes and algorithms: no answer', () => {
    const client = new DigestClient({ username: 'u', password: 'p', realm: 'carrier.example' });
    expect(client.authorize('Digest realm="other.example", nonce="n", qop="auth"', GET)).toBeUndefined();
    expect(client.authorize('Basic realm="carrier.example"', GET)).toBeUndefined();
    expect(client.authorize('Digest realm="carrier.example", nonce="n", algorithm=SHA-512-256', GET)).toBeUndefined();
    expect(client.authorize('Digest realm="carrier.example", nonce="n", qop="auth-conf"', GET)).toBeUndefined();
    expect(client.authorize('Digest realm="carrier.example", nonce="n", algorithm=MD5-sess', GET)).toBeUndefined(); // -sess needs a qop
    expect(client.authorize('Digest realm="carrier.example", nonce="n", qop="auth"', GET)).toBeDefined();
  });

  it('uses auth-int with the body when that is all the server offers', () => {
    const body = Buffer.from('v=0\r\n');
    const a = new DigestClient({ username: 'u', password: 'p' }, { cnonce: () => 'c' }).authorize('Digest realm="r", nonce="n", qop="auth-int"', { method: 'INVITE', uri: 'sip:a@b', body });
    const b = new DigestClient({ username: 'u', password: 'p' }, { cnonce: () => 'c' }).authorize('Digest realm="r", nonce="n", qop="auth-int"', { method: 'INVITE', uri: 'sip:a@b', body: Buffer.from('v=1\r\n') });
    expect(parseCredentials(a!).qop).toBe('auth-int');
    expect(parseCredentials(a!).response).not.toBe(parseCredentials(b!).response);
  });
});
