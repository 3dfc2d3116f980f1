/**
 * DTMF carried in INFO (RFC 6086 legacy usage): `application/dtmf-relay` bodies of the form
 * `Signal=5\r\nDuration=160\r\n` (the Cisco/SIP-INFO convention every trunk vendor speaks) and
 * `application/dtmf` bodies holding the bare digit.
 */
export interface DtmfDigit {
  /** 0-9, *, #, A-D (upper case), or 'flash' for hook flash (Signal=16 / !). */
  digit: string;
  /** Milliseconds, when the body gave one. */
  durationMs?: number;
}

const DIGITS = '0123456789*#ABCD';

function normalise(signal: string): string | undefined {
  const s = signal.trim();
  if (s.length === 1) {
    const up = s.toUpperCase();
    if (DIGITS.includes(up)) return up;
    if (s === '!') return 'flash';
    return undefined;
  }
  // RFC 4733 §3.2 event codes as numbers: 10 = *, 11 = #, 12-15 = A-D, 16 = flash.
  if (/^\d{1,2}$/.test(s)) {
    const n = Number(s);
    if (n <= 15) return DIGITS[n];
    if (n === 16) return 'flash';
  }
  return undefined;
}

/** Parses a dtmf-relay or dtmf body; undefined when it names no digit. */
export function parseDtmfInfo(contentType: string, body: string): DtmfDigit | undefined {
  const type = contentType.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/dtmf') {
    const digit = normalise(body);
    return digit === undefined ? undefined : { digit };
  }
  if (type !== 'application/dtmf-relay') return undefined;
  let digit: string | undefined;
  let durationMs: number | undefined;
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (key === 'signal') digit = normalise(value);
    else if (key === 'duration' && /^\d{1,6}$/.test(value)) durationMs = Number(value);
  }
  if (digit === undefined) return undefined;
  return durationMs === undefined ? { digit } : { digit, durationMs };
}
