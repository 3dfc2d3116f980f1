/**
 * RFC 4733 §2.3 telephone-event payload and the DTMF event codes of §3.2.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * @see https://www.rfc-editor.org/rfc/rfc4733#section-2.3
 */
export const DTMF_PAYLOAD_LENGTH = 4;

/** §3.2 Table 7: events 0–9 digits, 10 '*', 11 '#', 12–15 A–D, 16 flash. */
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D', 'flash'] as const;

export type DtmfDigit = (typeof DIGITS)[number];

export function dtmfEventToDigit(event: number): DtmfDigit | undefined {
  return DIGITS[event];
}

export function dtmfDigitToEvent(digit: string): number {
  const d = digit.length === 1 ? digit.toUpperCase() : digit;
  const i = (DIGITS as readonly string[]).indexOf(d);
  if (i < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)} (expected 0-9 * # A-D or 'flash')`);
  return i;
}
