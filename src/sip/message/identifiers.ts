import { randomFillSync } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Random identifiers. RFC 3261 §8.1.1.7: the branch "MUST always begin with the characters
 * z9hG4bK" and be unique across space and time; §19.3: tags and Call-IDs need ≥ 32 bits of
 * cryptographic randomness. Random bytes come from node:crypto in 4 KiB batches so that one
 * identifier costs a slice of a pool, not a syscall.
 */
const POOL = Buffer.alloc(4096);
let poolPos = POOL.length;

function randomHex(bytes: number): string {
  if (poolPos + bytes > POOL.length) {
    randomFillSync(POOL);
    poolPos = 0;
  }
  const s = POOL.toString('hex', poolPos, poolPos + bytes);
  poolPos += bytes;
  return s;
}

/** 'z9hG4bK' + 96 random bits. */
export function generateBranch(): string {
  return `z9hG4bK${randomHex(12)}`;
}

/** 64 random bits. */
export function generateTag(): string {
  return randomHex(8);
}

/** 128 random bits '@' host (RFC 3261 §8.1.1.4 recommends a host part). */
export function generateCallId(host?: string): string {
  return `${randomHex(16)}@${host ?? defaultHost}`;
}

const defaultHost = (() => {
  const h = hostname();
  return /^[A-Za-z0-9.-]+$/.test(h) ? h : 'trunkline.invalid';
})();
