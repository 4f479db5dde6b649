import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { decodeMessage, encodeMessage, topics } from '../../protocol/index.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../server/broker/embedded-broker.ts';
import { need, type Check } from '../support/prerequisites.ts';
import { agentConfig, clearRetained, fakeSegment, freePort, observe, quietLogger, scratchDir, uniqueVenue, waitFor, type Observer } from './agent-fixture.ts';

const TOKEN = 'edge-test-token-0123456789';

function mosquittoUp(): Promise<Check> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve({ ok: true })));
    const fail = () => (s.destroy(), resolve({ ok: false, reason: 'Mosquitto not listening on 127.0.0.1:1883: apt-get install mosquitto' }));
    s.once('error', fail);
    s.once('timeout', fail);
    s.connect(1883, '127.0.0.1');
  });
}
const mosquitto = await mosquittoUp();

interface Broker {
  url: string;
  observerAuth?: { username: string; password: string };
  close(): Promise<void>;
}

const brokers: Record<string, { run: boolean; start(venueId: string): Promise<Broker> }> = {
  'in-process aedes (server/broker)': {
    run: true,
    async start(venueId) {
      const b: EmbeddedBroker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, agents: [{ venueId, token: TOKEN }], logger: quietLogger() });
      return { url: b.url, observerAuth: b.centreCredentials, close: () => b.close() };
    },
  },
  'Mosquitto on 127.0.0.1:1883': {
    run: need(mosquitto),
    async start() {
      return { url: 'mqtt://127.0.0.1:1883', close: async () => {} };
    },
  },
};

for (const [name, kind] of Object.entries(brokers)) {
  describe.runIf(kind.run)(`MQTT link via ${name}`, () => {
    const venueId = uniqueVenue('mqtt');
    const scratch = scratchDir('mqtt');
    let broker: Broker;
    let agent: Agent;
    let obs: Observer;
    const decoded = <K extends 'status' | 'inventory' | 'segments'>(kind: K) =>
      obs.messages
        .filter((m) => m.topic === topics[kind](venueId) && m.payload.length > 0)
        .map((m) => {
          const d = decodeMessage(kind, venueId, m.payload);
          if (!d.ok) throw new Error(`agent sent an invalid ${kind}: ${d.error}`);
          return { ...d.message, retained: m.retain };
        });

    beforeAll(async () => {
      broker = await kind.start(venueId);
      obs = await observe(broker.url, venueId, broker.observerAuth);
      const unreachable = await freePort();
      agent = await startAgent(
        agentConfig({
          venue: { id: venueId, name: 'Test venue' },
          rooms: [{ code: 'open-1', name: 'Bid opening room 1', kind: 'bid_opening' }],
          // Nothing listens there: the camera must be reported with its error, not block the agent.
          cameras: [{ code: 'cam-1', name: 'Front', room: 'open-1', address: `127.0.0.1:${unreachable}` }],
          mqtt: { url: broker.url },
          centre: { url: 'http://127.0.0.1:9', token: TOKEN },
          dataDir: scratch.dir,
        }),
        { logger: quietLogger() },
      );
    });

    afterAll(async () => {
      await agent?.stop();
      await obs?.close();
      await clearRetained(broker.url, venueId, broker.observerAuth).catch(() => {});
      await broker?.close();
      scratch.remove();
    });

    it('publishes a retained online status and a valid inventory on connect', async () => {
      await waitFor('online status', () => decoded('status').some((s) => s.online));
      const inv = await waitFor('inventory naming the camera', () => decoded('inventory').find((i) => i.cameras.length === 1));
      expect(inv.venue).toEqual({ id: venueId, name: 'Test venue' });
      expect(inv.rooms).toEqual([{ id: `${venueId}.open-1`, name: 'Bid opening room 1', kind: 'bid_opening' }]);
      const cam = inv.cameras[0]!;
      expect(cam.id).toBe(`${venueId}.cam-1`);
      expect(cam.roomId).toBe(`${venueId}.open-1`);
      expect(cam.recording).toBe(false);
      expect(cam.lastError).toMatch(/cannot reach ONVIF service/);

      // Retained: a client arriving later still gets both.
      const late = await observe(broker.url, venueId, broker.observerAuth);
      try {
        await waitFor('retained status + inventory', () =>
          late.messages.some((m) => m.retain && m.topic === topics.status(venueId)) && late.messages.some((m) => m.retain && m.topic === topics.inventory(venueId)),
        );
      } finally {
        await late.close();
      }
    });

    it('sends catalogued segments in validated batches through the outbox', async () => {
      const segs = Array.from({ length: 5 }, (_, i) => fakeSegment(`${venueId}.cam-1`, Date.now() - 60_000 + i * 2000, scratch.dir));
      for (const s of segs) agent.catalogue.addSegment(s);
      await waitFor('all five segments', () => {
        const got = new Set(decoded('segments').flatMap((b) => b.segments.map((s) => s.id)));
        return segs.every((s) => got.has(s.id));
      });
      await waitFor('outbox emptied by PUBACKs', () => agent.catalogue.outboxSize() === 0);
    });

    it('ignores a malformed windows message and applies the next good one', async () => {
      const pub = (payload: string) => obs.client.publishAsync(topics.windows(venueId), payload, { qos: 1, retain: true });
      await pub('not json at all');
      await pub(JSON.stringify({ v: 1, type: 'windows', id: 'nope', venueId, sentAt: new Date().toISOString(), windows: [] }));
      // Another venue's message on this venue's topic must be refused as well.
      await pub(JSON.stringify(encodeMessage('windows', { venueId: 'someone-else', windows: [] })));
      await new Promise((r) => setTimeout(r, 300));
      expect(agent.uploader.currentWindows()).toEqual([]);
      const window = { roomId: `${venueId}.open-1`, from: new Date(Date.now() - 3600_000).toISOString(), to: null, reason: 'session' as const, ownerId: crypto.randomUUID() };
      await pub(JSON.stringify(encodeMessage('windows', { venueId, windows: [window] })));
      await waitFor('windows applied', () => agent.uploader.currentWindows().length === 1);
      expect(agent.uploader.currentWindows()[0]).toEqual(window);
    });

    it('leaves an offline status as its last will when the connection dies', async () => {
      const before = obs.messages.length;
      agent.link.destroySocket();
      await waitFor('offline status from the will', () =>
        obs.messages.slice(before).some((m) => m.topic === topics.status(venueId) && decodeMessage('status', venueId, m.payload).ok && JSON.parse(m.payload.toString()).online === false),
      );
      // …and comes back online by itself.
      await waitFor('online again', () => agent.link.connected, 15_000);
      await waitFor('online status again', () =>
        obs.messages.slice(before).some((m) => m.topic === topics.status(venueId) && m.payload.length > 0 && JSON.parse(m.payload.toString()).online === true),
      );
    });

    it('says offline (retained) on a graceful stop', async () => {
      const before = obs.messages.length;
      await agent.stop();
      await waitFor('graceful offline', () =>
        obs.messages.slice(before).some((m) => m.topic === topics.status(venueId) && m.payload.length > 0 && JSON.parse(m.payload.toString()).online === false),
      );
    });
  });
}
