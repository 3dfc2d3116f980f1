import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/** True for the wildcard addresses a listener binds to but nobody can send to. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '' || host === '[::]';
}

/**
 * The local address the OS would most likely use toward `toward` (synchronous: Via and Contact
 * are built before sending). Loopback destinations get loopback; otherwise an interface on the
 * destination's subnet; otherwise the first non-internal address of the family. It is a best
 * effort: deployments behind NAT set `externalAddress`.
 */
export function localAddressToward(toward: string | undefined, preferV6: boolean): string {
  const v6 = toward !== undefined ? isIPv6(toward) : preferV6;
  if (toward !== undefined && (toward.startsWith('127.') || toward === 'localhost')) return '127.0.0.1';
  if (toward === '::1') return '::1';
  const family = v6 ? 'IPv6' : 'IPv4';
  const candidates: { address: string; netmask: string }[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === family && !a.internal && !(v6 && a.address.startsWith('fe80:'))) candidates.push(a);
    }
  }
  if (toward !== undefined && isIPv4(toward)) {
    const dst = ipv4ToInt(toward);
    for (const c of candidates) {
      const mask = ipv4ToInt(c.netmask);
      if ((ipv4ToInt(c.address) & mask) === (dst & mask)) return c.address;
    }
  }
  return candidates[0]?.address ?? (v6 ? '::1' : '127.0.0.1');
}

function ipv4ToInt(ip: string): number {
  let n = 0;
  for (const part of ip.split('.')) n = ((n << 8) | (Number(part) & 0xff)) >>> 0;
  return n;
}
