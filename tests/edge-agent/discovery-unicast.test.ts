import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { unlistedCameraId } from '../../edge-agent/discovery/discovery.ts';
import { expandCidr, unicastProbe } from '../../edge-agent/discovery/unicast-probe.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

/**
 * Unicast discovery (cameras on another subnet, no multicast): GetSystemDateAndTime to every
 * address:port of the configured ranges, deduplicated against configured cameras by host:port and
 * by endpoint reference; repeated every discovery.intervalMinutes, so a camera switched on later
 * is found without anyone asking.
 */
describe('unicast ONVIF discovery over CIDR ranges', () => {
  const venueId = uniqueVenue('uni');
  const scratch = scratchDir('uni');
  let venue: VirtualVenue;
  let agent: Agent;
  let closedPort: number;

  beforeAll(async () => {
    const small = { width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: false };
    venue = await startVirtualVenue({
      venueId: 'sim-uni',
      cameras: [
        { code: 'cam-1', name: 'Configured', username: 'admin', password: 'pw-uni', ...small },
        { code: 'cam-2', name: 'Only by range', username: 'admin', password: 'pw-uni', ...small },
      ],
      logger: quietLogger(),
    });
    // Switched off until the periodic run must find it.
    await venue.cameras[1]!.stop();
    closedPort = await freePort();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    scratch.remove();
  });

  it('expands small ranges and refuses big ones', () => {
    expect(expandCidr('10.1.2.0/30')).toEqual(['10.1.2.1', '10.1.2.2']);
    expect(expandCidr('10.1.2.7')).toEqual(['10.1.2.7']);
    expect(expandCidr('10.1.2.0/24')).toHaveLength(254);
    expect(() => expandCidr('10.0.0.0/16')).toThrow(/split it/);
    expect(() => expandCidr('not-an-ip')).toThrow(/CIDR/);
  });

  it('times out quickly on an address that never answers, with the concurrency cap', async () => {
    const started = Date.now();
    // 192.0.2.0/29 (TEST-NET-1) is never routed: every request must end by its timeout.
    const found = await unicastProbe({ ranges: ['192.0.2.0/29'], ports: [80], concurrency: 3, timeoutMs: 300 }, () => {});
    expect(found).toEqual([]);
    expect(Date.now() - started).toBeLessThan(3 * 300 + 2000);
  });

  it('finds the configured camera once and an unlisted one by range, also when it comes on later', async () => {
    const [c1, c2] = venue.cameras;
    const p1 = Number(new URL(c1!.xaddr).port);
    const p2 = Number(new URL(c2!.xaddr).port);
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Unicast venue' },
        cameras: [{ code: 'front', name: 'Front', room: null, address: c1!.xaddr, username: 'admin', password: 'pw-uni' }],
        defaultCredentials: { username: 'admin', password: 'pw-uni' },
        discovery: {
          enabled: true,
          interfaces: [],
          timeoutMs: 1500,
          intervalMinutes: 0.1,
          unicast: { ranges: ['127.0.0.1/32', '10.0.0.0/8'], ports: [p1, p2, closedPort], concurrency: 4, timeoutMs: 800 },
        },
        mqtt: { url: `mqtt://127.0.0.1:${closedPort}` },
        centre: { url: `http://127.0.0.1:${closedPort}`, token: 'x'.repeat(20) },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
    // First run: cam-2 is off; the configured camera is there once (not again as "unlisted").
    expect(agent.cameras().map((c) => c.id)).toEqual([`${venueId}.front`]);
    await c2!.start();
    const id2 = unlistedCameraId(venueId, c2!.endpoint);
    const found = await waitFor('cam-2 found by the periodic unicast run', () => agent.cameras().find((c) => c.id === id2), 30_000, 200);
    expect(found.endpoint).toBe(c2!.endpoint);
    expect(found.xaddr).toBe(c2!.xaddr);
    expect(agent.cameras()).toHaveLength(2);
    // On demand: another run changes nothing (same identities, no duplicates).
    await agent.discover();
    expect(agent.cameras().map((c) => c.id).sort()).toEqual([`${venueId}.front`, id2].sort());
  }, 60_000);

  it('serves Prometheus text on the agent\'s own /metrics listener (port 0 = free port)', async () => {
    const port = agent.health.metricsPort!;
    expect(port).toBeGreaterThan(0);
    const front = `${venueId}.front`;
    await waitFor('front recording', () => agent.cameraHealth().find((c) => c.id === front)?.recording, 30_000);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain('# TYPE vw_box_disk_free_bytes gauge');
    expect(text).toContain(`vw_camera_recording{venue="${venueId}",camera="${front}"} 1`);
    expect(text).toMatch(/vw_box_outbox_depth\{venue="[^"]+"\} \d+/);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  }, 40_000);
});
