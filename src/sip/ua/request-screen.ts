import type { SipRequest } from '../message/index.js';
import type { RequestVerdict } from '../transaction/index.js';
import type { SipEndpoint } from '../transport/index.js';

/**
 * User-Agent strings of the SIP scanners seen on every public 5060 (SIPVicious `svmap`/`svwar`
 * send "friendly-scanner" or their own name, sipcli, VaxSIP, sundayddr, iWar, SIPScan, smap,
 * PortSIP-based sweepers). Matched case-insensitively anywhere in User-Agent.
 */
export const SCANNER_USER_AGENTS: readonly string[] = [
  'friendly-scanner',
  'sipvicious',
  'sipcli',
  'vaxsipuseragent',
  'sundayddr',
  'iwar',
  'sipscan',
  'sip-scan',
  'smap',
  'pplsip',
  'sipsak',
];

const SCANNER_RE = new RegExp(SCANNER_USER_AGENTS.map((s) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|'), 'i');

/**
 * RFC 3261 §8.1.1.6: Max-Forwards "SHOULD" start at 70, so a request carrying more Via values
 * than that has passed more hops than any conforming path allows: it looped or its path is forged.
 * It gets 483 (§21.4.21) before any transaction or dialog state is created for it.
 */
export const MAX_VIA_VALUES = 70;

export function isScannerUserAgent(userAgent: string | undefined): boolean {
  return userAgent !== undefined && SCANNER_RE.test(userAgent);
}

export interface ScreenPolicy {
  /** The trunk table's verdict on a source address. */
  isKnownSource(host: string): boolean;
  unknownSource: 'reject' | 'ignore';
  /** Requests turned away, by why (for /metrics); counted when given. */
  counts?: ScreenCounts;
}

/** Requests the screen turned away since start. */
export interface ScreenCounts {
  /** A scanner User-Agent (dropped). */
  scanner: number;
  /** A source that is no trunk (403 or dropped). */
  unknownSource: number;
  /** More than MAX_VIA_VALUES Via values (483). */
  tooManyVias: number;
}

/**
 * The screen the UA installs in the transaction layer (TransactionLayer.setScreen): it runs
 * before a server transaction exists, so a scanner, a sweep from an unknown source or a
 * forged 100-Via request costs no transaction, no timer and no dialog lookup.
 *
 * - a scanner User-Agent: silence, whatever the source (an answer confirms a SIP service lives here);
 * - an unknown source: silence with unknownSource 'ignore', else a bare stateless 403 (no Allow,
 *   Server or User-Agent: nothing about us leaks to a source that is not a trunk);
 * - more than MAX_VIA_VALUES Via values: 483.
 */
export function screenRequest(req: SipRequest, source: SipEndpoint, policy: ScreenPolicy): RequestVerdict {
  const counts = policy.counts;
  if (isScannerUserAgent(req.headers.get('user-agent'))) {
    if (counts !== undefined) counts.scanner++;
    return 'drop';
  }
  if (!policy.isKnownSource(source.host)) {
    if (counts !== undefined) counts.unknownSource++;
    if (policy.unknownSource === 'ignore' || req.method === 'ACK') return 'drop';
    return { status: 403 };
  }
  if (req.method !== 'ACK' && req.headers.getAll('via').length > MAX_VIA_VALUES) {
    if (counts !== undefined) counts.tooManyVias++;
    return { status: 483, reason: 'Too Many Hops' };
  }
  return 'accept';
}
