import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import type { AlertList, DeviceList, PreSessionCheckResult } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

/**
 * The pre-session check catches a dead camera: a session booked 10 minutes ahead (inside the
 * 30-minute window) is checked by the centre's own timer; the switched-off camera fails with an
 * alert naming the room, the camera and the session; the working one passes every check
 * (online, recording, audio, clock); the result is kept with the session.
 */
describe('pre-session check (PostgreSQL)', () => {
  const venueId = uniqueVenueId('pre');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('precheck');
  const scratch = scratchDir('precheck');
  let pg: { url: string; drop(): Promise<void> };
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let cookie: string;
  const roomId = `${venueId}.eval-1`;
  const good = `${venueId}.cam-1`;
  const dead = `${venueId}.cam-2`;

  beforeAll(async () => {
    pg = await createPgDatabase();
    server = await startServer(
      serverConfig(tmp.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], preSessionCheck: { minutesBefore: 30, intervalSeconds: 0.5, requireAudio: true } }),
      { logger: silent },
    );
    await server.services.auth.createUser({ username: 'boss', password: 'precheck-pass', displayName: 'Supervisor', role: 'supervisor' });
    cookie = await login(server.url, 'boss', 'precheck-pass');
    const small = { width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: true };
    venue = await startVirtualVenue({
      cameras: [
        { code: 'cam-1', name: 'Evaluation left', username: 'admin', password: 'pw-pre', ...small },
        { code: 'cam-2', name: 'Evaluation right', username: 'admin', password: 'pw-pre', ...small },
      ],
      logger: quietLogger(),
    });
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Pre-check venue' },
        rooms: [{ code: 'eval-1', name: 'Evaluation room 1', kind: 'evaluation' }],
        cameras: venue.cameras.map((c) => ({ code: c.code, name: c.name, room: 'eval-1', address: c.xaddr, username: c.username, password: c.password })),
        mqtt: { url: server.brokerUrl, keepaliveSeconds: 10 },
        centre: { url: server.url, token },
        dataDir: scratch.dir,
        health: { intervalSeconds: 1, clockDriftMs: 2000, clockCheckMinutes: 60, metrics: { host: '127.0.0.1', port: 0 } },
      }),
      { logger: quietLogger() },
    );
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    tmp.remove();
  });

  it('fails the dead camera with an alert naming room, camera and session; passes the good one', async () => {
    const devices = async () => (await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList;
    await waitFor('both cameras recording with audio', async () => (await devices()).devices.filter((d) => d.camera?.recording && d.camera.hasAudio).length === 2, 45_000);
    await venue.cameras[1]!.stop();
    await waitFor('cam-2 offline at the centre', async () => (await devices()).devices.find((d) => d.id === dead)?.online === false, 40_000);

    const start = new Date(Date.now() + 10 * 60_000);
    const created = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({ projectCode: 'PRE-2026-001', projectName: 'Road works', kind: 'evaluation', roomId, plannedStart: start.toISOString(), plannedEnd: new Date(start.getTime() + 3600_000).toISOString() }),
    });
    expect(created.status).toBe(201);
    const session = (await created.json()) as { id: string };

    const result = await waitFor(
      'the automatic pre-session check',
      async () => {
        const r = await fetch(`${server.url}/api/sessions/${session.id}/pre-check`, { headers: { cookie } });
        return r.status === 200 ? ((await r.json()) as PreSessionCheckResult) : null;
      },
      15_000,
    );
    expect(result.ok).toBe(false);
    expect(result.roomName).toBe('Evaluation room 1');
    const failing = result.items.filter((i) => !i.ok);
    expect(new Set(failing.map((i) => i.deviceId))).toEqual(new Set([dead]));
    expect(failing.map((i) => i.check)).toEqual(expect.arrayContaining(['online', 'recording']));
    // Each result also in Chinese, for the session page.
    expect(failing.find((i) => i.check === 'recording')?.detailZh).toBe('未在录像');
    expect(result.items.find((i) => i.deviceId === good && i.check === 'online')?.detailZh).toBe('在线');
    expect(result.items.filter((i) => i.deviceId === good).map((i) => [i.check, i.ok])).toEqual([
      ['online', true],
      ['recording', true],
      ['audio', true],
      ['clock', true],
    ]);

    const alerts = (await (await fetch(`${server.url}/api/alerts?open=1`, { headers: { cookie } })).json()) as AlertList;
    const alert = alerts.alerts.find((a) => a.kind === 'pre_session_check' && a.deviceId === dead)!;
    expect(alert.roomId).toBe(roomId);
    expect(alert.message).toContain('Evaluation room 1');
    expect(alert.message).toContain('Evaluation right');
    expect(alert.message).toContain('PRE-2026-001');
    // The same alert in Chinese for the dashboard: the session, the room, the camera and what failed.
    expect(alert.messageZh).toMatch(/^场次 PRE-2026-001 .*场前检查未通过：Evaluation room 1（.*）的 Evaluation right（.*）——在线：离线.*请安排备用录像$/s);
    expect(alerts.alerts.some((a) => a.kind === 'pre_session_check' && a.deviceId === good)).toBe(false);
  }, 120_000);
});
