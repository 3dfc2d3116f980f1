/**
 * Header name canonicalisation. RFC 3261 §7.3.3 compact forms and §20 long forms; names are
 * case-insensitive (§7.3.1). The table is consulted once per header on parse.
 */

/** RFC 3261 §7.3.3 and the IANA registry: compact form → long form. */
const COMPACT: Readonly<Record<string, string>> = {
  a: 'Accept-Contact', // RFC 3841
  b: 'Referred-By', // RFC 3892
  c: 'Content-Type',
  d: 'Request-Disposition', // RFC 3841
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact', // RFC 3841
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info', // RFC 4474
  o: 'Event', // RFC 6665
  r: 'Refer-To', // RFC 3515
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events', // RFC 6665
  v: 'Via',
  x: 'Session-Expires', // RFC 4028
  y: 'Identity', // RFC 8224
};

/** Long names whose canonical spelling is not plain Title-Case of their words. */
const SPECIAL: readonly string[] = [
  'Call-ID', 'CSeq', 'WWW-Authenticate', 'MIME-Version', 'RSeq', 'RAck', 'P-Asserted-Identity',
  'P-Preferred-Identity', 'SIP-ETag', 'SIP-If-Match', 'Min-SE', 'P-Charging-Vector',
  'P-Charging-Function-Addresses', 'Security-Client', 'Security-Server', 'Security-Verify',
];

/** Lower-case name (long or compact) → canonical long name. Filled lazily for unknown names. */
const canonical = new Map<string, string>();
for (const [c, long] of Object.entries(COMPACT)) {
  canonical.set(c, long);
  canonical.set(long.toLowerCase(), long);
}
for (const s of SPECIAL) canonical.set(s.toLowerCase(), s);
for (const s of [
  'Accept', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Authentication-Info',
  'Authorization', 'Call-Info', 'Content-Disposition', 'Content-Language', 'Date', 'Error-Info',
  'Expires', 'In-Reply-To', 'Max-Forwards', 'Min-Expires', 'Organization', 'Priority',
  'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'Record-Route', 'Reply-To',
  'Require', 'Retry-After', 'Route', 'Server', 'Timestamp', 'Unsupported', 'User-Agent',
  'Warning', 'Diversion', 'History-Info', 'Path', 'Privacy', 'Reason', 'Replaces',
  'Service-Route', 'Subscription-State',
]) {
  canonical.set(s.toLowerCase(), s);
}

// Bounded so that a peer sending endless distinct header names cannot grow the cache.
const CACHE_LIMIT = 1024;

function titleCase(lower: string): string {
  let out = '';
  let up = true;
  for (let i = 0; i < lower.length; i++) {
    const ch = lower[i] as string;
    out += up ? ch.toUpperCase() : ch;
    up = ch === '-';
  }
  return out;
}

/**
 * The canonical long form of a (possibly compact, any-case) header name:
 * `headerName('v') === 'Via'`, `headerName('call-id') === 'Call-ID'`. Unknown names are
 * Title-Cased word by word (`x-foo-bar` → `X-Foo-Bar`).
 */
export function headerName(name: string): string {
  const lower = name.toLowerCase();
  const hit = canonical.get(lower);
  if (hit !== undefined) return hit;
  const made = titleCase(lower);
  if (canonical.size < CACHE_LIMIT) canonical.set(lower, made);
  return made;
}

/** Lower-cased long form, the key headers are matched by. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const long = COMPACT[lower];
    return long === undefined ? lower : long.toLowerCase();
  }
  return lower;
}

/** The long form when `name` is a compact form, else `name` unchanged (RFC 3261 §7.3.3). */
export function expandCompact(name: string): string {
  if (name.length !== 1) return name;
  return COMPACT[name.toLowerCase()] ?? name;
}

/**
 * Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1: "it MUST be possible to
 * combine the multiple header field rows into one 'field-name: field-value' pair"). Keys are
 * lower-cased long names. Authorization-style headers and Date etc. are deliberately absent.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'via', 'route', 'record-route', 'contact', 'allow', 'supported', 'require', 'proxy-require',
  'unsupported', 'accept', 'accept-encoding', 'accept-language', 'allow-events', 'content-encoding',
  'content-language', 'alert-info', 'call-info', 'error-info', 'in-reply-to', 'warning', 'path',
  'service-route', 'p-asserted-identity', 'p-preferred-identity', 'diversion', 'history-info',
  'reason', 'accept-contact', 'reject-contact', 'security-client', 'security-server',
  'security-verify',
]);
