import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checks, need } from '../support/prerequisites.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(import.meta.dirname, 'fixtures/netns-discovery-scale.ts');

/**
 * Discovery at venue scale: 50 virtual cameras found and described over ONVIF, each once. How fast
 * is a benchmark's question (bench/discovery.ts, docs/benchmarks.md), not a timed test's.
 */
describe.runIf(need(checks.netns()))('discovery at venue scale (network namespace)', () => {
  it('finds and describes at least 48 of 50 cameras, each under one identity', async () => {
    const ns = `vwscale-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', ns]);
    let r: { total: number; ms: number; described: number; ids: number; errors: string[] };
    try {
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      execFileSync('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
      const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script], { cwd: root, timeout: 60_000, killSignal: 'SIGKILL' });
      r = JSON.parse(stdout) as typeof r;
    } finally {
      execFileSync('ip', ['netns', 'delete', ns]);
    }
    expect(r.errors).toEqual([]);
    expect(r.described).toBeGreaterThanOrEqual(48);
    expect(r.ids).toBe(r.described);
  }, 90_000);
});
