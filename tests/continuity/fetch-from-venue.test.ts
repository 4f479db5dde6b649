import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { FootageStatus } from '../../protocol/index.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, serverConfig, silent } from '../server/support.ts';

/**
 * Issue 5, priority 5: footage outside every session is only at the venue; a user asking to watch
 * it makes the centre send a fetch command over MQTT, the status reads "fetching" until it arrives,
 * then the range plays. With the box offline the answer is a clear message, not an empty player.
 */
describe('footage fetched from the venue on demand', () => {
  const venueId = uniqueVenue('fetch');
  const scratch = scratchDir('fetch');
  const serverScratch = scratchDir('fetch-centre');
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let cookie: string;
  const cam = `${venueId}.cam-1`;
  const range = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const status = async (q: string) => FootageStatus.parse(await (await fetch(`${server.url}/api/cameras/${cam}/footage-status?${q}`, { headers: { cookie } })).json());

  beforeAll(async () => {
    pg = await createPgDatabase();
    const token = randomToken();
    server = await startServer(serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'demo-password-1' } }), { logger: silent });
    venue = await startVirtualVenue({ cameras: [{ code: 'cam-1', name: 'Hall', username: 'admin', password: 'pw-fetch-1', width: 320, height: 240, fps: 10, bitrateKbps: 150, audio: false }], logger: quietLogger() });
    const c = venue.cameras[0]!;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Fetch venue' },
        rooms: [{ code: 'hall', name: 'Hall', kind: 'hall' }],
        cameras: [{ code: 'cam-1', name: 'Hall', room: 'hall', address: c.xaddr, username: c.username, password: c.password }],
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
    cookie = await login(server.url, 'admin', 'demo-password-1');
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('asks the box, says "fetching" until the footage arrives, then plays it', async () => {
    const segs = await waitFor('four segments catalogued at the centre', async () => {
      const s = agent.catalogue.segments(cam);
      return s.length >= 4 ? s : null;
    }, 40_000, 250);
    const q = range(segs[0]!.start, segs[3]!.end);
    const before = await waitFor('recorded at the centre', async () => {
      const st = await status(q);
      return st.recordedSeconds > 0 ? st : null;
    }, 15_000, 250);
    expect(before).toMatchObject({ status: 'at_venue', storedSeconds: 0 });
    // No session covers it: nothing was uploaded, so the player has nothing yet.
    expect((await fetch(`${server.url}/api/cameras/${cam}/vod.m3u8?${q}`, { headers: { cookie } })).status).toBe(404);

    const asked = await fetch(`${server.url}/api/cameras/${cam}/fetch?${q}`, { method: 'POST', headers: { cookie, ...csrf(cookie) } });
    expect(asked.status).toBe(202);
    expect(FootageStatus.parse(await asked.json())).toMatchObject({ status: 'fetching', message: expect.stringMatching(/Fetching from the venue/) });
    const done = await waitFor('footage arrived', async () => {
      const st = await status(q);
      return st.status === 'stored' ? st : null;
    }, 30_000, 250);
    expect(done.storedSeconds).toBeCloseTo(done.recordedSeconds, 3);
    const playlist = await fetch(`${server.url}/api/cameras/${cam}/vod.m3u8?${q}`, { headers: { cookie } });
    expect(playlist.status).toBe(200);
    expect((await playlist.text()).match(/\.ts$/gm)?.length).toBeGreaterThanOrEqual(4);
  }, 90_000);

  it('says clearly that an offline box cannot be asked', async () => {
    // A segment recorded after the fetched range: only at the venue.
    const fetchedTo = Date.parse(agent.catalogue.segments(cam)[3]!.end);
    const last = await waitFor('a newer segment', () => agent.catalogue.segments(cam).find((s) => Date.parse(s.start) >= fetchedTo && !s.uploadedAt), 20_000, 200);
    await waitFor('last segment catalogued at the centre', async () => (await status(range(last.start, last.end))).recordedSeconds > 0, 15_000, 250);
    await agent.stop();
    await waitFor('venue offline at the centre', async () => (await server.services.venues.summaries()).find((v) => v.id === venueId)?.online === false, 15_000, 250);
    const res = await fetch(`${server.url}/api/cameras/${cam}/fetch?${range(last.start, last.end)}`, { method: 'POST', headers: { cookie, ...csrf(cookie) } });
    expect(res.status).toBe(200);
    const st = FootageStatus.parse(await res.json());
    expect(st.status).toBe('venue_offline');
    expect(st.message).toMatch(/offline.*cannot be fetched now/);
  }, 60_000);
});
