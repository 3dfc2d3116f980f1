import { describe, expect, it } from 'vitest';
import { CallRouter } from './router.js';

const input = (trunk: string, to: string, headers: Record<string, string> = {}) => ({
  trunk,
  to,
  header: (name: string) => headers[name.toLowerCase()],
});

describe('CallRouter', () => {
  const router = new CallRouter(
    [
      { match: { trunk: 'sales-trunk' }, bot: 'agent' },
      { match: { to: '^\\+1555' }, bot: 'echo' },
      { match: { header: { name: 'x-bot', pattern: '^wss://' } }, bot: 'wss://bots.example/twilio' },
    ],
    'demo',
  );

  it('first matching route wins', () => {
    expect(router.route(input('sales-trunk', '+15551234'))).toBe('agent');
    expect(router.route(input('carrier', '+15551234'))).toBe('echo');
  });

  it('matches on a header', () => {
    expect(router.route(input('carrier', '+4930123', { 'x-bot': 'wss://x' }))).toBe('wss://bots.example/twilio');
  });

  it('falls back to the default bot', () => {
    expect(router.route(input('carrier', '+4930123'))).toBe('demo');
    expect(new CallRouter([], 'echo').route(input('t', '1'))).toBe('echo');
  });
});
