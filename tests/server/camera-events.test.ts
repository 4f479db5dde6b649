import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { topics, type AlertList, type DeviceList, type RoomEventList } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, login, MOSQUITTO_URL, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

const PASSWORD = 'events-pass-1';

/**
 * Camera events and clock drift end to end: the virtual camera offers ONVIF PullPoint events, the
 * agent subscribes with the onvif client and forwards a tamper event as a room event through its
 * outbox; the centre stores it, raises a camera-event alert; a camera clock set 5 s ahead becomes
 * a clock-drift state, event and alert.
 */
describe.each([
  { broker: 'embedded', db: 'pglite' },
  { broker: 'mosquitto', db: 'postgres' },
] as const)('camera events over $broker broker and $db', ({ broker, db }) => {
  const venueId = uniqueVenueId('ev');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('events');
  const scratch = scratchDir('events');
  let pg: { url: string; drop(): Promise<void> } | null = null;
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let cookie: string;
  const cameraId = `${venueId}.cam-1`;
  const roomId = `${venueId}.eval-1`;
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${server.url}${path}`, { headers: { cookie } })).json()) as T;

  beforeAll(async () => {
    if (db === 'postgres') pg = await createPgDatabase();
    server = await startServer(
      serverConfig(tmp.dir, { databaseUrl: pg?.url ?? null, mqtt: { url: broker === 'mosquitto' ? MOSQUITTO_URL : null, embeddedPort: 0 }, agents: [{ venueId, token }] }),
      { logger: silent },
    );
    await server.services.auth.createUser({ username: 'patrol1', password: PASSWORD, displayName: 'Patrol', role: 'patrol' });
    cookie = await login(server.url, 'patrol1', PASSWORD);
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Evaluation', username: 'admin', password: 'pw-events', width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: false }],
      logger: quietLogger(),
    });
    const cam = venue.cameras[0]!;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Events venue' },
        rooms: [{ code: 'eval-1', name: 'Evaluation room 1', kind: 'evaluation' }],
        cameras: [{ code: 'cam-1', name: 'Evaluation camera', room: 'eval-1', address: cam.xaddr, username: cam.username, password: cam.password }],
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
    if (broker === 'mosquitto') {
      const cleaner = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
      for (const t of Object.values(topics)) await cleaner.publishAsync(t(venueId), '', { qos: 1, retain: true });
      await cleaner.endAsync();
    }
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    tmp.remove();
  });

  it('forwards a tamper event from the camera (PullPoint) to the centre as a room event with an alert', async () => {
    await waitFor('the agent to subscribe to camera events', () => venue.cameras[0]!.eventSubscriptions() > 0, 20_000);
    venue.cameras[0]!.emitEvent('tamper', true);
    const list = await waitFor(
      'the tamper event at the centre',
      async () => {
        const l = await get<RoomEventList>(`/api/events?roomId=${encodeURIComponent(roomId)}`);
        return l.events.some((e) => e.kind === 'tamper') ? l : null;
      },
      20_000,
    );
    const tamper = list.events.find((e) => e.kind === 'tamper')!;
    expect(tamper).toMatchObject({ venueId, deviceId: cameraId, roomId, state: true, source: 'onvif' });
    expect(tamper.detail).toContain('GlobalSceneChange');
    const alerts = await get<AlertList>('/api/alerts?open=1');
    const alert = alerts.alerts.find((a) => a.kind === 'camera_event' && a.deviceId === cameraId)!;
    expect(alert.message).toContain('tamper');
    expect(alert.roomId).toBe(roomId);
    // The condition going away clears the alert.
    venue.cameras[0]!.emitEvent('tamper', false);
    await waitFor('the camera-event alert cleared', async () => !(await get<AlertList>('/api/alerts?open=1')).alerts.some((a) => a.kind === 'camera_event' && a.deviceId === cameraId), 20_000);
  }, 60_000);

  it('turns a camera clock 5 s ahead into a clock-drift state, event and alert', async () => {
    await waitFor('camera ok at the centre', async () => (await get<DeviceList>('/api/devices')).devices.find((d) => d.id === cameraId)?.state === 'ok', 30_000);
    venue.cameras[0]!.setClockOffset(5000);
    await agent.health.checkClocks(true);
    const cam = await waitFor(
      'clock_drift state at the centre',
      async () => (await get<DeviceList>('/api/devices')).devices.find((d) => d.id === cameraId && d.state === 'clock_drift'),
      20_000,
    );
    expect(cam.camera!.clockOffsetMs).toBeGreaterThan(3500);
    expect(cam.camera!.clockOffsetMs).toBeLessThan(6500);
    expect(cam.online).toBe(true);
    const events = await waitFor('clock_drift event', async () => (await get<RoomEventList>('/api/events')).events.find((e) => e.kind === 'clock_drift'), 20_000);
    expect(events).toMatchObject({ deviceId: cameraId, state: true, source: 'agent' });
    expect((await get<AlertList>('/api/alerts?open=1')).alerts.some((a) => a.kind === 'clock_drift' && a.deviceId === cameraId)).toBe(true);
  }, 60_000);
});
