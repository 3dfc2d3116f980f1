/**
 * Runs in every test file (vitest setupFiles): after the file's tests, the process-wide flite
 * thread (FliteTts.shared(), used by the demo and agent bots) is asked to end by itself. Left
 * running, it would be torn down at the test process's exit the way worker.terminate() does,
 * which on a thread holding WebAssembly can crash the process (nodejs/node#47748): vitest then
 * reports "Worker exited unexpectedly".
 */
import { afterAll } from 'vitest';
import { FliteTts } from '../../src/pipeline/index.js';

afterAll(async () => {
  await FliteTts.shared().close();
});
