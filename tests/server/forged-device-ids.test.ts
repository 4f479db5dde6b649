import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, topics, type DeviceList, type RoomEventList } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { login, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

const box = { cpuPercent: 1, memoryUsedBytes: 1, memoryTotalBytes: 2, diskFreeBytes: 1e9, diskTotalBytes: 2e9, recordingBytesPerDay: 0, forecastDays: null, brokerConnected: true, outboxDepth: 0, uptimeSeconds: 1, agentVersion: 'test' };
const camera = (id: string) => ({ id, roomId: null, name: id, online: true, state: 'ok' as const, recording: true, fps: 5, bitrateKbps: 100, lastSegmentAgeSeconds: 1, reconnectsLastHour: 0, clockOffsetMs: 0, hasAudio: true, lastError: null });

/**
 * Unknown or forged device ids: a box (authenticated as its own venue) sending a health report or
 * room events that name another venue's devices has the whole message refused, logged and counted;
 * its own devices keep working.
 */
describe('forged device ids in health reports and room events', () => {
  const venueId = uniqueVenueId('fg');
  const victim = uniqueVenueId('fv');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('forged');
  let server: RunningServer;
  let client: MqttClient;
  let cookie: string;

  beforeAll(async () => {
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }, { venueId: victim, token: randomBytes(24).toString('hex') }] }), { logger: silent });
    await server.services.auth.createUser({ username: 'adm', password: 'forged-pass-1', displayName: 'Admin', role: 'admin' });
    cookie = await login(server.url, 'adm', 'forged-pass-1');
    client = await mqtt.connectAsync(server.brokerUrl, { protocolVersion: 4, username: venueId, password: token, clientId: `forger-${venueId}` });
  });
  afterAll(async () => {
    await client?.endAsync();
    await server?.stop();
    tmp.remove();
  });

  it('refuses a report naming another venue\'s camera and accepts the honest one', async () => {
    const before = server.link.rejectedByVenue.get(venueId) ?? 0;
    const forged = encodeMessage('health', { venueId, box, cameras: [camera(`${venueId}.cam-1`), camera(`${victim}.cam-1`)], sensors: [] });
    await client.publishAsync(topics.health(venueId), JSON.stringify(forged), { qos: 1 });
    const events = encodeMessage('events', {
      venueId,
      events: [{ id: crypto.randomUUID(), deviceId: `${victim}.cam-9`, roomId: null, kind: 'tamper', state: true, value: null, at: new Date().toISOString(), source: 'onvif', detail: null }],
    });
    await client.publishAsync(topics.events(venueId), JSON.stringify(events), { qos: 1 });
    await waitFor('both refused', () => (server.link.rejectedByVenue.get(venueId) ?? 0) >= before + 2, 10_000);
    const list = (await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList;
    expect(list.devices.some((d) => d.id.startsWith(victim))).toBe(false);
    expect(list.devices.some((d) => d.id === `${venueId}.cam-1`)).toBe(false);
    const ev = (await (await fetch(`${server.url}/api/events`, { headers: { cookie } })).json()) as RoomEventList;
    expect(ev.events.some((e) => e.deviceId.startsWith(victim))).toBe(false);

    const honest = encodeMessage('health', { venueId, box, cameras: [camera(`${venueId}.cam-1`)], sensors: [] });
    await client.publishAsync(topics.health(venueId), JSON.stringify(honest), { qos: 1 });
    await waitFor('honest report applied', async () => ((await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList).devices.some((d) => d.id === `${venueId}.cam-1`), 10_000);
  });

  it('ignores a stale (retained) report of a box that went offline, and accepts a fresh one', async () => {
    const devices = async () => ((await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList).devices;
    const sentBefore = new Date(Date.now() - 60_000).toISOString();
    await client.publishAsync(topics.status(venueId), JSON.stringify(encodeMessage('status', { venueId, online: false, agentVersion: 'test' })), { qos: 1 });
    await waitFor('box offline', async () => (await devices()).find((d) => d.id === venueId)?.online === false, 10_000);
    const stale = encodeMessage('health', { venueId, sentAt: sentBefore, box, cameras: [camera(`${venueId}.cam-1`)], sensors: [] });
    await client.publishAsync(topics.health(venueId), JSON.stringify(stale), { qos: 1 });
    await server.link.idle();
    expect((await devices()).find((d) => d.id === `${venueId}.cam-1`)!.online).toBe(false);
    expect((await devices()).find((d) => d.id === venueId)!.online).toBe(false);
    // Back: status online, then a fresh report.
    await client.publishAsync(topics.status(venueId), JSON.stringify(encodeMessage('status', { venueId, online: true, agentVersion: 'test' })), { qos: 1 });
    await client.publishAsync(topics.health(venueId), JSON.stringify(encodeMessage('health', { venueId, box, cameras: [camera(`${venueId}.cam-1`)], sensors: [] })), { qos: 1 });
    await waitFor('camera online again', async () => (await devices()).find((d) => d.id === `${venueId}.cam-1`)?.online, 10_000);
  });
});
