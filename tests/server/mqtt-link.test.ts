import { randomBytes, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, topics, type MessageOf, type VenueList } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { SegmentRepository } from '../../server/repositories/segments.ts';
import { MOSQUITTO_URL, csrf, login, serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

const PASSWORD = 'correct horse battery';

function inventory(venueId: string, extra: { id?: string } = {}) {
  return encodeMessage('inventory', {
    ...extra,
    venueId,
    venue: { id: venueId, name: `Venue ${venueId}` },
    rooms: [{ id: `${venueId}.opening-1`, name: '开标室 1', kind: 'bid_opening' }],
    cameras: [
      {
        id: `${venueId}.cam-1`,
        roomId: `${venueId}.opening-1`,
        name: 'Opening room east',
        endpoint: 'urn:uuid:1',
        manufacturer: 'Hikvision',
        model: 'DS-2CD',
        serial: 'S1',
        firmware: '5.7',
        xaddr: 'http://10.0.0.5/onvif/device_service',
        streamUri: 'rtsp://10.0.0.5/Streaming/101',
        videoCodec: 'h264',
        audioCodec: 'aac',
        recording: true,
        lastError: null,
      },
    ],
  });
}

function segment(cameraId: string, startMs: number, seconds = 2) {
  return {
    id: randomUUID(),
    cameraId,
    runId: randomUUID(),
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + seconds * 1000).toISOString(),
    bytes: 1234,
    sha256: 'a'.repeat(64),
    hasAudio: true,
  };
}

async function connectVenue(url: string, venueId: string, token: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, username: venueId, password: token, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
}

describe.each(['embedded', 'mosquitto'] as const)('venue link over the %s broker', (brokerKind) => {
  const venueId = uniqueVenueId('mq');
  const otherVenue = uniqueVenueId('mq');
  const token = randomBytes(24).toString('hex');
  const otherToken = randomBytes(24).toString('hex');
  const tmp = tempDir('mqtt');
  let server: RunningServer;
  let box: MqttClient;
  let cookie: string;

  const publish = (topic: string, payload: unknown, client = box) =>
    client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });

  beforeAll(async () => {
    server = await startServer(
      serverConfig(tmp.dir, {
        mqtt: { url: brokerKind === 'mosquitto' ? MOSQUITTO_URL : null, embeddedPort: 0 },
        agents: [
          { venueId, token },
          { venueId: otherVenue, token: otherToken },
        ],
      }),
      { logger: silent },
    );
    await server.services.auth.createUser({ username: 'sup', password: PASSWORD, displayName: 'Supervisor', role: 'supervisor' });
    cookie = await login(server.url, 'sup', PASSWORD);
    const will = { topic: topics.status(venueId), payload: Buffer.from(JSON.stringify(encodeMessage('status', { venueId, online: false, agentVersion: 'test' }))), qos: 1 as const, retain: true };
    box = await connectVenue(server.brokerUrl, venueId, token, { will });
  });

  afterAll(async () => {
    box?.end(true);
    if (brokerKind === 'mosquitto') {
      // Mosquitto is shared: leave no retained messages behind.
      const cleaner = await mqtt.connectAsync(MOSQUITTO_URL, { protocolVersion: 4, reconnectPeriod: 0 });
      for (const v of [venueId, otherVenue]) for (const t of Object.values(topics)) await cleaner.publishAsync(t(v), '', { qos: 1, retain: true });
      await cleaner.endAsync();
    }
    await server?.stop();
    tmp.remove();
  });

  const venues = async (): Promise<VenueList> => (await (await fetch(`${server.url}/api/venues`, { headers: { cookie } })).json()) as VenueList;

  it('takes in status, inventory and segments as a venue box publishes them', async () => {
    await box.publishAsync(topics.status(venueId), JSON.stringify(encodeMessage('status', { venueId, online: true, agentVersion: '0.1.0' })), { qos: 1, retain: true });
    await box.publishAsync(topics.inventory(venueId), JSON.stringify(inventory(venueId)), { qos: 1, retain: true });
    const start = Date.now() - 60_000;
    const segs = [segment(`${venueId}.cam-1`, start), segment(`${venueId}.cam-1`, start + 2000)];
    await publish(topics.segments(venueId), encodeMessage('segments', { venueId, segments: segs }));

    const venue = await waitFor('the venue with its camera', async () => {
      const v = (await venues()).venues.find((x) => x.id === venueId);
      return v?.online && v.cameras[0]?.lastSegmentEnd ? v : null;
    });
    expect(venue.rooms).toEqual([{ id: `${venueId}.opening-1`, name: '开标室 1', kind: 'bid_opening' }]);
    expect(venue.cameras[0]).toMatchObject({ id: `${venueId}.cam-1`, online: true, recording: true, videoCodec: 'h264', lastSegmentEnd: segs[1]!.end });
    const rows = await new SegmentRepository(server.db).overlapping(`${venueId}.cam-1`, new Date(start), new Date(start + 4000));
    expect(rows.map((r) => r.id)).toEqual(segs.map((s) => s.id));
  });

  it('publishes retained upload windows after a session is booked', async () => {
    const plannedStart = new Date(Date.now() + 3600_000);
    const plannedEnd = new Date(plannedStart.getTime() + 2 * 3600_000);
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', ...csrf(cookie) },
      body: JSON.stringify({ projectCode: 'ZB-2026-001', projectName: 'School roof', kind: 'bid_opening', roomId: `${venueId}.opening-1`, plannedStart: plannedStart.toISOString(), plannedEnd: plannedEnd.toISOString() }),
    });
    expect(res.status).toBe(201);
    const session = (await res.json()) as { id: string };

    // A box that subscribes afterwards gets the retained windows at once.
    const listener = await connectVenue(server.brokerUrl, venueId, token);
    try {
      const windows = await new Promise<MessageOf<'windows'>>((resolve, reject) => {
        listener.on('message', (topic, payload) => {
          const decoded = decodeMessage('windows', venueId, payload);
          if (!decoded.ok) return reject(new Error(decoded.error));
          if (decoded.message.windows.some((w) => w.ownerId === session.id)) resolve(decoded.message);
        });
        void listener.subscribeAsync(topics.windows(venueId), { qos: 1 });
      });
      expect(windows.windows).toContainEqual({
        roomId: `${venueId}.opening-1`,
        from: new Date(plannedStart.getTime() - 10 * 60_000).toISOString(),
        to: new Date(plannedEnd.getTime() + 10 * 60_000).toISOString(),
        reason: 'session',
        ownerId: session.id,
      });
    } finally {
      await listener.endAsync();
    }
  });

  it('rejects and counts malformed or mis-addressed messages, and still handles the next good one', async () => {
    const before = { ...server.link.counters };
    const rejectedBefore = server.link.rejectedByVenue.get(venueId) ?? 0;
    await publish(topics.segments(venueId), '{"not": json');
    await publish(topics.segments(venueId), encodeMessage('segments', { venueId: otherVenue, segments: [segment(`${otherVenue}.cam-1`, Date.now())] }));
    // Right venue on the topic and envelope, but a camera of another venue inside.
    await publish(topics.segments(venueId), encodeMessage('segments', { venueId, segments: [segment(`${otherVenue}.cam-1`, Date.now())] }));
    const good = segment(`${venueId}.cam-1`, Date.now() - 10_000);
    await publish(topics.segments(venueId), encodeMessage('segments', { venueId, segments: [good] }));
    await waitFor('the good batch', async () => (await new SegmentRepository(server.db).get(good.id)) !== null);
    await server.link.idle();
    // Per venue: other test files may publish on the shared Mosquitto meanwhile.
    expect((server.link.rejectedByVenue.get(venueId) ?? 0) - rejectedBefore).toBe(3);
    expect(server.link.counters.rejected - before.rejected).toBeGreaterThanOrEqual(3);
    expect(server.link.counters.processed - before.processed).toBe(1);
    expect(await new SegmentRepository(server.db).overlapping(`${otherVenue}.cam-1`, new Date(0), new Date(Date.now() + 60_000))).toEqual([]);
  });

  it('drops duplicate message ids', async () => {
    const before = { ...server.link.counters };
    const message = encodeMessage('segments', { venueId, segments: [segment(`${venueId}.cam-1`, Date.now() - 20_000)] });
    await publish(topics.segments(venueId), message);
    await publish(topics.segments(venueId), message);
    await waitFor('both copies', () => server.link.counters.received - before.received >= 2);
    await server.link.idle();
    expect(server.link.counters.processed - before.processed).toBe(1);
    expect(server.link.counters.duplicates - before.duplicates).toBe(1);
  });

  it('marks the venue offline when its box drops (retained last will)', async () => {
    box.stream.destroy();
    await waitFor('the venue offline', async () => (await venues()).venues.find((v) => v.id === venueId)?.online === false);
    const venue = (await venues()).venues.find((v) => v.id === venueId)!;
    expect(venue.cameras[0]!.online).toBe(false);
  });
});

