/**
 * Media workers stop by themselves on shutdown: the pool asks ('shutdown'), each worker closes
 * its sessions, its pacer, its ports and its own flite thread, closes the channel and ends —
 * no worker.terminate(), which on a thread holding WebAssembly (the demo bot's VAD and flite)
 * can crash or hang the whole process in Node's teardown (nodejs/node#47748, #33377).
 */
import { describe, expect, it } from 'vitest';
import { startTestServer, waitFor } from '../helpers/server.js';

describe('media worker shutdown', () => {
  it('workers that warmed the demo bot (VAD and flite WebAssembly loaded) end by themselves, within the grace period', async () => {
    const t = await startTestServer({ bot: 'demo', workers: 2, captureLogs: 'info' });
    let stopped = false;
    try {
      const warmed = (): number => new Set(t.logs.filter((l) => l['msg'] === 'demo bot ready' && typeof l['worker'] === 'number').map((l) => l['worker'])).size;
      expect(await waitFor(() => warmed() === 2, 20_000), 'both workers warmed the demo bot').toBe(true);
      const started = Date.now();
      await t.stop();
      stopped = true;
      const ms = Date.now() - started;
      expect(t.logs.filter((l) => String(l['msg']).includes('did not stop by itself')), 'no worker needed terminate()').toHaveLength(0);
      // Exit code 0: the thread ran out of work (terminate() would give 1).
      const exits = t.logs.filter((l) => l['msg'] === 'media worker stopped').map((l) => [l['worker'], l['code']]);
      expect(exits.sort()).toEqual([[0, 0], [1, 0]]);
      expect(ms, `stopped in ${ms} ms`).toBeLessThan(4000);
      expect(process.getActiveResourcesInfo().filter((r) => r === 'MessagePort')).toHaveLength(0);
    } finally {
      if (!stopped) await t.stop();
    }
  }, 40_000);

  it('a stop while the workers are still warming the demo bot does not wait for the warm-up', async () => {
    const t = await startTestServer({ bot: 'demo', workers: 2, captureLogs: 'info' });
    const started = Date.now();
    await t.stop();
    const ms = Date.now() - started;
    expect(t.logs.filter((l) => String(l['msg']).includes('did not stop by itself')), 'no worker needed terminate()').toHaveLength(0);
    const exits = t.logs.filter((l) => l['msg'] === 'media worker stopped').map((l) => [l['worker'], l['code']]);
    expect(exits.sort()).toEqual([[0, 0], [1, 0]]);
    expect(ms, `stopped in ${ms} ms`).toBeLessThan(4000);
  }, 40_000);
});
