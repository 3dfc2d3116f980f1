import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The project's root (the folder with package.json), from the scripts' sources or their build in dist/. */
export const PROJECT_ROOT = (() => {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

/** `--name value` from the command line, else the environment's `PREFIX_NAME`, else `fallback`. */
export function flag(envPrefix: string, name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : process.argv[i + 1];
  return v ?? process.env[`${envPrefix}_${name.toUpperCase()}`] ?? fallback;
}
