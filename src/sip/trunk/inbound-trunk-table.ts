import { ConfigError } from '../../shared/index.js';
import type { InboundTrunkConfig } from '../../shared/index.js';
import { CidrSet } from './cidr-set.js';

export interface TrunkMatch {
  trunk: InboundTrunkConfig;
  /** Challenge before accepting (RFC 3261 §22.1): the trunk has digest credentials. */
  needsAuth: boolean;
  /**
   * True when no address matched and this is only the first address-less trunk with auth: after
   * the challenge, the trunk is the one `byUsername(Authorization username)` returns.
   */
  authOnly: boolean;
}

/**
 * Decides which inbound trunk a request belongs to, from its source address (the transport's
 * packet source, never a header: Via and Contact are the sender's claim) and, for trunks that
 * have no address list, from the digest username.
 *
 * Among trunks whose address lists contain the source the most specific prefix wins (a carrier's
 * /32 beats the default private /8), then the configuration order.
 */
export class InboundTrunkTable {
  private readonly addressed: { trunk: InboundTrunkConfig; set: CidrSet; match: TrunkMatch }[];
  private readonly authOnly: readonly InboundTrunkConfig[];
  private readonly authOnlyMatch: TrunkMatch | undefined;
  private readonly byUser = new Map<string, InboundTrunkConfig>();

  constructor(trunks: readonly InboundTrunkConfig[]) {
    this.addressed = [];
    const authOnly: InboundTrunkConfig[] = [];
    trunks.forEach((trunk, i) => {
      if (trunk.addresses.length > 0) {
        let set: CidrSet;
        try {
          set = new CidrSet(trunk.addresses);
        } catch (err) {
          throw new ConfigError(`trunks.inbound[${i}].addresses`, 'IP addresses or CIDRs', (err as Error).message);
        }
        // Match objects are built once: match() runs per request and returns them as they are.
        this.addressed.push({ trunk, set, match: Object.freeze({ trunk, needsAuth: trunk.auth !== undefined, authOnly: false }) });
      } else if (trunk.auth !== undefined) {
        const existing = this.byUser.get(trunk.auth.username);
        if (existing !== undefined) {
          throw new ConfigError(
            `trunks.inbound[${i}].auth.username`,
            `a username not used by another address-less trunk (${existing.name})`,
            trunk.auth.username,
          );
        }
        this.byUser.set(trunk.auth.username, trunk);
        authOnly.push(trunk);
      }
    });
    this.authOnly = authOnly;
    const first = authOnly[0];
    this.authOnlyMatch = first === undefined ? undefined : Object.freeze({ trunk: first, needsAuth: true, authOnly: true });
  }

  /**
   * Trunks whose address list contains the source, then address-less trunks with auth (digest
   * only). Undefined → unknown source (403 or silence, per sip.unknownSource; never reaches a bot).
   */
  match(sourceAddress: string): TrunkMatch | undefined {
    let best: TrunkMatch | undefined;
    let bestBits = -1;
    for (const entry of this.addressed) {
      const bits = entry.set.longestMatch(sourceAddress);
      if (bits > bestBits) {
        bestBits = bits;
        best = entry.match;
      }
    }
    return best ?? this.authOnlyMatch;
  }

  /**
   * For auth-only trunks: which trunk's credentials match the Authorization username. Trunks with
   * an address list are never found here: their credentials are only good from their addresses.
   */
  byUsername(username: string): InboundTrunkConfig | undefined {
    return this.byUser.get(username);
  }

  /** The address-less trunks with auth, in configuration order. */
  get authOnlyTrunks(): readonly InboundTrunkConfig[] {
    return this.authOnly;
  }
}
