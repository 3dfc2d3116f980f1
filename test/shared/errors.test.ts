import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, TrunklineError, type ErrorCode } from '../../src/shared/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));

describe('error catalogue', () => {
  it.each(Object.keys(ERRORS))('%s is documented in docs/errors.md', (code) => {
    expect(documented.has(code)).toBe(true);
  });

  it('documents no code that does not exist', () => {
    expect([...documented].filter((c) => c !== undefined && !(c in ERRORS))).toEqual([]);
  });

  it('carries status and retryability from the catalogue', () => {
    const err = new TrunklineError('SIP_PARSE', 'bad Via');
    expect(err.message).toBe('malformed SIP message: bad Via');
    expect(err.sipStatus).toBe(400);
    expect(err.retryable).toBe(false);
    const code: ErrorCode = 'CAPACITY_NO_PORTS';
    expect(new TrunklineError(code).sipStatus).toBe(503);
  });
});
