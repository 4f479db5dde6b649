import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checks, need } from '../support/prerequisites.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(import.meta.dirname, 'fixtures/discovery-probe.ts');

interface ProbeResult {
  found: { hostname: string; port: number; xaddrs: string[] }[];
  afterChange: string[];
}

/** Runs the probe script in a fresh namespace (multicast never touches the host's interfaces). */
async function probeInNamespace(withRoute: boolean): Promise<ProbeResult> {
  const ns = `vwsim-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    if (withRoute) execFileSync('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
    const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script], { cwd: root, timeout: 30_000, killSignal: 'SIGKILL' });
    return JSON.parse(stdout) as ProbeResult;
  } finally {
    execFileSync('ip', ['netns', 'delete', ns]);
  }
}

describe.runIf(need(checks.netns()))('WS-Discovery responder in a network namespace', () => {
  it('answers the onvif client\'s probe with all three devices and their xaddrs', async () => {
    const r = await probeInNamespace(true);
    expect(r.found.map((c) => c.xaddrs[0]).sort()).toEqual([1, 2, 3].map((i) => `http://127.0.0.1:${8000 + i}/onvif/device_service`));
    expect(r.found.map((c) => c.port).sort()).toEqual([8001, 8002, 8003]);
    expect(r.afterChange).toContain('http://127.0.0.1:9001/onvif/device_service');
    expect(r.afterChange).not.toContain('http://127.0.0.1:8001/onvif/device_service');
  });

  it('works on loopback without the 224.0.0.0/4 route (as the demo on the host relies on)', async () => {
    const r = await probeInNamespace(false);
    expect(r.found).toHaveLength(3);
  });
});
