import { describe, expect, it } from 'vitest';
import { MediaStreamPlayout } from '../../../src/pipeline/index.js';

function ramp(from: number, n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => (from + i) % 30000);
}

describe('MediaStreamPlayout', () => {
  it('keeps order across ring wrap-around and growth, marks released exactly after their audio', () => {
    const marks: string[] = [];
    const q = new MediaStreamPlayout({ onMarkReached: (n) => marks.push(n) }, 8000 * 60, 400);
    const out = new Int16Array(160);
    const heard: number[] = [];
    q.append(ramp(0, 300));
    q.mark('a');
    expect(q.pull(out)).toBe(true);
    heard.push(...out);
    q.append(ramp(300, 1000)); // wraps, then grows the 400-sample ring
    q.mark('b');
    expect(marks).toEqual([]);
    q.pull(out);
    heard.push(...out); // 320 samples out: 'a' (at 300) is now played
    expect(marks).toEqual(['a']);
    while (q.pull(out)) heard.push(...out);
    expect(marks).toEqual(['a', 'b']);
    expect(heard.slice(0, 1300)).toEqual(Array.from(ramp(0, 1300)));
    expect(heard.slice(1300).every((s) => s === 0)).toBe(true);
  });

  it('clear drops everything at once and releases pending marks; a limit bounds the queue', () => {
    const marks: string[] = [];
    const q = new MediaStreamPlayout({ onMarkReached: (n) => marks.push(n) }, 1000, 256);
    q.append(new Int16Array(800).fill(1));
    q.mark('x');
    q.append(new Int16Array(800).fill(1));
    expect(q.queuedSamples).toBe(1000);
    expect(q.overflowSamples).toBe(600);
    expect(q.clear()).toBe(7);
    expect(marks).toEqual(['x']);
    expect(q.pull(new Int16Array(160))).toBe(false);
  });
});
