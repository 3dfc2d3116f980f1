/**
 * A set of IPv4 and IPv6 prefixes (RFC 4632 CIDR notation for IPv4, RFC 4291 §2.3 for IPv6),
 * parsed once at construction and matched without allocation: `has()` runs once per inbound
 * datagram from an unknown peer, so the address text is scanned in place into a preallocated
 * scratch array and compared word by word.
 *
 * IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2, `::ffff:192.0.2.1`, what a dual-stack socket
 * reports for IPv4 peers) are matched as the IPv4 address they carry, against the IPv4 prefixes.
 * A prefix written in mapped form (`::ffff:10.0.0.0/104`) is stored as the IPv4 prefix it means.
 * So `0.0.0.0/0` means every IPv4 peer and `::/0` every native IPv6 peer.
 */

/** Scratch for one parsed IPv6 address: eight 16-bit groups. Module-level, reused by every call. */
const groups = new Uint16Array(8);
/** Scratch for the parsed address as four 32-bit words (IPv6) or one (IPv4, word 0). */
const words = new Uint32Array(4);

const V4 = 4;
const V6 = 6;

export class CidrSet {
  /** IPv4 entries: [network, mask] pairs. */
  private readonly v4: Uint32Array;
  /** IPv4 prefix lengths, one per entry. */
  private readonly v4Bits: Uint8Array;
  /** IPv6 entries: 4 network words then 4 mask words per entry. */
  private readonly v6: Uint32Array;
  private readonly v6Bits: Uint8Array;

  /**
   * @param cidrs addresses (`192.0.2.1`, `2001:db8::1`, a host prefix) or prefixes
   *   (`10.0.0.0/8`, `fc00::/7`); host bits below the prefix are ignored.
   * @throws TypeError naming the first entry that is not an address or CIDR.
   */
  constructor(cidrs: readonly string[]) {
    const v4: number[] = [];
    const v4Bits: number[] = [];
    const v6: number[] = [];
    const v6Bits: number[] = [];
    for (const cidr of cidrs) {
      const slash = cidr.indexOf('/');
      const addr = slash === -1 ? cidr : cidr.slice(0, slash);
      const family = parseAddress(addr, 0, addr.length);
      if (family === 0) throw new TypeError(`not an IP address or CIDR: ${JSON.stringify(cidr)}`);
      const max = family === V4 ? 32 : 128;
      let bits = max;
      if (slash !== -1) {
        const text = cidr.slice(slash + 1);
        if (!/^\d{1,3}$/.test(text) || Number(text) > max) throw new TypeError(`bad prefix length in ${JSON.stringify(cidr)} (0-${max})`);
        bits = Number(text);
      }
      if (family === V6 && isMapped() && bits >= 96) {
        // ::ffff:a.b.c.d/n is the IPv4 prefix a.b.c.d/(n-96).
        words[0] = words[3] ?? 0;
        pushV4(v4, v4Bits, bits - 96);
      } else if (family === V4) {
        pushV4(v4, v4Bits, bits);
      } else {
        for (let i = 0; i < 4; i++) {
          const mask = maskWord(bits - 32 * i);
          v6.push(((words[i] ?? 0) & mask) >>> 0);
        }
        for (let i = 0; i < 4; i++) v6.push(maskWord(bits - 32 * i));
        v6Bits.push(bits);
      }
    }
    this.v4 = Uint32Array.from(v4);
    this.v4Bits = Uint8Array.from(v4Bits);
    this.v6 = Uint32Array.from(v6);
    this.v6Bits = Uint8Array.from(v6Bits);
  }

  get size(): number {
    return this.v4Bits.length + this.v6Bits.length;
  }

  /** True when the address (IPv4, IPv6, IPv4-mapped IPv6; an IPv6 zone `%eth0` is ignored) is in the set. */
  has(address: string): boolean {
    return this.longestMatch(address) >= 0;
  }

  /**
   * The longest prefix length in the set that contains the address, or -1 when none does (or the
   * text is not an address). For a mapped address this is the IPv4 prefix length.
   */
  longestMatch(address: string): number {
    const family = parseAddress(address, 0, address.length);
    if (family === 0) return -1;
    let best = -1;
    if (family === V4 || isMapped()) {
      const a = family === V4 ? (words[0] ?? 0) : (words[3] ?? 0);
      const v4 = this.v4;
      for (let i = 0, e = 0; i < v4.length; i += 2, e++) {
        if (((a & (v4[i + 1] ?? 0)) >>> 0) === v4[i]) {
          const bits = this.v4Bits[e] ?? 0;
          if (bits > best) best = bits;
        }
      }
      return best;
    }
    const v6 = this.v6;
    const w0 = words[0] ?? 0;
    const w1 = words[1] ?? 0;
    const w2 = words[2] ?? 0;
    const w3 = words[3] ?? 0;
    for (let i = 0, e = 0; i < v6.length; i += 8, e++) {
      if (
        ((w0 & (v6[i + 4] ?? 0)) >>> 0) === v6[i] &&
        ((w1 & (v6[i + 5] ?? 0)) >>> 0) === v6[i + 1] &&
        ((w2 & (v6[i + 6] ?? 0)) >>> 0) === v6[i + 2] &&
        ((w3 & (v6[i + 7] ?? 0)) >>> 0) === v6[i + 3]
      ) {
        const bits = this.v6Bits[e] ?? 0;
        if (bits > best) best = bits;
      }
    }
    return best;
  }
}

function pushV4(v4: number[], v4Bits: number[], bits: number): void {
  const mask = maskWord(bits);
  v4.push(((words[0] ?? 0) & mask) >>> 0, mask);
  v4Bits.push(bits);
}

/** The mask for one 32-bit word when `bits` prefix bits remain (may be <= 0 or > 32). */
function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** The parsed IPv6 address in `words` is ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
function isMapped(): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

/**
 * Parses `text[start, end)` into `words`: an IPv4 dotted quad → words[0], family 4; an IPv6
 * address (RFC 4291 §2.2 forms 1-3, zone ignored) → words[0..3], family 6; otherwise 0.
 */
function parseAddress(text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a /* : */) return parseV6(text, start, end) ? V6 : 0;
  }
  const v = parseV4(text, start, end);
  if (v < 0) return 0;
  words[0] = v;
  return V4;
}

/** Dotted-quad IPv4 (four decimal octets, no leading-zero octal forms) → uint32, or -1. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return -1; // leading zero: ambiguous (octal in inet_aton)
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 0x2e /* . */) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function parseV6(text: string, start: number, limit: number): boolean {
  let end = limit;
  for (let i = start; i < limit; i++) {
    if (text.charCodeAt(i) === 0x25 /* % zone */) {
      end = i;
      break;
    }
  }
  let count = 0; // groups written
  let gap = -1; // index in groups where '::' stood
  let i = start;
  if (i < end && text.charCodeAt(i) === 0x3a) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== 0x3a) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    // one group: 1-4 hex digits, or a trailing dotted IPv4
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 0x2e /* . */) {
      if (count > 6) return false;
      const v4 = parseV4(text, groupStart, end);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4 || count >= 8) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false; // a second '::'
      gap = count;
      i++;
    } else if (i === end) {
      return false; // trailing single ':'
    }
  }
  if (gap >= 0) {
    if (count > 7) return false; // '::' stands for at least one group
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k] ?? 0;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  } else if (count !== 8) {
    return false;
  }
  for (let k = 0; k < 4; k++) words[k] = (((groups[2 * k] ?? 0) << 16) | (groups[2 * k + 1] ?? 0)) >>> 0;
  return true;
}
