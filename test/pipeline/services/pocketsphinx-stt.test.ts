import { describe, expect, it } from 'vitest';
import { PocketsphinxStt, ServiceError, keywordGrammar } from '../../../src/pipeline/index.js';
import { espeak } from '../audio-helpers.js';

describe('PocketsphinxStt (Debian pocketsphinx_continuous, keyword grammar, 8 kHz turns)', () => {
  it('builds a JSGF grammar of the keywords', () => {
    expect(keywordGrammar(['Sales', 'support', 'sales', 'n0pe'])).toBe('#JSGF V1.0;\ngrammar trunkline;\npublic <utterance> = <word>+;\n<word> = ( sales | support );\n');
    expect(() => keywordGrammar(['1234'])).toThrow(RangeError);
  });

  it('recognises espeak-ng keywords from telephone-band audio', async () => {
    const stt = new PocketsphinxStt({ keywords: ['sales', 'support', 'billing', 'goodbye'] });
    try {
      const session = await stt.open();
      expect(await session.finishTurn(espeak('sales'))).toBe('sales');
      expect(await session.finishTurn(espeak('support'))).toBe('support');
      expect(await session.finishTurn(new Int16Array(0))).toBe('');
    } finally {
      stt.close();
    }
  });

  it('a missing binary is a final (not retryable) failure', async () => {
    const stt = new PocketsphinxStt({ keywords: ['sales'], command: 'pocketsphinx_does_not_exist' });
    const err = await stt.transcribe(new Int16Array(800)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).retryable).toBe(false);
    stt.close();
  });
});
