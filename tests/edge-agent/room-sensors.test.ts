import { randomBytes, randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { sensorLocalId } from '../../edge-agent/sensors/sensor-hub.ts';
import { fromHaConfig, fromHaState, fromZigbee2Mqtt } from '../../edge-agent/sensors/sensor-mapping.ts';
import type { DeviceList, RoomEventList } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { csrf, login, serverConfig, silent, tempDir } from '../server/support.ts';
import { need, type Check } from '../support/prerequisites.ts';
import { agentConfig, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

const MOSQUITTO = 'mqtt://127.0.0.1:1883';
const mosquitto = await new Promise<Check>((resolve) => {
  const s = new Socket();
  const fail = () => (s.destroy(), resolve({ ok: false, reason: 'Mosquitto not listening on 127.0.0.1:1883: apt-get install mosquitto' }));
  s.setTimeout(1000, fail);
  s.once('error', fail);
  s.connect(1883, '127.0.0.1', () => (s.destroy(), resolve({ ok: true })));
});

describe('sensor payload mapping', () => {
  it('maps Zigbee2MQTT fields to kinds (contact false = door open)', () => {
    expect(fromZigbee2Mqtt({ contact: false, battery: 91, linkquality: 120 })).toEqual({ kind: 'door', state: true, value: null, battery: 91, linkQuality: 120 });
    expect(fromZigbee2Mqtt({ occupancy: true })).toMatchObject({ kind: 'occupancy', state: true });
    expect(fromZigbee2Mqtt({ temperature: 22.5, humidity: 40 })).toMatchObject({ kind: 'temperature', value: 22.5 });
    expect(() => fromZigbee2Mqtt({ foo: 1 })).toThrow(/no field/);
  });

  it('maps Home Assistant discovery configs and their states', () => {
    const e = fromHaConfig('sensor', 'room_temp', { name: 'Room temperature', device_class: 'temperature', state_topic: 'x/state', value_template: '{{ value_json.temperature }}' });
    expect(e.kind).toBe('temperature');
    expect(fromHaState(e, Buffer.from('{"temperature": 23.1}'))).toMatchObject({ value: 23.1 });
    const shield = fromHaConfig('binary_sensor', 'shield', { name: 'Signal shielding', state_topic: 'y' });
    expect(shield.kind).toBe('shielding');
    expect(fromHaState(shield, Buffer.from('ON')).state).toBe(true);
    expect(() => fromHaState(shield, Buffer.from('maybe'))).toThrow(/neither/);
    expect(() => fromHaConfig('sensor', 'x', { name: 'no topic' })).toThrow(/state_topic/);
  });
});

/**
 * Room sensors on the venue's own broker (Mosquitto here; topic prefixes unique to this run):
 * a Zigbee2MQTT door sensor and a Home Assistant discovery temperature sensor reach the centre's
 * device API with battery and link quality; the door opening is a room event in the room the
 * sensor was assigned to at the centre; malformed payloads are counted per topic and stop nothing.
 */
describe.runIf(need(mosquitto))('room sensors from Zigbee2MQTT and Home Assistant discovery', () => {
  const venueId = uniqueVenue('sens');
  const token = randomBytes(24).toString('hex');
  const tag = randomUUID().slice(0, 8);
  const prefixes = { zigbee2mqttPrefix: `z2m-${tag}`, homeAssistantPrefix: `ha-${tag}`, nativePrefix: `vw-${tag}` };
  const tmp = tempDir('sensors');
  const scratch = scratchDir('sensors');
  let server: RunningServer;
  let agent: Agent;
  let pub: MqttClient;
  let cookie: string;
  const doorId = `${venueId}.${sensorLocalId('z2m', 'eval_door')}`;
  const roomId = `${venueId}.eval-1`;
  const devices = async (): Promise<DeviceList> => (await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList;

  beforeAll(async () => {
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }] }), { logger: silent });
    await server.services.auth.createUser({ username: 'maint', password: 'sensor-pass-1', displayName: 'Maintenance', role: 'maintenance' });
    cookie = await login(server.url, 'maint', 'sensor-pass-1');
    const nowhere = await freePort();
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Sensor venue' },
        rooms: [{ code: 'eval-1', name: 'Evaluation room 1', kind: 'evaluation' }],
        mqtt: { url: server.brokerUrl, keepaliveSeconds: 10 },
        centre: { url: `http://127.0.0.1:${nowhere}`, token },
        dataDir: scratch.dir,
        health: { intervalSeconds: 1, clockDriftMs: 2000, clockCheckMinutes: 60, metrics: { host: '127.0.0.1', port: 0 } },
        sensors: { brokerUrl: MOSQUITTO, username: null, password: null, offlineAfterSeconds: 60, ...prefixes },
      }),
      { logger: quietLogger() },
    );
    pub = await mqtt.connectAsync(MOSQUITTO, { protocolVersion: 4, clientId: `sensor-pub-${tag}` });
  }, 60_000);

  afterAll(async () => {
    if (pub) {
      // Mosquitto is shared: clear the retained discovery config.
      await pub.publishAsync(`${prefixes.homeAssistantPrefix}/sensor/room_temp/config`, '', { qos: 1, retain: true });
      await pub.endAsync();
    }
    await agent?.stop();
    await server?.stop();
    scratch.remove();
    tmp.remove();
  });

  it('brings a Zigbee2MQTT door sensor and a HA discovery sensor to the centre, despite malformed payloads', async () => {
    await waitFor('sensor broker subscription', async () => {
      await pub.publishAsync(`${prefixes.zigbee2mqttPrefix}/eval_door`, JSON.stringify({ contact: true, battery: 87, linkquality: 142 }), { qos: 1 });
      return agent.sensors!.health().some((s) => s.id === doorId);
    }, 10_000, 300);
    // Garbage on the same and other topics: counted, logged, nothing else stops.
    await pub.publishAsync(`${prefixes.zigbee2mqttPrefix}/eval_door`, 'not json {', { qos: 1 });
    await pub.publishAsync(`${prefixes.nativePrefix}/mic-1`, JSON.stringify({ v: 1, kind: 'loudness' }), { qos: 1 });
    await pub.publishAsync(`${prefixes.homeAssistantPrefix}/sensor/room_temp/config`, JSON.stringify({
      name: 'Evaluation room temperature',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      unique_id: `temp-${tag}`,
      state_topic: `${prefixes.homeAssistantPrefix}-state/room_temp`,
      value_template: '{{ value_json.temperature }}',
    }), { qos: 1, retain: true });
    await pub.publishAsync(`${prefixes.nativePrefix}/shield-1`, JSON.stringify({ v: 1, kind: 'shielding', name: 'Shielding', state: true }), { qos: 1 });
    await waitFor('HA entity discovered', () => agent.sensors!.health().length >= 2, 10_000);
    await waitFor('HA temperature state', async () => {
      await pub.publishAsync(`${prefixes.homeAssistantPrefix}-state/room_temp`, JSON.stringify({ temperature: 23.4 }), { qos: 1 });
      return agent.sensors!.health().some((s) => s.kind === 'temperature' && s.value === 23.4);
    }, 10_000, 300);
    expect(agent.sensors!.malformed.get(`${prefixes.zigbee2mqttPrefix}/eval_door`)).toBe(1);
    expect(agent.sensors!.malformed.get(`${prefixes.nativePrefix}/mic-1`)).toBe(1);

    const list = await waitFor('sensors at the centre', async () => {
      const l = await devices();
      return l.devices.filter((d) => d.kind === 'sensor').length >= 3 ? l : null;
    }, 15_000);
    const door = list.devices.find((d) => d.id === doorId)!;
    expect(door.sensor).toMatchObject({ kind: 'door', battery: 87, linkQuality: 142, value: false });
    expect(door.online).toBe(true);
    const temp = list.devices.find((d) => d.sensor?.kind === 'temperature')!;
    expect(temp.name).toBe('Evaluation room temperature');
    expect(temp.sensor!.value).toBe(23.4);
    expect(list.devices.find((d) => d.sensor?.kind === 'shielding')!.sensor!.value).toBe(true);
  }, 60_000);

  it('assigns the door sensor to a room at the centre; its opening is a room event there', async () => {
    const put = await fetch(`${server.url}/api/sensors/${encodeURIComponent(doorId)}/room`, {
      method: 'PUT',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({ roomId }),
    });
    expect(put.status).toBe(200);
    const forged = await fetch(`${server.url}/api/sensors/${encodeURIComponent(doorId)}/room`, {
      method: 'PUT',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({ roomId: 'other-venue.room-1' }),
    });
    expect(forged.status).toBe(400);
    await pub.publishAsync(`${prefixes.zigbee2mqttPrefix}/eval_door`, JSON.stringify({ contact: false, battery: 86, linkquality: 140 }), { qos: 1 });
    const opened = await waitFor('door-open event in the room', async () => {
      const l = (await (await fetch(`${server.url}/api/events?roomId=${encodeURIComponent(roomId)}`, { headers: { cookie } })).json()) as RoomEventList;
      return l.events.find((e) => e.deviceId === doorId && e.kind === 'door' && e.state === true);
    }, 15_000);
    expect(opened.source).toBe('sensor');
    const d = await waitFor('door device in the room', async () => (await devices()).devices.find((x) => x.id === doorId && x.roomId === roomId && x.sensor?.battery === 86), 10_000);
    expect(d.sensor!.roomId).toBe(roomId);
  }, 40_000);
});
