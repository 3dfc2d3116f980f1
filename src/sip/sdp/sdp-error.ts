/**
 * An SDP that cannot be answered. `status` is the SIP response to send (488 Not Acceptable Here
 * for no common media, RFC 3261 §21.4.26; 400 for an unparseable body) and `warning` the value of
 * the Warning header (RFC 3261 §20.43: warn-code SP warn-agent SP warn-text).
 */
export class SdpError extends Error {
  readonly status: 488 | 400;
  readonly warning: string;

  constructor(status: 488 | 400, warnCode: 300 | 301 | 302 | 303 | 304 | 305 | 306 | 307 | 399, warnText: string, detail?: string) {
    super(detail === undefined ? warnText : `${warnText}: ${detail}`);
    this.name = 'SdpError';
    this.status = status;
    // warn-text is a quoted-string: escape quote and backslash (RFC 3261 §25.1 quoted-pair).
    this.warning = `${warnCode} trunkline "${warnText.replace(/["\\]/g, '\\$&')}"`;
  }
}
