import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { agentConfig, freePort, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';
import { openVenueLink, type VenueLink } from '../support/venue-link.ts';
import { serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

/**
 * A box that loses power or its uplink says nothing: its TCP connection just goes silent. Between
 * the box and the centre's broker sits a link that can freeze (stop forwarding, close nothing);
 * with the box's MQTT keepalive of 10 s the broker fires its last will and the centre shows the
 * box offline within 30 s.
 */
describe('a silent box (power or uplink lost) is shown offline within 30 s', () => {
  const venueId = uniqueVenueId('sil');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('silent');
  const scratch = scratchDir('silent');
  let server: RunningServer;
  let agent: Agent;
  let link: VenueLink;

  beforeAll(async () => {
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }] }), { logger: silent });
    link = await openVenueLink(server.brokerUrl);
    const nowhere = await freePort();
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Silent venue' },
        mqtt: { url: `mqtt://127.0.0.1:${link.port}`, keepaliveSeconds: 10 },
        centre: { url: `http://127.0.0.1:${nowhere}`, token },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
  }, 30_000);

  afterAll(async () => {
    // Cut the frozen connections first so the agent's graceful stop does not wait on them.
    await link?.close();
    await agent?.stop();
    await server?.stop();
    scratch.remove();
    tmp.remove();
  });

  it('goes offline by keepalive and last will, no goodbye needed', async () => {
    const online = async () => (await server.services.venues.summaries()).find((v) => v.id === venueId)?.online;
    await waitFor('box online', online, 15_000);
    link.freeze();
    const since = Date.now();
    await waitFor('box offline', async () => (await online()) === false, 30_000);
    const took = Date.now() - since;
    expect(took).toBeLessThan(30_000);
    // Not instant: it was the keepalive (1.5 × 10 s at most), not a closed socket.
    expect(took).toBeGreaterThan(5_000);
  }, 45_000);
});