describe('embedded broker access control', () => {
  const venueId = uniqueVenueId('acl');
  const otherVenue = uniqueVenueId('acl');
  const token = randomBytes(24).toString('hex');
  const otherToken = randomBytes(24).toString('hex');
  const tmp = tempDir('acl');
  let server: RunningServer;
  const publish = (topic: string, payload: unknown, client: MqttClient) => client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  const venues = async (): Promise<VenueList> => ({ venues: (await server.services.venues.list({ venueIds: null })).venues });

  beforeAll(async () => {
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }, { venueId: otherVenue, token: otherToken }] }), { logger: silent });
  });
  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });

  it('refuses a box with a wrong token', async () => {
    await expect(connectVenue(server.brokerUrl, venueId, 'wrong-token-wrong-token')).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(connectVenue(server.brokerUrl, 'nobody-here', token)).rejects.toThrow(/Bad username or password|Not authorized/i);
  });

  it("confines a box to its own venue's topics", async () => {
    const intruder = await connectVenue(server.brokerUrl, otherVenue, otherToken);
    const honest = await connectVenue(server.brokerUrl, venueId, token);
    try {
      const before = { ...server.link.counters };
      intruder.on('error', () => {});
      // QoS 0: a refused QoS 1 publish may leave the client waiting for a PUBACK that never comes.
      intruder.publish(topics.inventory(venueId), JSON.stringify(inventory(venueId, { id: randomUUID() })), { qos: 0 });
      intruder.publish(topics.status(venueId), JSON.stringify(encodeMessage('status', { venueId, online: true, agentVersion: 'x' })), { qos: 0 });
      // Its own windows topic is the only subscription it gets.
      const granted = await intruder.subscribeAsync(topics.windows(venueId)).catch(() => [{ qos: 128 }]);
      expect(granted[0]!.qos).toBe(128);
      const good = segment(`${venueId}.cam-1`, Date.now() - 30_000);
      await publish(topics.segments(venueId), encodeMessage('segments', { venueId, segments: [good] }), honest);
      await waitFor('the honest batch', async () => (await new SegmentRepository(server.db).get(good.id)) !== null);
      await server.link.idle();
      expect(server.link.counters.received - before.received).toBe(1);
      expect((await venues()).venues.find((v) => v.id === venueId)).toBeUndefined();
    } finally {
      intruder.end(true);
      await honest.endAsync();
    }
  });
});
