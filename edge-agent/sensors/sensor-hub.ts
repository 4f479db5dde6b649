import { createHash, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { deviceId, NativeSensorReading, type RoomEvent, type RoomEventKind, type SensorHealth, type SensorKind } from '../../protocol/index.ts';
import { fromHaConfig, fromHaState, fromZigbee2Mqtt, MalformedPayload, parseJsonObject, type HaEntity, type SensorReading } from './sensor-mapping.ts';

/**
 * Room sensors on the venue's own MQTT broker, in the three forms accepted: Zigbee2MQTT device
 * topics, Home Assistant MQTT discovery (config + state topics) and the native VenueWatch schema.
 * Every payload is checked; a malformed one is counted and logged with its topic and never stops
 * the other sensors. Changes of on/off sensors become room events.
 */

interface SensorState {
  id: string;
  name: string;
  kind: SensorKind;
  roomId: string | null;
  lastSeen: number;
  battery: number | null;
  linkQuality: number | null;
  value: number | string | boolean | null;
  state: boolean | null;
}

const EVENT_KINDS: Partial<Record<SensorKind, RoomEventKind>> = { door: 'door', occupancy: 'occupancy', shielding: 'shielding', access: 'access', noise: 'noise', power: 'power' };

/** A local id from any name: readable when it can be, unique always. */
export function sensorLocalId(prefix: string, name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${prefix}-${slug ? `${slug}-` : ''}${hash}`.slice(0, 63);
}

const matchTopic = (topic: string, prefix: string): string[] | null => (topic.startsWith(`${prefix}/`) ? topic.slice(prefix.length + 1).split('/') : null);

export class SensorHub {
  private client: MqttClient | null = null;
  private readonly sensors = new Map<string, SensorState>();
  private readonly haByStateTopic = new Map<string, HaEntity[]>();
  /** Malformed payloads per topic (health and tests). */
  readonly malformed = new Map<string, number>();
  private readonly log: Logger;

  constructor(
    private readonly o: {
      config: EdgeAgentConfig;
      logger: Logger;
      onEvent: (e: RoomEvent) => void;
      onChange: () => void;
    },
  ) {
    this.log = o.logger.child({ part: 'sensors' });
  }

  get malformedTotal(): number {
    return [...this.malformed.values()].reduce((a, b) => a + b, 0);
  }

  start(): void {
    const s = this.o.config.sensors;
    if (!s.brokerUrl) return;
    const client = mqtt.connect(s.brokerUrl, {
      protocolVersion: 4,
      clientId: `vw-sensors-${this.o.config.venue.id}-${randomUUID().slice(0, 6)}`,
      username: s.username ?? undefined,
      password: s.password ?? undefined,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    this.client = client;
    client.on('message', (topic, payload) => this.handle(topic, payload));
    client.on('connect', () => {
      const subs = [`${s.zigbee2mqttPrefix}/+`, `${s.homeAssistantPrefix}/+/+/config`, `${s.homeAssistantPrefix}/+/+/+/config`, `${s.nativePrefix}/+`, ...this.haByStateTopic.keys()];
      client.subscribe(subs, { qos: 1 }, (err) => {
        if (err) this.log.error({ err: err.message, url: s.brokerUrl }, 'cannot subscribe to sensor topics: check the sensor broker ACL');
      });
      this.log.info({ url: s.brokerUrl }, 'connected to the venue sensor broker');
    });
    client.on('error', (err) => this.log.warn({ err: err.message, url: s.brokerUrl }, 'sensor broker error'));
  }

  private bad(topic: string, why: string): void {
    this.malformed.set(topic, (this.malformed.get(topic) ?? 0) + 1);
    this.log.warn({ topic, err: why, count: this.malformed.get(topic) }, 'malformed sensor payload ignored');
  }

  private handle(topic: string, payload: Buffer): void {
    const s = this.o.config.sensors;
    try {
      if (payload.length === 0) return; // a cleared retained message
      const ha = matchTopic(topic, s.homeAssistantPrefix);
      if (ha && ha.at(-1) === 'config' && (ha.length === 3 || ha.length === 4)) return this.haConfig(ha[0]!, ha.slice(1, -1).join('-'), payload);
      const haEntities = this.haByStateTopic.get(topic);
      if (haEntities) {
        for (const e of haEntities) this.update(this.haId(e), e.name, fromHaState(e, payload));
        return;
      }
      const z2m = matchTopic(topic, s.zigbee2mqttPrefix);
      if (z2m && z2m.length === 1) {
        if (z2m[0] === 'bridge') return;
        return this.update(deviceId(this.o.config.venue.id, sensorLocalId('z2m', z2m[0]!)), z2m[0]!, fromZigbee2Mqtt(parseJsonObject(payload)));
      }
      const native = matchTopic(topic, s.nativePrefix);
      if (native && native.length === 1) {
        if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(native[0]!)) throw new MalformedPayload('sensor code in the topic must be lowercase letters, digits or "-"');
        const parsed = NativeSensorReading.safeParse(parseJsonObject(payload));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new MalformedPayload(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
        }
        const r = parsed.data;
        return this.update(deviceId(this.o.config.venue.id, native[0]!), r.name ?? native[0]!, {
          kind: r.kind,
          state: r.state ?? null,
          value: r.value ?? null,
          battery: r.battery ?? null,
          linkQuality: r.linkQuality ?? null,
        });
      }
    } catch (err) {
      this.bad(topic, err instanceof MalformedPayload ? err.message : `unexpected: ${(err as Error).message}`);
    }
  }

  private haId(e: HaEntity): string {
    return deviceId(this.o.config.venue.id, sensorLocalId('ha', e.uniqueId ?? `${e.component}-${e.objectId}`));
  }

  private haConfig(component: string, objectId: string, payload: Buffer): void {
    const e = fromHaConfig(component, objectId, parseJsonObject(payload));
    const list = (this.haByStateTopic.get(e.stateTopic) ?? []).filter((x) => !(x.component === e.component && x.objectId === e.objectId));
    const fresh = list.length === 0 && !this.haByStateTopic.has(e.stateTopic);
    this.haByStateTopic.set(e.stateTopic, [...list, e]);
    if (fresh) this.client?.subscribe(e.stateTopic, { qos: 1 });
    this.log.info({ sensor: this.haId(e), kind: e.kind, stateTopic: e.stateTopic }, 'Home Assistant sensor discovered');
  }

  private update(id: string, name: string, r: SensorReading): void {
    const prev = this.sensors.get(id);
    const next: SensorState = {
      id,
      name: name.slice(0, 200),
      kind: r.kind,
      roomId: prev?.roomId ?? null,
      lastSeen: Date.now(),
      battery: r.battery ?? prev?.battery ?? null,
      linkQuality: r.linkQuality ?? prev?.linkQuality ?? null,
      value: r.state ?? r.value,
      state: r.state,
    };
    this.sensors.set(id, next);
    const eventKind = EVENT_KINDS[r.kind];
    // On/off sensors: an event on every change (and the first reading); access: every reading.
    if (eventKind && ((r.state !== null && r.state !== prev?.state) || r.kind === 'access')) {
      this.o.onEvent({
        id: randomUUID(),
        deviceId: id,
        roomId: next.roomId,
        kind: eventKind,
        state: r.state,
        value: typeof r.value === 'number' || typeof r.value === 'string' ? r.value : null,
        at: new Date().toISOString(),
        source: 'sensor',
        detail: next.name,
      });
    }
    if (!prev || prev.value !== next.value || prev.battery !== next.battery) this.o.onChange();
  }

  health(now = Date.now()): SensorHealth[] {
    const offlineMs = this.o.config.sensors.offlineAfterSeconds * 1000;
    return [...this.sensors.values()].map((s) => ({
      id: s.id,
      roomId: s.roomId,
      name: s.name,
      kind: s.kind,
      online: now - s.lastSeen < offlineMs,
      lastSeen: new Date(s.lastSeen).toISOString(),
      battery: s.battery,
      linkQuality: s.linkQuality,
      value: s.value,
    }));
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await c.endAsync(true);
  }
}
