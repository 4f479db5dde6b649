import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type AlertList, type DeviceHistory, type DeviceList } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { quietLogger } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, MOSQUITTO_URL, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

const root = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'health-pass-1';

/** Descendants of a process (the agent's ffmpeg recorders), so a SIGKILLed agent leaves none behind. */
function descendants(pid: number): number[] {
  try {
    const kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return kids.flatMap((k) => [k, ...descendants(k)]);
  } catch {
    return [];
  }
}

/**
 * The whole health path with the real agent program: edge-agent/main.ts as a child process
 * publishes retained health reports; the centre keeps state, history and alerts; a box killed with
 * SIGKILL (no goodbye) is shown offline within 30 s through its last will (keepalive 10 s).
 * Once over the embedded aedes + PGlite, once over Mosquitto + PostgreSQL.
 */
describe.each([
  { broker: 'embedded', db: 'pglite' },
  { broker: 'mosquitto', db: 'postgres' },
] as const)('device health over $broker broker and $db', ({ broker, db }) => {
  const venueId = uniqueVenueId('hl');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('health');
  let pg: { url: string; drop(): Promise<void> } | null = null;
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: ChildProcess | null = null;
  let agentKids: number[] = [];
  let cookie: string;
  const cameraId = `${venueId}.cam-1`;

  const devices = async (): Promise<DeviceList> => (await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList;

  beforeAll(async () => {
    if (db === 'postgres') pg = await createPgDatabase();
    server = await startServer(
      serverConfig(tmp.dir, {
        databaseUrl: pg?.url ?? null,
        mqtt: { url: broker === 'mosquitto' ? MOSQUITTO_URL : null, embeddedPort: 0 },
        agents: [{ venueId, token }],
        deviceHealth: { historyBucketMinutes: 1, intactSampleSeconds: 1, historyDays: 30 },
      }),
      { logger: silent },
    );
    await server.services.auth.createUser({ username: 'tech', password: PASSWORD, displayName: 'Technician', role: 'maintenance' });
    cookie = await login(server.url, 'tech', PASSWORD);
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Hall', username: 'admin', password: 'pw-health', width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: false }],
      logger: quietLogger(),
    });
    const cam = venue.cameras[0]!;
    const configFile = path.join(tmp.dir, 'edge.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        venue: { id: venueId, name: 'Health venue' },
        rooms: [{ code: 'hall', name: 'Hall', kind: 'hall' }],
        cameras: [{ code: 'cam-1', name: 'Hall camera', room: 'hall', address: cam.xaddr, username: cam.username, password: cam.password }],
        discovery: { enabled: false, interfaces: [], timeoutMs: 2000, intervalMinutes: 60 },
        mqtt: { url: server.brokerUrl, keepaliveSeconds: 10 },
        centre: { url: server.url, token },
        dataDir: path.join(tmp.dir, 'edge'),
        health: { intervalSeconds: 1, clockDriftMs: 2000, clockCheckMinutes: 60, metrics: { host: '127.0.0.1', port: 0 } },
        logLevel: 'info',
      }),
    );
    agent = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/main.ts'], { cwd: root, env: { ...process.env, VW_CONFIG: configFile }, stdio: ['ignore', 'ignore', 'ignore'] });
  }, 60_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agentKids = descendants(agent.pid!);
      agent.kill('SIGKILL');
    }
    for (const pid of agentKids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (broker === 'mosquitto') {
      const cleaner = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
      for (const t of Object.values(topics)) await cleaner.publishAsync(t(venueId), '', { qos: 1, retain: true });
      await cleaner.endAsync();
    }
    await server?.stop();
    await venue?.stop();
    await pg?.drop();
    tmp.remove();
  });

  it('shows the camera and the box online with live numbers, history, intact rate and /metrics', async () => {
    const list = await waitFor(
      'camera online and recording at the centre',
      async () => {
        const l = await devices();
        const c = l.devices.find((d) => d.id === cameraId);
        return c?.online && c.camera?.recording && c.camera.bitrateKbps ? l : null;
      },
      45_000,
    );
    const cam = list.devices.find((d) => d.id === cameraId)!;
    expect(cam.kind).toBe('camera');
    expect(cam.roomId).toBe(`${venueId}.hall`);
    expect(cam.state).toBe('ok');
    expect(cam.camera!.lastSegmentAgeSeconds).toBeLessThan(20);
    expect(cam.camera!.clockOffsetMs).not.toBeNull();
    expect(Math.abs(cam.camera!.clockOffsetMs!)).toBeLessThan(2000);
    const box = list.devices.find((d) => d.id === venueId)!;
    expect(box.kind).toBe('box');
    expect(box.online).toBe(true);
    expect(box.box!.agentVersion).toBeTruthy();
    expect(box.box!.diskFreeBytes).toBeGreaterThan(0);
    expect(box.box!.brokerConnected).toBe(true);
    expect(list.venues.find((v) => v.id === venueId)!.rooms.map((r) => r.id)).toEqual([`${venueId}.hall`]);

    const history = (await (await fetch(`${server.url}/api/devices/${encodeURIComponent(cameraId)}/history?hours=1`, { headers: { cookie } })).json()) as DeviceHistory;
    expect(history.points.length).toBeGreaterThan(0);
    expect(history.points.at(-1)!.online).toBeGreaterThan(0);

    const rate = await waitFor('an intact-rate sample', async () => (await devices()).venues.find((v) => v.id === venueId)!.intactRateToday, 10_000);
    expect(rate).toBeGreaterThan(0);

    // A fresh recorder is "starting", not a failure: start-up raised no camera alert at all.
    const all = (await (await fetch(`${server.url}/api/alerts`, { headers: { cookie } })).json()) as AlertList;
    expect(all.alerts.filter((a) => a.deviceId === cameraId)).toEqual([]);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`vw_device_online{venue="${venueId}",device="${cameraId}",kind="camera"} 1`);
    expect(metrics).toContain(`vw_venue_box_online{venue="${venueId}"} 1`);
  }, 60_000);

  it('shows a box killed with SIGKILL offline within 30 s, streams it over SSE and raises an alert to acknowledge', async () => {
    const sse = await fetch(`${server.url}/api/devices/events`, { headers: { cookie } });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const reader = sse.body!.getReader();
    let text = '';
    const sawOffline = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return false;
        text += Buffer.from(value).toString();
        if (text.includes(`"id":"${cameraId}"`) && /event: device\ndata: \{[^\n]*"id":"[^"]+\.cam-1"[^\n]*"online":false/.test(text)) return true;
      }
    })();

    agentKids = descendants(agent!.pid!);
    const killedAt = Date.now();
    agent!.kill('SIGKILL');
    await waitFor(
      'box and camera offline',
      async () => {
        const l = await devices();
        return l.devices.find((d) => d.id === venueId)?.online === false && l.devices.find((d) => d.id === cameraId)?.online === false;
      },
      30_000,
    );
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(30_000);
    expect(await Promise.race([sawOffline, new Promise<boolean>((r) => setTimeout(() => r(false), 5000))])).toBe(true);
    await reader.cancel();

    const alerts = (await (await fetch(`${server.url}/api/alerts?open=1`, { headers: { cookie } })).json()) as AlertList;
    const boxAlert = alerts.alerts.find((a) => a.kind === 'box_offline' && a.venueId === venueId)!;
    expect(boxAlert.message).toContain(venueId);
    const ack = await fetch(`${server.url}/api/alerts/${boxAlert.id}/acknowledge`, { method: 'POST', headers: { cookie, ...csrf(cookie) } });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { acknowledgedBy: string }).acknowledgedBy).toBe('tech');
  }, 60_000);
});
