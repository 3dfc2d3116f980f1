/**
 * Validates the `count` argument shared by the buffer-to-buffer G.711 functions: the default is the
 * whole source, and neither buffer may be overrun (a typed-array write past the end is silently
 * dropped, which would hide a short destination buffer).
 */
export function checkCount(srcLength: number, dstLength: number, count: number | undefined): number {
  const n = count ?? srcLength;
  if (!Number.isInteger(n) || n < 0 || n > srcLength || n > dstLength) {
    throw new RangeError(`G.711: count ${n} exceeds source (${srcLength}) or destination (${dstLength}) length`);
  }
  return n;
}
