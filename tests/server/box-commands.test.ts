import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { encodeMessage, topics, type CommandReply } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';
import { csrf, login, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

/**
 * Commands from the centre to a venue box over MQTT (correlation id + reply) through the HTTP
 * API: snapshot, restart a recorder, rescan, reload settings; a command naming another venue's
 * camera is refused; a box may not publish commands itself (embedded broker ACL).
 */
describe('centre → box commands', () => {
  const venueId = uniqueVenueId('cmd');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('cmd');
  const scratch = scratchDir('cmd');
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let cookie: string;
  let reloads = 0;
  const cameraId = `${venueId}.cam-1`;

  const send = async (body: unknown): Promise<{ status: number; reply: CommandReply }> => {
    const res = await fetch(`${server.url}/api/venues/${venueId}/commands`, { method: 'POST', headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, reply: (await res.json()) as CommandReply };
  };

  beforeAll(async () => {
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }] }), { logger: silent });
    await server.services.auth.createUser({ username: 'ops', password: 'command-pass', displayName: 'Ops', role: 'maintenance' });
    cookie = await login(server.url, 'ops', 'command-pass');
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Hall', username: 'admin', password: 'pw-cmd', width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: false }],
      logger: quietLogger(),
    });
    const cam = venue.cameras[0]!;
    const config = agentConfig({
      venue: { id: venueId, name: 'Command venue' },
      cameras: [{ code: 'cam-1', name: 'Hall', room: null, address: cam.xaddr, username: cam.username, password: cam.password }],
      mqtt: { url: server.brokerUrl, keepaliveSeconds: 10 },
      centre: { url: server.url, token },
      dataDir: scratch.dir,
    });
    agent = await startAgent(config, { logger: quietLogger(), reloadConfig: () => (reloads++, config) });
    await waitFor('recording', () => agent.cameras()[0]?.recording, 30_000);
    await waitFor('link up', () => agent.link.connected, 10_000);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    scratch.remove();
    tmp.remove();
  });

  it('takes a snapshot (a JPEG) through the box', async () => {
    const { status, reply } = await send({ command: 'snapshot', cameraId });
    expect(status).toBe(200);
    expect(reply.ok).toBe(true);
    const jpeg = Buffer.from(reply.jpegBase64!, 'base64');
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(jpeg.length).toBeGreaterThan(500);
  }, 30_000);

  it('restarts a recorder, rescans and reloads settings, each answered with the command\'s correlation id', async () => {
    const runs = agent.recorder(cameraId)!.runs;
    const restart = await send({ command: 'restart_recorder', cameraId });
    expect(restart.reply).toMatchObject({ ok: true, command: 'restart_recorder' });
    expect(agent.recorder(cameraId)!.runs).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(1);
    const rescan = await send({ command: 'rescan' });
    expect(rescan.reply.ok).toBe(true);
    expect(rescan.reply.message).toContain('1 cameras');
    const reload = await send({ command: 'reload_settings' });
    expect(reload.reply.ok).toBe(true);
    expect(reloads).toBe(1);
  }, 30_000);

  it('refuses a camera of another venue and bad requests', async () => {
    const other = await send({ command: 'snapshot', cameraId: 'other-venue.cam-1' });
    expect(other.status).toBe(200);
    expect(other.reply.ok).toBe(false);
    expect(other.reply.message).toContain('not a camera of venue');
    expect((await send({ command: 'format_disk' })).status).toBe(400);
  });

  it('does not let a box publish commands (embedded broker ACL)', async () => {
    const box = await mqtt.connectAsync(server.brokerUrl, { protocolVersion: 4, username: venueId, password: token, clientId: `fake-${venueId}`, reconnectPeriod: 0 });
    const runsBefore = agent.recorder(cameraId)!.runs;
    const forged = encodeMessage('commands', { venueId, correlationId: crypto.randomUUID(), command: 'restart_recorder', cameraId, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    // aedes answers an unauthorised publish by closing the connection: no PUBACK ever comes.
    const closed = new Promise<boolean>((resolve) => box.once('close', () => resolve(true)));
    void box.publishAsync(topics.commands(venueId), JSON.stringify(forged), { qos: 1 }).catch(() => {});
    expect(await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 5000))])).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(agent.recorder(cameraId)!.runs).toBe(runsBefore);
    box.end(true);
  });
});
