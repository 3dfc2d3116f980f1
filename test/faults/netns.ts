/**
 * A network namespace joined to this one by a veth pair, with nftables loss on the host side's
 * input hook (the receiver: dropping on a sender's output hook makes sendto fail with EPERM; see
 * /work/shared/TESTING.md). Everything is named with a random suffix and removed by `destroy()`.
 * Needs root (CI runs as root) plus `ip` and `nft`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return existsSync('/proc/net/snmp');
  } catch {
    return false;
  }
}

export class Netns {
  readonly name: string;
  readonly hostIf: string;
  readonly nsIf: string;
  readonly hostAddress: string;
  readonly nsAddress: string;
  private readonly table: string;
  private readonly children: ChildProcess[] = [];

  constructor() {
    const id = randomBytes(3).toString('hex');
    this.name = `tl${id}`;
    this.hostIf = `tlh${id}`;
    this.nsIf = `tln${id}`;
    this.table = `trunkline_${id}`;
    // 198.18.0.0/15 (RFC 2544 benchmarking): never routed, unlikely to be in use here.
    const b = randomBytes(2);
    const third = b[0] ?? 0;
    const fourth = ((b[1] ?? 0) & 0xfc) % 252;
    this.hostAddress = `198.18.${third}.${fourth + 1}`;
    this.nsAddress = `198.18.${third}.${fourth + 2}`;
  }

  create(): void {
    const run = (...args: string[]): void => {
      execFileSync('ip', args, { stdio: 'pipe' });
    };
    run('netns', 'add', this.name);
    run('link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.nsIf, 'netns', this.name);
    run('addr', 'add', `${this.hostAddress}/30`, 'dev', this.hostIf);
    run('link', 'set', this.hostIf, 'up');
    run('-n', this.name, 'addr', 'add', `${this.nsAddress}/30`, 'dev', this.nsIf);
    run('-n', this.name, 'link', 'set', this.nsIf, 'up');
    run('-n', this.name, 'link', 'set', 'lo', 'up');
  }

  /** Drops `percent`% of UDP arriving from the namespace for ports min-max (host side input hook). */
  addLoss(percent: number, min: number, max: number): void {
    const rules = [
      `add table inet ${this.table}`,
      `add chain inet ${this.table} impair { type filter hook input priority -10; policy accept; }`,
      `add rule inet ${this.table} impair iifname "${this.hostIf}" udp dport ${min}-${max} numgen random mod 100 < ${percent} counter drop`,
    ].join('\n');
    execFileSync('nft', ['-f', '-'], { input: rules, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Packets the loss rule has dropped so far. */
  dropped(): number {
    const out = execFileSync('nft', ['list', 'table', 'inet', this.table], { encoding: 'utf8' });
    return Number(/counter packets (\d+)/.exec(out)?.[1] ?? 0);
  }

  /** Runs a command inside the namespace; killed by destroy(). */
  spawn(command: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  destroy(): void {
    for (const c of this.children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
    const quiet = (cmd: string, args: string[]): void => {
      try {
        execFileSync(cmd, args, { stdio: 'ignore' });
      } catch {
        // already gone
      }
    };
    quiet('nft', ['delete', 'table', 'inet', this.table]);
    quiet('ip', ['link', 'del', this.hostIf]);
    quiet('ip', ['netns', 'del', this.name]);
  }
}

/**
 * The user-space relay run inside the namespace (plain JavaScript for `node -e`): RTP from the
 * caller goes to the target (learned from a `target HOST PORT` line on stdin) after
 * `delay + random(0..jitter)` ms, every `reorderEvery`-th packet is held back behind the next,
 * and every `spikeEvery`-th packet is held `spike` ms more (it arrives too late to play);
 * packets from the target go straight back to the caller. Prints `port N` once bound.
 */
export const RELAY_SOURCE = `
const dgram = require('node:dgram');
const [bindHost, delay, jitter, reorderEvery, spikeEvery, spike] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let target; let caller; let n = 0; let held;
s.on('message', (msg, r) => {
  if (target && r.address === target.host && r.port === target.port) {
    if (caller) s.send(msg, caller.port, caller.address);
    return;
  }
  caller = r;
  if (!target) return;
  n++;
  const copy = Buffer.from(msg);
  let wait = Number(delay) + Math.random() * Number(jitter);
  if (n % Number(spikeEvery) === 0) wait += Number(spike);
  if (n % Number(reorderEvery) === 0) { held = copy; return; }
  setTimeout(() => {
    s.send(copy, target.port, target.host);
    if (held) { const h = held; held = undefined; s.send(h, target.port, target.host); }
  }, wait);
});
s.bind(0, bindHost, () => console.log('port ' + s.address().port));
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  const m = /target (\\S+) (\\d+)/.exec(buf);
  if (m) target = { host: m[1], port: Number(m[2]) };
});
`;
