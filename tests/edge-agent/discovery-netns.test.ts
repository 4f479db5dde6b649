import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { CameraHealth, CameraInfo } from '../../protocol/index.ts';
import { checks, need } from '../support/prerequisites.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(import.meta.dirname, 'fixtures/netns-discovery.ts');

interface Result {
  simulated: { code: string; endpoint: string }[];
  recordingIds: string[];
  cameras: CameraInfo[];
  health: CameraHealth[];
  ipChange: { before: { id: string; xaddr: string }; after: { id: string; xaddr: string }; count: number };
  configuredMove: { before: string; after: string; lastError: string | null; state: string; count: number };
}

/**
 * The edge agent's own WS-Discovery (interface "lo" from its settings) inside a network namespace
 * this test creates, against four virtual cameras: multicast never touches the host's interfaces.
 */
describe.runIf(need(checks.netns()))('edge agent discovery in a network namespace', () => {
  it('finds every camera once, records them, keeps identity across an IP change, reports a wrong password as auth_failed', async () => {
    const ns = `vwedge-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', ns]);
    let r: Result;
    try {
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      execFileSync('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
      execFileSync('ip', ['-n', ns, 'addr', 'add', '10.0.0.5/32', 'dev', 'lo']);
      const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, 't-netns'], {
        cwd: root,
        timeout: 90_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      });
      r = JSON.parse(stdout) as Result;
    } finally {
      execFileSync('ip', ['netns', 'delete', ns]);
    }
    const byEndpoint = new Map(r.simulated.map((s) => [s.endpoint, s.code]));
    // Four cameras, each exactly once: the configured one under its configured id (deduped against the probe).
    expect(r.cameras).toHaveLength(4);
    expect(new Set(r.cameras.map((c) => c.endpoint)).size).toBe(4);
    expect(r.cameras.map((c) => byEndpoint.get(c.endpoint!)).sort()).toEqual(['cam-a', 'cam-b', 'cam-c', 'cam-d']);
    const front = r.cameras.find((c) => c.id === 't-netns.front')!;
    expect(byEndpoint.get(front.endpoint!)).toBe('cam-a');
    expect(front.roomId).toBe('t-netns.open-1');
    // Identified over ONVIF (GetDeviceInformation + GetEndpointReference) and recorded.
    for (const c of r.cameras.filter((c) => byEndpoint.get(c.endpoint!) !== 'cam-d')) {
      expect(c.manufacturer).toBe('VenueWatch Simulator');
      expect(c.streamUri).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/cam-[abc]$/);
      expect(r.recordingIds).toContain(c.id);
    }
    // The camera with another password: a health state, no recorder.
    const d = r.cameras.find((c) => byEndpoint.get(c.endpoint!) === 'cam-d')!;
    expect(r.recordingIds).not.toContain(d.id);
    const dHealth = r.health.find((h) => h.id === d.id)!;
    expect(dHealth.state).toBe('auth_failed');
    expect(dHealth.online).toBe(false);
    expect(r.health.find((h) => h.id === front.id)!.state).toBe('ok');
    // IP change: same id, new address, still four cameras.
    expect(r.ipChange.after.id).toBe(r.ipChange.before.id);
    expect(r.ipChange.before.xaddr).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(r.ipChange.after.xaddr).toMatch(/^http:\/\/127\.0\.0\.2:/);
    expect(r.ipChange.count).toBe(4);
    // A configured camera whose address changed is followed by its endpoint reference.
    expect(r.configuredMove.before).toMatch(/^http:\/\/10\.0\.0\.5:/);
    expect(r.configuredMove.after).toMatch(/^http:\/\/10\.0\.0\.6:/);
    expect(r.configuredMove.lastError).toBeNull();
    expect(r.configuredMove.state).toBe('ok');
    expect(r.configuredMove.count).toBe(4);
  }, 120_000);
});
