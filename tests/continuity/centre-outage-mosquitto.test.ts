import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import type { ServerConfig } from '../../config/schema.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { segments } from '../../server/db/schema.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, clearRetained, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { MOSQUITTO_URL, createPgDatabase, serverConfig, silent } from '../server/support.ts';

/**
 * Issue 5, priority 4 with Mosquitto (127.0.0.1:1883) between the box and the centre: the centre
 * is down while the broker stays up. The broker acknowledges the box's messages (its outbox
 * empties), so only the centre's persistent MQTT session keeps them: after the restart every
 * segment record and gap the box sent in the meantime is at the centre.
 */
describe('centre down behind Mosquitto: the broker keeps the messages for it', () => {
  const venueId = uniqueVenue('mosq');
  const scratch = scratchDir('mosq');
  const serverScratch = scratchDir('mosq-centre');
  let pg: { url: string; drop: () => Promise<void> };
  let config: ServerConfig;
  let server: RunningServer | null = null;
  let venue: VirtualVenue;
  let agent: Agent;
  const cam = `${venueId}.cam-1`;

  beforeAll(async () => {
    pg = await createPgDatabase();
    const token = randomToken();
    config = serverConfig(serverScratch.dir, { databaseUrl: pg.url, port: await freePort(), mqtt: { url: MOSQUITTO_URL, embeddedPort: 0 }, agents: [{ venueId, token }] });
    server = await startServer(config, { logger: silent });
    venue = await startVirtualVenue({ cameras: [{ code: 'cam-1', name: 'Hall', username: 'admin', password: 'pw-mosq-1', width: 320, height: 240, fps: 10, bitrateKbps: 120, audio: false }], logger: quietLogger() });
    const c = venue.cameras[0]!;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Mosquitto venue' },
        rooms: [{ code: 'hall', name: 'Hall', kind: 'hall' }],
        cameras: [{ code: 'cam-1', name: 'Hall', room: 'hall', address: c.xaddr, username: c.username, password: c.password }],
        mqtt: { url: MOSQUITTO_URL },
        centre: { url: server.url, token },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
    await waitFor('segments catalogued at the centre', async () => (await server!.db.select().from(segments).where(eq(segments.cameraId, cam))).length >= 2, 40_000, 250);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    await clearRetained(MOSQUITTO_URL, venueId);
    scratch.remove();
    serverScratch.remove();
  });

  it('delivers what was published while the centre was down', async () => {
    await server!.stop();
    server = null;
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    await venue.cameras[0]!.stop(); // a gap while the centre is away
    await new Promise((r) => setTimeout(r, 4000));
    await venue.cameras[0]!.start();
    const gap = await waitFor('the gap row at the box', () => agent.gaps.log.list(cam).find((g) => g.end !== null && Date.parse(g.end) > downAt), 20_000, 200);
    // Mosquitto took everything: nothing waits in the box's outbox.
    await waitFor('outbox empty (broker acknowledged)', () => agent.catalogue.outboxSize() === 0, 10_000, 100);
    const sentWhileDown = agent.catalogue.segments(cam).filter((s) => Date.parse(s.start) > downAt + 3000);
    expect(sentWhileDown.length).toBeGreaterThanOrEqual(2);

    server = await startServer(config, { logger: silent });
    const s = server;
    await waitFor(
      'every record sent while the centre was down',
      async () => {
        for (const seg of sentWhileDown) if ((await s.db.select().from(segments).where(eq(segments.id, seg.id))).length === 0) return false;
        return (await s.services.gaps.reported(cam, new Date(gap.start), new Date(gap.end!))).some((g) => g.id === gap.id);
      },
      20_000,
      250,
    );
    // (Mosquitto is shared with other tests: count only this venue's rejections.)
    expect(s.link.rejectedByVenue.get(venueId) ?? 0).toBe(0);
  }, 90_000);
});
