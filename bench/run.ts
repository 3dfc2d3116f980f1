/**
 * `npm run bench`: runs every bench module, prints a table per section and writes
 * bench/results/latest.json. Usage: node --expose-gc dist/bench/run.js [section-filter]
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import type { BenchSection } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filter === undefined || f.includes(filter))
  .sort();

const sections: BenchSection[] = [];
// Product timers and worker threads are unref'd (they must never keep a server alive); a bench
// that waits on them would let the event loop drain mid-await (exit 13). Hold it open ourselves.
const keepAlive = setInterval(() => undefined, 1000);
for (const file of modules) {
  const mod = (await import(join(here, file))) as { run: () => Promise<BenchSection> };
  const section = await mod.run();
  sections.push(section);
  console.log(`\n## ${section.section}`);
  console.table(section.rows.map((r) => ({ ...r, extra: r.extra === undefined ? '' : JSON.stringify(r.extra) })));
  for (const n of section.notes ?? []) console.log(`  - ${n}`);
}

clearInterval(keepAlive);

const out = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
  sections,
};
// Written next to the sources (bench/results), not into dist.
const resultsDir = join(here, '..', '..', 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, filter === undefined ? 'latest.json' : `latest-${filter}.json`), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote ${join('bench', 'results', filter === undefined ? 'latest.json' : `latest-${filter}.json`)}`);
