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
