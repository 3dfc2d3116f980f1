import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['test/setup/close-shared-engines.ts'],
    // The end-to-end tests run real SIPp/baresip peers and real-time RTP on a shared 2-core
    // machine; a test that fails once is run once more, and one that fails twice fails the run.
    // A retried test is reported in the output, so a flake stays visible.
    retry: 1,
  },
});
