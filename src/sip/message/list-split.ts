/**
 * Splits a header value at the commas that separate list elements (RFC 3261 §7.3.1), ignoring
 * commas inside quoted strings (with `\` quoted-pairs, §25.1) and inside `<...>` (a URI in a
 * name-addr may carry commas in its user part or headers). Empty elements are dropped.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++; // quoted-pair
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
    else if (c === 0x2c && !inAngle) {
      const part = value.slice(start, i).trim();
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
  }
  const last = start === 0 ? value.trim() : value.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/** True when the value has a comma that {@link splitList} would split at (cheap pre-check first). */
export function hasListComma(value: string): boolean {
  if (value.indexOf(',') === -1) return false;
  return splitList(value).length > 1;
}
