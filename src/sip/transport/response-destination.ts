import type { Via } from '../message/index.js';
import type { SipEndpoint } from './types.js';

/** §18.2.2 / §19.1.2: the port a sent-by without one implies. */
function defaultPort(via: Via): number {
  return via.transport === 'TLS' ? 5061 : 5060;
}

/**
 * Where a response to a request received from `source` with top Via `via` goes
 * (RFC 3261 §18.2.2, with RFC 3581 §4 for `rport`). `via` is the top Via as stamped on receipt
 * (`received`, filled `rport`).
 *
 * Reliable transport: "If the "sent-protocol" is a reliable transport protocol such as TCP ...
 * the response MUST be sent using the existing connection to the source of the original request
 * that created the transaction, if that connection is still open." The connection id is carried;
 * if it has closed, the transport falls back to "the IP address in the received parameter, if
 * present, using the port in the sent-by value, or the default port for that transport".
 *
 * Unreliable transport: maddr first ("the response MUST be forwarded to the address listed
 * there, using the port indicated in "sent-by", or port 5060 if none is present"); then RFC 3581
 * §4 "the response MUST be sent to the IP address listed in the "received" parameter, and the
 * port in the "rport" parameter"; then received + sent-by port; then sent-by itself (§18.2.2:
 * "the response MUST be sent to the address indicated by the "sent-by" value", resolved per
 * RFC 3263 §5 — the transport resolves a host name with the system resolver).
 */
export function responseDestination(via: Via, source: SipEndpoint): SipEndpoint {
  const received = via.params.get('received');
  const sentByPort = via.port ?? defaultPort(via);
  if (source.protocol !== 'udp') {
    const host = received !== undefined && received !== null && received !== '' ? received : via.host;
    const dest: SipEndpoint = { protocol: source.protocol, host, port: sentByPort };
    if (source.connectionId !== undefined) dest.connectionId = source.connectionId;
    return dest;
  }
  const maddr = via.params.get('maddr');
  if (maddr !== undefined && maddr !== null && maddr !== '') return { protocol: 'udp', host: maddr, port: sentByPort };
  if (received !== undefined && received !== null && received !== '') {
    const rport = parseRport(via.params.get('rport'));
    return { protocol: 'udp', host: received, port: rport ?? sentByPort };
  }
  return { protocol: 'udp', host: via.host, port: sentByPort };
}

function parseRport(v: string | null | undefined): number | undefined {
  if (v === undefined || v === null || !/^\d{1,5}$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 && n < 65536 ? n : undefined;
}
