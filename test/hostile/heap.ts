import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

/** Heap in use after two full collections (bytes). */
export function settledHeap(): number {
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed;
}
