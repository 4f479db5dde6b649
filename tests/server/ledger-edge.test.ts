import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { LedgerCreateResponse, LedgerEntryDetail } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { SegmentRepository } from '../../server/repositories/segments.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, ffmpegChildren, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';
import { csrf, login, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

/**
 * The hold checked at the edge: a real venue box (edge-agent/agent.ts) records a simulated camera
 * and uploads nothing (no session); a patrol officer logs a ledger entry in that room; the box gets
 * the "ledger" window over MQTT and uploads the footage of that room around the entry, which then
 * plays from the entry's footage link.
 */
describe('ledger hold reaches the edge agent, which uploads the footage', () => {
  const venueId = uniqueVenueId('edge');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('ledger-edge');
  const scratch = scratchDir('ledger-edge');
  const room = `${venueId}.open-1`;
  const camera = `${venueId}.cam-1`;
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let cookie: string;

  beforeAll(async () => {
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }], ledger: { footageMinutesBefore: 1, footageMinutesAfter: 1 } }), { logger: silent });
    await server.services.auth.createUser({ username: 'patrol-edge', password: 'a long enough password', displayName: '巡场员', role: 'patrol', venueIds: [venueId] });
    cookie = await login(server.url, 'patrol-edge', 'a long enough password');
    venue = await startVirtualVenue({ cameras: [{ code: 'cam-1', name: 'Opening room', username: 'admin', password: 'pw-edge-1', width: 320, height: 240, fps: 10, bitrateKbps: 200 }], logger: quietLogger() });
    const c1 = venue.cameras[0]!;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Edge venue' },
        rooms: [{ code: 'open-1', name: '开标室', kind: 'bid_opening' }],
        cameras: [{ code: 'cam-1', name: 'Opening room', room: 'open-1', address: c1.xaddr, username: c1.username, password: c1.password }],
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
  }, 90_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    expect(ffmpegChildren(scratch.dir)).toEqual([]);
    scratch.remove();
    tmp.remove();
  });

  it('uploads the footage of the entry window after the hold arrives, and it plays from the entry', async () => {
    const segments = new SegmentRepository(server.db);
    await waitFor('the centre to know the camera', async () => (await server.services.venues.list({ venueIds: null })).venues.find((v) => v.id === venueId)?.cameras.some((c) => c.id === camera), 40_000);
    await waitFor('three recorded segments at the venue', () => agent.catalogue.segments(camera).length >= 3, 40_000);
    // No session, no hold: nothing is uploaded yet.
    const before = await segments.overlapping(camera, new Date(Date.now() - 600_000), new Date(Date.now() + 600_000), { storedOnly: true });
    expect(before).toEqual([]);

    const res = await fetch(`${server.url}/api/ledger/entries`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', ...csrf(cookie) },
      body: JSON.stringify({ clientKey: randomUUID(), roomId: room, subjectType: 'bidder', subjectName: '某公司', category: 'bidder_disorder', description: '' }),
    });
    expect(res.status).toBe(201);
    const { entry } = LedgerCreateResponse.parse(await res.json());

    const stored = await waitFor(
      'footage inside the hold stored at the centre',
      async () => {
        const rows = await segments.overlapping(camera, new Date(Date.parse(entry.foundAt) - 60_000), new Date(Date.parse(entry.foundAt)), { storedOnly: true });
        return rows.length >= 2 ? rows : null;
      },
      30_000,
    );
    expect(stored.every((s) => s.storedAt !== null)).toBe(true);

    const detail = LedgerEntryDetail.parse(await (await fetch(`${server.url}/api/ledger/entries/${entry.id}`, { headers: { cookie } })).json());
    expect(detail.footage.map((f) => f.cameraId)).toEqual([camera]);
    const playlist = await fetch(`${server.url}${detail.footage[0]!.playlistUrl}`, { headers: { cookie } });
    expect(playlist.status).toBe(200);
    const text = await playlist.text();
    expect(text).toContain('#EXTM3U');
    const first = /\/api\/footage\/segments\/[0-9a-f-]+\.ts/.exec(text)![0];
    const seg = await fetch(`${server.url}${first}`, { headers: { cookie } });
    expect(seg.status).toBe(200);
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});
