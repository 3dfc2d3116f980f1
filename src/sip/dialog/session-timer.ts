import type { Clock, TimerHandle } from '../../shared/index.js';
import type { SipHeaders } from '../message/index.js';

/**
 * RFC 4028 session timers. Negotiation is pure (functions of the headers); the running timer is
 * a small object on the injected clock.
 *
 * `refresher` names a transaction role of the refresh request/response that carried it (§4:
 * "uac" is the element that sent the request), so it flips meaning with each direction; the
 * dialog keeps the result as `weRefresh`.
 */
export type Refresher = 'uac' | 'uas';

export interface SessionExpires {
  /** Seconds. */
  interval: number;
  refresher?: Refresher;
}

export interface SessionTimerSettings {
  /** The interval we ask for (seconds). */
  sessionExpires: number;
  /** Our Min-SE: the smallest interval we accept (seconds). */
  minSE: number;
}

/** §4: Session-Expires = delta-seconds *(SEMI se-params); se-params = refresher-param / generic-param. */
export function parseSessionExpires(value: string | undefined): SessionExpires | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s*((?:;.*)?)$/.exec(value);
  if (m === null || m[1] === undefined) return undefined;
  const out: SessionExpires = { interval: Number(m[1]) };
  const r = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(m[2] ?? '');
  if (r?.[1] !== undefined) out.refresher = r[1].toLowerCase() as Refresher;
  return out;
}

export function formatSessionExpires(se: SessionExpires): string {
  return se.refresher === undefined ? String(se.interval) : `${se.interval};refresher=${se.refresher}`;
}

function parseMinSE(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d{1,10})/.exec(value);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** True when an option-tag list header (Supported / Require) names `tag`. */
export function hasOptionTag(headers: SipHeaders, header: string, tag: string): boolean {
  return headers.getAll(header).some((v) => v.trim().toLowerCase() === tag);
}

export type UasNegotiation =
  | { kind: 'none' }
  | { kind: 'reject'; minSE: number }
  | { kind: 'timer'; interval: number; weRefresh: boolean; responseHeaders: [string, string][] };

/**
 * §9 (UAS behaviour) for an INVITE or UPDATE we received, and our answer to put in the 2xx.
 *  - Session-Expires below our minimum: "the UAS MUST reject ... with a 422" carrying our Min-SE
 *    when the UAC supports timers (§9 / §5); without support we raise it to our minimum instead.
 *  - "The UAS MAY reduce its value but MUST NOT set it to a duration lower than the value in the
 *    Min-SE header field in the request".
 *  - No refresher in the request: "uac" when the UAC supports timers, else "uas" (§9).
 *  - "If the refresher parameter in the Session-Expires header field in the 2xx response has a
 *    value of 'uac', the UAS MUST place a Require header field with the value 'timer' in the 2xx".
 *  - Supported: timer without Session-Expires: we may ask for a timer in the 2xx; we do.
 */
export function negotiateAsUas(request: SipHeaders, settings: SessionTimerSettings): UasNegotiation {
  const uacSupports = hasOptionTag(request, 'supported', 'timer') || hasOptionTag(request, 'require', 'timer');
  const se = parseSessionExpires(request.get('session-expires'));
  const requestMinSE = parseMinSE(request.get('min-se')) ?? 0;
  if (se === undefined) {
    if (!uacSupports) return { kind: 'none' };
    const interval = Math.max(settings.sessionExpires, requestMinSE, settings.minSE);
    return timer(interval, 'uac');
  }
  let interval = se.interval;
  if (interval < settings.minSE) {
    if (uacSupports) return { kind: 'reject', minSE: settings.minSE };
    interval = settings.minSE;
  }
  // Reduce a long interval to ours, never under the request's Min-SE nor our own minimum.
  if (interval > settings.sessionExpires) interval = Math.max(settings.sessionExpires, requestMinSE, settings.minSE);
  const refresher: Refresher = se.refresher ?? (uacSupports ? 'uac' : 'uas');
  return timer(interval, uacSupports ? refresher : 'uas');

  function timer(interval: number, refresher: Refresher): UasNegotiation {
    const responseHeaders: [string, string][] = [['Session-Expires', formatSessionExpires({ interval, refresher })]];
    if (refresher === 'uac') responseHeaders.push(['Require', 'timer']);
    return { kind: 'timer', interval, weRefresh: refresher === 'uas', responseHeaders };
  }
}

/** §7.1/§7.4: headers a UAC puts in an INVITE or UPDATE; `weRefresh` set when we already run the timer. */
export function uacRequestHeaders(settings: SessionTimerSettings, current?: { interval: number; weRefresh: boolean }): [string, string][] {
  const se: SessionExpires =
    current === undefined ? { interval: settings.sessionExpires } : { interval: current.interval, refresher: current.weRefresh ? 'uac' : 'uas' };
  return [
    ['Session-Expires', formatSessionExpires(se)],
    ['Min-SE', String(settings.minSE)],
  ];
}

/**
 * §7.2: the UAC reads the 2xx. "If the 2xx response did not contain a Session-Expires header
 * field, there is no session expiration." A refresher of "uac" means we (the sender of the
 * request) refresh.
 */
export function negotiateAsUac(response: SipHeaders): { interval: number; weRefresh: boolean } | undefined {
  const se = parseSessionExpires(response.get('session-expires'));
  if (se === undefined) return undefined;
  return { interval: se.interval, weRefresh: se.refresher !== 'uas' };
}

/** §7.4: after 422 the UAC retries with Session-Expires at least the Min-SE of the 422. */
export function minSEFrom422(response: SipHeaders): number | undefined {
  return parseMinSE(response.get('min-se'));
}

/**
 * The running timer of one dialog (§10). As refresher we refresh at half the interval ("a
 * refresh ... SHOULD be sent ... at half the session expiration"). Either way the session ends
 * when no refresh arrives: "If the side not performing refreshes does not receive a session
 * refresh request before the session expiration, it SHOULD send a BYE ... The BYE SHOULD be sent
 * ... at ... the session expiration minus the minimum of 32 seconds and one third of the session
 * expiration." The refresher ends the session at the full interval if its refreshes all fail.
 */
export class SessionTimer {
  private refreshTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  interval = 0;
  weRefresh = false;

  constructor(
    private readonly clock: Clock,
    private readonly onRefreshDue: () => void,
    private readonly onExpired: () => void,
  ) {}

  get running(): boolean {
    return this.expiryTimer !== undefined;
  }

  /** (Re)starts from now: called on each successful refresh in either direction. */
  start(intervalSec: number, weRefresh: boolean): void {
    this.stop();
    this.interval = intervalSec;
    this.weRefresh = weRefresh;
    const ms = intervalSec * 1000;
    if (weRefresh) {
      this.refreshTimer = this.clock.setTimeout(() => {
        this.refreshTimer = undefined;
        this.onRefreshDue();
      }, ms / 2);
      this.expiryTimer = this.clock.setTimeout(() => this.expire(), ms);
    } else {
      this.expiryTimer = this.clock.setTimeout(() => this.expire(), ms - Math.min(32_000, ms / 3));
    }
  }

  stop(): void {
    this.refreshTimer?.cancel();
    this.expiryTimer?.cancel();
    this.refreshTimer = undefined;
    this.expiryTimer = undefined;
  }

  private expire(): void {
    this.expiryTimer = undefined;
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    this.onExpired();
  }
}
