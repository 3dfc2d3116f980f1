/**
 * Cuts a streamed LLM reply into pieces the TTS can speak while the rest is being generated: a
 * piece ends at a sentence end (. ! ? followed by a space) or, for the first piece of a reply, at a
 * clause break (, ; : —) once it has `firstClauseChars` characters, so the caller hears the bot
 * start after one clause rather than one sentence. A run-on piece is cut at a space after
 * `maxChars`. Decimal points and abbreviations like "Dr." are not sentence ends.
 */
export interface SentenceChunkerOptions {
  readonly firstClauseChars: number;
  readonly minChars: number;
  readonly maxChars: number;
}

export const DEFAULT_SENTENCE_CHUNKER = { firstClauseChars: 16, minChars: 4, maxChars: 220 } as const satisfies SentenceChunkerOptions;

const ABBREVIATIONS = /(?:^|\s)(?:mr|mrs|ms|dr|st|vs|etc|e\.g|i\.e|no)\.$/i;

export class SentenceChunker {
  private buffer = '';
  private emitted = 0;
  readonly options: SentenceChunkerOptions;

  constructor(options: Partial<SentenceChunkerOptions> = {}) {
    this.options = { ...DEFAULT_SENTENCE_CHUNKER, ...options };
  }

  /** Adds a delta; returns the pieces now complete (often none). */
  push(delta: string): string[] {
    this.buffer += delta;
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut < 0) break;
      const piece = this.buffer.slice(0, cut).trim();
      this.buffer = this.buffer.slice(cut).trimStart();
      if (piece !== '') {
        out.push(piece);
        this.emitted++;
      }
    }
    return out;
  }

  /** The rest at the end of the reply ('' if nothing is left). */
  flush(): string {
    const rest = this.buffer.trim();
    this.buffer = '';
    if (rest !== '') this.emitted++;
    return rest;
  }

  private findCut(): number {
    const b = this.buffer;
    const o = this.options;
    for (let i = 0; i < b.length - 1; i++) {
      const c = b[i]!;
      const next = b[i + 1]!;
      if (!/\s/.test(next)) continue;
      if (i + 1 < o.minChars) continue;
      if (c === '.' || c === '!' || c === '?') {
        if (c === '.' && ABBREVIATIONS.test(b.slice(0, i + 1))) continue;
        return i + 1;
      }
      if (this.emitted === 0 && (c === ',' || c === ';' || c === ':' || c === '—') && i + 1 >= o.firstClauseChars) return i + 1;
    }
    if (b.length > o.maxChars) {
      const space = b.lastIndexOf(' ', o.maxChars);
      return space > 0 ? space : o.maxChars;
    }
    return -1;
  }
}
