/**
 * One error catalogue. Every error the server reports has a stable code, the SIP status and HTTP
 * status it maps to, and whether retrying may help. `test/shared/errors.test.ts` checks that each
 * code is documented in docs/errors.md.
 *
 * Add entries here (keep them sorted by area); never reuse or rename a code.
 */
export interface ErrorSpec {
  readonly message: string;
  readonly sipStatus?: number;
  readonly httpStatus?: number;
  readonly retryable: boolean;
}

export const ERRORS = {
  // configuration
  CONFIG_INVALID: { message: 'invalid configuration: %s', retryable: false },
  // capacity
  CAPACITY_MAX_CALLS: { message: 'maximum concurrent calls reached', sipStatus: 503, httpStatus: 503, retryable: true },
  CAPACITY_NO_PORTS: { message: 'RTP port pool exhausted', sipStatus: 503, httpStatus: 503, retryable: true },
  CAPACITY_DRAINING: { message: 'server is draining', sipStatus: 503, httpStatus: 503, retryable: true },
  CAPACITY_NO_BOT: { message: 'no bot ready in time', sipStatus: 503, httpStatus: 503, retryable: true },
  // SIP
  SIP_PARSE: { message: 'malformed SIP message: %s', sipStatus: 400, retryable: false },
  SIP_TOO_LARGE: { message: 'SIP message too large', sipStatus: 413, retryable: false },
  SIP_FORBIDDEN_SOURCE: { message: 'source not allowed', sipStatus: 403, retryable: false },
  SIP_AUTH_FAILED: { message: 'authentication failed', sipStatus: 403, retryable: false },
  SIP_NOT_ACCEPTABLE: { message: 'no acceptable media (G.711 PCMU/PCMA required)', sipStatus: 488, retryable: false },
  SIP_TRANSACTION_TIMEOUT: { message: 'SIP transaction timed out', sipStatus: 408, retryable: true },
  SIP_TRANSPORT: { message: 'SIP transport error: %s', sipStatus: 503, retryable: true },
  // media
  RTP_MALFORMED: { message: 'malformed RTP packet: %s', retryable: false },
  // HTTP API
  API_UNAUTHORIZED: { message: 'missing or wrong bearer token', httpStatus: 401, retryable: false },
  API_VALIDATION: { message: 'invalid request: %s', httpStatus: 400, retryable: false },
  API_NOT_FOUND: { message: 'no such route: %s', httpStatus: 404, retryable: false },
  API_INTERNAL: { message: 'internal error', httpStatus: 500, retryable: true },
  CALL_NOT_FOUND: { message: 'no such call: %s', httpStatus: 404, retryable: false },
  CALL_ENDED: { message: 'call has ended: %s', httpStatus: 409, retryable: false },
  CALL_NOT_ANSWERED: { message: 'call is not answered yet: %s', httpStatus: 409, retryable: true },
  TRUNK_UNKNOWN: { message: 'no outbound trunk named %s', httpStatus: 400, retryable: false },
  NUMBER_INVALID: { message: 'not an E.164 number or SIP URI: %s', httpStatus: 400, retryable: false },
  BOT_UNKNOWN: { message: 'no bot named %s in this build', httpStatus: 400, retryable: false },
  WEBHOOK_NO_SECRET: { message: 'webhooks need TRUNKLINE_WEBHOOK_SECRET to sign them', httpStatus: 400, retryable: false },
  TRANSFER_IN_PROGRESS: { message: 'a transfer is already in progress on call %s', httpStatus: 409, retryable: true },
  TRANSFER_MODE_UNSUPPORTED: { message: 'transfer mode %s is not available in this build', httpStatus: 501, retryable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class TrunklineError extends Error {
  readonly code: ErrorCode;
  readonly sipStatus: number | undefined;
  readonly httpStatus: number | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec: ErrorSpec = ERRORS[code];
    super(spec.message.replace('%s', detail ?? ''), options);
    this.name = 'TrunklineError';
    this.code = code;
    this.sipStatus = spec.sipStatus;
    this.httpStatus = spec.httpStatus;
    this.retryable = spec.retryable;
  }
}
