import { describe, expect, it } from 'vitest';
import { DigestParseError, digestResponse, parseChallenge, parseCredentials } from './digest-challenge.js';

describe('parseChallenge', () => {
  it('reads the RFC 7616 §3.9.1 challenge', () => {
    const c = parseChallenge(
      'Digest\r\n realm="http-auth@example.org",\r\n qop="auth, auth-int",\r\n algorithm=SHA-256,\r\n nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",\r\n opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    expect(c).toEqual({
      realm: 'http-auth@example.org',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
      algorithm: 'SHA-256',
      qop: ['auth', 'auth-int'],
      stale: false,
    });
  });

  it('reads the RFC 3261 §20.44 example: MD5 by default, stale=FALSE, empty opaque', () => {
    const c = parseChallenge('Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5');
    expect(c).toEqual({ realm: 'atlanta.com', nonce: 'f84f1cec41e6cbe5aea9c8e88d359', opaque: '', algorithm: 'MD5', qop: ['auth'], stale: false });
  });

  it('handles case, stale=true, unquoted values, escapes and an RFC 2069 challenge', () => {
    const c = parseChallenge('digest REALM="a\\"b,c", NONCE=n1, Algorithm=md5-SESS, stale=true');
    expect(c).toEqual({ realm: 'a"b,c', nonce: 'n1', algorithm: 'MD5-sess', stale: true });
    expect(parseChallenge('Digest realm="asterisk",nonce="1a2b"').qop).toBeUndefined();
  });

  it('refuses what it cannot answer', () => {
    expect(() => parseChallenge('Basic realm="x"')).toThrow(DigestParseError);
    expect(() => parseChallenge('Digest nonce="x"')).toThrow(/realm/);
    expect(() => parseChallenge('Digest realm="x"')).toThrow(/nonce/);
    expect(() => parseChallenge('Digest realm="x", nonce="n", algorithm=SHA-512-256')).toThrow(/unsupported/);
    expect(() => parseChallenge('Digest realm="x, nonce="n"')).toThrow(DigestParseError);
    expect(() => parseChallenge('Digest realm="x" nonce="n"')).toThrow(DigestParseError);
  });
});

describe('parseCredentials', () => {
  it("reads SIPp's compact answer", () => {
    const p = parseCredentials('Digest username="sipp",realm="trunkline",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:bot@127.0.0.1:5060",nonce="abc",response="0123",algorithm=MD5');
    expect(p).toEqual({ username: 'sipp', realm: 'trunkline', cnonce: '6b8b4567', nc: '00000001', qop: 'auth', uri: 'sip:bot@127.0.0.1:5060', nonce: 'abc', response: '0123', algorithm: 'MD5' });
  });
});

describe('digestResponse (RFC vectors)', () => {
  it('RFC 2617 §3.5: Mufasa, MD5, qop=auth', () => {
    expect(
      digestResponse({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  const rfc7616 = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    password: 'Circle of Life',
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };

  it('RFC 7616 §3.9.1: MD5', () => {
    expect(digestResponse({ ...rfc7616, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('RFC 7616 §3.9.1: SHA-256', () => {
    expect(digestResponse({ ...rfc7616, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('RFC 2069 form (no qop): KD(H(A1), nonce:H(A2))', () => {
    // Worked out by hand from RFC 2617 §3.2.2.1: H(H(A1):nonce:H(A2)) with MD5.
    const got = digestResponse({ algorithm: 'MD5', username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' });
    expect(got).toBe('670fd8c2df070c60b045671b8b24ff02');
  });

  it("matches SIPp's own SHA-256 test vector (sipp auth.cpp BasicVerificationSHA256)", () => {
    // SIPp builds uri "sip:" + its argument, so the uri here is "sip:sip:example.com".
    expect(digestResponse({ algorithm: 'SHA-256', username: 'testuser', realm: 'testrealm@host.com', password: 'secret', method: 'REGISTER', uri: 'sip:sip:example.com', nonce: 'ZaGxV2WhsCtREI2EsiD1LR0RYd' })).toBe(
      '91b58523b983191b52d14455a2599631990110c974ed2e4b4b49bc6053af04ce',
    );
    expect(digestResponse({ algorithm: 'MD5', username: 'testuser', realm: 'testrealm@host.com', password: 'secret', method: 'REGISTER', uri: 'sip:sip:example.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' })).toBe(
      'db94e01e92f2b09a52a234eeca8b90f7',
    );
  });
});
