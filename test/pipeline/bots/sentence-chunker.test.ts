import { describe, expect, it } from 'vitest';
import { SentenceChunker } from '../../../src/pipeline/index.js';

function feed(chunker: SentenceChunker, deltas: string[]): string[] {
  const out: string[] = [];
  for (const d of deltas) out.push(...chunker.push(d));
  const rest = chunker.flush();
  if (rest !== '') out.push(rest);
  return out;
}

describe('SentenceChunker', () => {
  it('cuts at sentence ends as tokens stream in, and the first piece early at a clause break', () => {
    const deltas = 'Sure thing, let me check that, it takes a second. Your order shipped on Monday! Anything else?'.match(/.{1,3}/gs)!;
    expect(feed(new SentenceChunker(), deltas)).toEqual(['Sure thing, let me check that,', 'it takes a second.', 'Your order shipped on Monday!', 'Anything else?']);
  });

  it('a piece is emitted as soon as its end is known (the space after the period)', () => {
    const c = new SentenceChunker();
    expect(c.push('Hello there.')).toEqual([]);
    expect(c.push(' How')).toEqual(['Hello there.']);
  });

  it('does not cut at decimals or common abbreviations', () => {
    expect(feed(new SentenceChunker(), ['It costs 3.50 dollars. Dr. Smith will call. Bye.'])).toEqual(['It costs 3.50 dollars.', 'Dr. Smith will call.', 'Bye.']);
  });

  it('cuts a run-on at a space after maxChars', () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const pieces = feed(new SentenceChunker({ maxChars: 60 }), [words]);
    expect(pieces.length).toBeGreaterThan(3);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(60);
    expect(pieces.join(' ')).toBe(words);
  });
});
