/**
 * RFC 3261 §14.1 re-INVITE glare: "If a UAC receives a 491 response to a re-INVITE, it SHOULD
 * start a timer with a value T chosen as follows:
 *  1. If the UAC is the owner of the Call-ID of the dialog ID (meaning it generated the value),
 *     T has a randomly chosen value between 2.1 and 4 seconds in units of 10 ms.
 *  2. If the UAC is not the owner of the Call-ID of the dialog ID, T has a randomly chosen value
 *     of between 0 and 2 seconds in units of 10 ms."
 * The same rule serves UPDATE glare (RFC 3311 §5.2).
 *
 * @param ownsCallId we generated the Call-ID (we were the caller)
 * @param random a source of numbers in [0, 1) (injected so tests pin the delay)
 * @returns the delay in milliseconds, a multiple of 10
 */
export function glareRetryDelayMs(ownsCallId: boolean, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 0.999_999_999);
  // 2100..4000 ms is 191 steps of 10 ms; 0..2000 ms is 201 steps.
  return ownsCallId ? 2100 + Math.floor(r * 191) * 10 : Math.floor(r * 201) * 10;
}
