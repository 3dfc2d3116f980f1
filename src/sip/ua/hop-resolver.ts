import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { SipUri } from '../message/index.js';
import type { SipEndpoint, TransportProtocol } from '../transport/index.js';

/** One SRV answer (RFC 2782). */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** The DNS queries RFC 3263 needs: the system resolver by default, a fake in tests. */
export interface HopDns {
  /** SRV records of a name (`_sip._udp.example.com`); rejects when there are none. */
  srv(name: string): Promise<readonly SrvRecord[]>;
  /** One A/AAAA address of a host name. */
  address(host: string): Promise<string>;
}

export const systemDns: HopDns = {
  srv: (name) => dns.resolveSrv(name),
  address: async (host) => (await dns.lookup(host)).address,
};

/**
 * RFC 2782's selection: the lowest priority wins; among its records one is drawn with
 * probability proportional to weight (records of weight 0 get a small chance, as the RFC's
 * running-sum algorithm gives them when every weight is 0). A target of "." means "no service".
 */
export function pickSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord | undefined {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.');
  if (usable.length === 0) return undefined;
  const best = Math.min(...usable.map((r) => r.priority));
  const tier = usable.filter((r) => r.priority === best);
  const total = tier.reduce((n, r) => n + r.weight, 0);
  if (total === 0) return tier[Math.floor(random() * tier.length)] ?? tier[0];
  let draw = random() * total;
  for (const r of tier) {
    draw -= r.weight;
    if (draw < 0) return r;
  }
  return tier[tier.length - 1];
}

/**
 * The transport endpoint for a URI, per RFC 3263 §4 without NAPTR: the transport from the
 * `transport` parameter (else the caller's); the target from `maddr` (else the host); an IP
 * literal is used as is (port default 5060); a name with a port is looked up (A/AAAA); a name
 * without a port is first an SRV query for `_sip._udp.` / `_sip._tcp.` + name (§4.2), and the
 * chosen record's target is looked up with the record's port — with no SRV records (or a failed
 * query) the name itself is looked up on 5060. Trunks named by host therefore follow a carrier's
 * published SRV records. Only the first choice is used: no failover to the next SRV target.
 */
export async function resolveHop(
  uri: SipUri,
  protocol: TransportProtocol,
  connectionId?: string,
  dnsApi: HopDns = systemDns,
  random: () => number = Math.random,
): Promise<SipEndpoint> {
  const t = uri.params.get('transport')?.toLowerCase();
  const proto: TransportProtocol = t === 'tcp' ? 'tcp' : t === 'udp' ? 'udp' : protocol;
  const target = uri.params.get('maddr') ?? uri.host;
  const endpoint = (host: string, port: number): SipEndpoint => ({ protocol: proto, host, port, ...(connectionId !== undefined && proto === 'tcp' ? { connectionId } : {}) });
  if (isIP(target) !== 0) return endpoint(target, uri.port ?? 5060);
  if (uri.port !== undefined) return endpoint(await dnsApi.address(target), uri.port);
  let records: readonly SrvRecord[] = [];
  try {
    records = await dnsApi.srv(`_sip._${proto}.${target}`);
  } catch {
    // ENOTFOUND / ENODATA (no SRV published) and resolver failures alike: §4.2 falls back to A/AAAA.
  }
  if (records.length > 0) {
    const chosen = pickSrv(records, random);
    if (chosen === undefined) throw new Error(`no SIP service at ${target}: its SRV records say "."`);
    return endpoint(await dnsApi.address(chosen.name), chosen.port);
  }
  return endpoint(await dnsApi.address(target), 5060);
}
