import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * No Docker engine runs here, so the image is checked by what it is made of: its build stage
 * runs scripts/build.sh — the script CI (.ci/run) runs — and its runtime stage starts the same
 * command as `npm start`. The script itself is run here in --dry-run mode (it prints the exact
 * commands it would run; a real run would reinstall node_modules under everyone's feet).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(resolve(ROOT, 'docker/Dockerfile'), 'utf8');
const compose = readFileSync(resolve(ROOT, 'docker/compose.yml'), 'utf8');
const ci = readFileSync(resolve(ROOT, '.ci/run'), 'utf8');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l.length > 0 && !l.startsWith('#'));

describe('docker/Dockerfile', () => {
  it('is multi-stage on node:20-slim; the build stage runs scripts/build.sh, the script CI runs', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).toHaveLength(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:20-slim AS \w+$/);
    expect(instructions).toContain('RUN bash scripts/build.sh --prod');
    expect(instructions.filter((l) => l.startsWith('RUN ') && /npm (ci|install|run build)|tsc/.test(l))).toEqual([]);
    expect(ci).toMatch(/^bash scripts\/build\.sh$/m);
  });

  it('runs as a non-root user with production dependencies only, and starts what npm start starts', () => {
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toBe('USER trunkline');
    expect(instructions.some((l) => l.startsWith('COPY --from=build') && l.includes('node_modules'))).toBe(true);
    const start = pkg.scripts['start'] ?? '';
    const cmd = instructions.find((l) => l.startsWith('CMD '));
    expect(cmd).toBeDefined();
    expect((JSON.parse(cmd?.slice(4) ?? '[]') as string[]).join(' ')).toBe(start);
  });

  it('exposes SIP on 5060 UDP and TCP, an RTP range, HTTP 8080, and health-checks /healthz', () => {
    const expose = instructions.filter((l) => l.startsWith('EXPOSE ')).join(' ');
    for (const p of ['5060/udp', '5060/tcp', '8080/tcp']) expect(expose).toContain(p);
    expect(expose).toMatch(/\d+-\d+\/udp/);
    expect(instructions.find((l) => l.startsWith('HEALTHCHECK '))).toMatch(/\/healthz/);
  });
});

describe('scripts/build.sh', () => {
  it('runs here (--dry-run): npm ci, the build, and with --prod a prune to production dependencies', () => {
    const out = execFileSync('bash', [resolve(ROOT, 'scripts/build.sh'), '--prod', '--dry-run'], { encoding: 'utf8' });
    const commands = out.split('\n').filter((l) => l.startsWith('+ '));
    expect(commands).toEqual(['+ npm ci --no-audit --no-fund', '+ npm run build', '+ npm prune --omit=dev --no-audit --no-fund']);
    expect(pkg.scripts['build']).toMatch(/tsc -p tsconfig\.build\.json/);
  });
});

describe('docker/compose.yml', () => {
  it('runs Trunkline and a SIPp service against it', () => {
    expect(compose).toMatch(/^ {2}trunkline:/m);
    expect(compose).toMatch(/^ {2}sipp:/m);
    expect(compose).toMatch(/dockerfile: docker\/Dockerfile/);
    expect(compose).toMatch(/trunkline:5060 -sn uac/);
  });
});
