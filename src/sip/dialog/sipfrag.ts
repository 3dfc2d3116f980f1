/**
 * The status line of a `message/sipfrag` body (RFC 3420) as carried in REFER NOTIFYs
 * (RFC 3515 §2.4.5: "the body of the NOTIFY MUST begin with a SIP Response Status-Line").
 */
export function parseSipfragStatus(body: string): { status: number; reason: string } | undefined {
  const m = /^\s*SIP\/2\.0\s+(\d{3})\s*([^\r\n]*)/.exec(body);
  if (m?.[1] === undefined) return undefined;
  return { status: Number(m[1]), reason: (m[2] ?? '').trim() };
}

/** Subscription-State (RFC 6665 §8.2.3 / RFC 3265): the state token, lower-cased. */
export function subscriptionState(value: string | undefined): string | undefined {
  return value?.split(';')[0]?.trim().toLowerCase();
}
