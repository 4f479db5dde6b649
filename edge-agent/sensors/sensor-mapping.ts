import type { SensorKind } from '../../protocol/index.ts';

/**
 * How the sensor formats people already publish map onto VenueWatch's room sensor kinds. Pure
 * functions: given a payload, what kind of sensor it is and what it says. Anything unexpected
 * throws a MalformedPayload naming the problem, which the hub counts and logs with the topic.
 */

export class MalformedPayload extends Error {
  override name = 'MalformedPayload';
}

export interface SensorReading {
  kind: SensorKind;
  /** On/off kinds (door open, occupied, shielding on, access granted). */
  state: boolean | null;
  value: number | string | null;
  battery: number | null;
  linkQuality: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function parseJsonObject(payload: Buffer, max = 64 * 1024): Record<string, unknown> {
  if (payload.length > max) throw new MalformedPayload(`payload of ${payload.length} bytes exceeds ${max}`);
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new MalformedPayload('payload is not JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new MalformedPayload('payload is not a JSON object');
  return json as Record<string, unknown>;
}

/**
 * Zigbee2MQTT device state (`zigbee2mqtt/<friendly_name>`). The kind comes from the first field a
 * sensor of that kind exposes; Zigbee2MQTT's `contact: true` means closed, so a door is open when false.
 */
export function fromZigbee2Mqtt(j: Record<string, unknown>): SensorReading {
  const battery = num(j['battery']);
  const linkQuality = num(j['linkquality']);
  const base = { battery: battery === null ? null : Math.max(0, Math.min(100, battery)), linkQuality };
  if (typeof j['contact'] === 'boolean') return { ...base, kind: 'door', state: !j['contact'], value: null };
  if (typeof j['occupancy'] === 'boolean') return { ...base, kind: 'occupancy', state: j['occupancy'], value: null };
  if (typeof j['presence'] === 'boolean') return { ...base, kind: 'occupancy', state: j['presence'], value: null };
  if (num(j['noise']) !== null) return { ...base, kind: 'noise', state: null, value: num(j['noise']) };
  if (typeof j['action'] === 'string') return { ...base, kind: 'access', state: null, value: j['action'].slice(0, 200) };
  if (num(j['temperature']) !== null) return { ...base, kind: 'temperature', state: null, value: num(j['temperature']) };
  if (num(j['humidity']) !== null) return { ...base, kind: 'humidity', state: null, value: num(j['humidity']) };
  if (num(j['power']) !== null) return { ...base, kind: 'power', state: null, value: num(j['power']) };
  if (typeof j['state'] === 'string' && /^(ON|OFF)$/i.test(j['state'])) return { ...base, kind: 'power', state: j['state'].toUpperCase() === 'ON', value: null };
  if (battery !== null || linkQuality !== null) return { ...base, kind: 'other', state: null, value: null };
  throw new MalformedPayload('no field VenueWatch understands (contact, occupancy, noise, action, temperature, humidity, power, state, battery, linkquality)');
}

/** A Home Assistant MQTT discovery config, reduced to what VenueWatch needs. */
export interface HaEntity {
  component: string;
  objectId: string;
  name: string;
  kind: SensorKind;
  stateTopic: string;
  payloadOn: string;
  payloadOff: string;
  /** Key path of `{{ value_json.a.b }}` templates; null = the payload itself. */
  valuePath: string[] | null;
  uniqueId: string | null;
}

export function haKind(component: string, deviceClass: string | null, name: string): SensorKind {
  const dc = (deviceClass ?? '').toLowerCase();
  if (/shield|屏蔽/i.test(name)) return 'shielding';
  if (['door', 'window', 'opening', 'garage_door'].includes(dc)) return 'door';
  if (['occupancy', 'motion', 'presence', 'moving'].includes(dc)) return 'occupancy';
  if (dc === 'temperature') return 'temperature';
  if (dc === 'humidity') return 'humidity';
  if (['power', 'energy', 'current', 'voltage', 'power_factor'].includes(dc)) return 'power';
  if (['sound_pressure', 'noise'].includes(dc)) return 'noise';
  if (component === 'lock' || component === 'event' || /access|门禁/i.test(name)) return 'access';
  return 'other';
}

export function fromHaConfig(component: string, objectId: string, j: Record<string, unknown>): HaEntity {
  const stateTopic = j['state_topic'] ?? j['stat_t'];
  if (typeof stateTopic !== 'string' || !stateTopic || /[#+]/.test(stateTopic)) throw new MalformedPayload('discovery config has no usable state_topic');
  const name = typeof j['name'] === 'string' && j['name'] ? j['name'].slice(0, 200) : objectId;
  const tpl = typeof j['value_template'] === 'string' ? j['value_template'] : typeof j['val_tpl'] === 'string' ? j['val_tpl'] : null;
  let valuePath: string[] | null = null;
  if (tpl) {
    const m = /^\{\{\s*value_json((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*(?:\|[^}]*)?\}\}$/.exec(tpl.trim());
    if (!m) throw new MalformedPayload(`value_template "${tpl.slice(0, 80)}" is not of the form {{ value_json.key }}`);
    valuePath = m[1]!.slice(1).split('.');
  }
  return {
    component,
    objectId,
    name,
    kind: haKind(component, typeof j['device_class'] === 'string' ? j['device_class'] : null, name),
    stateTopic,
    payloadOn: typeof j['payload_on'] === 'string' ? j['payload_on'] : 'ON',
    payloadOff: typeof j['payload_off'] === 'string' ? j['payload_off'] : 'OFF',
    valuePath,
    uniqueId: typeof j['unique_id'] === 'string' ? j['unique_id'] : null,
  };
}

export function fromHaState(e: HaEntity, payload: Buffer): SensorReading {
  if (payload.length > 64 * 1024) throw new MalformedPayload('state payload too large');
  let raw: unknown = payload.toString('utf8').trim();
  if (e.valuePath) {
    let node: unknown = parseJsonObject(payload);
    for (const k of e.valuePath) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
    if (node === undefined) throw new MalformedPayload(`state has no ${e.valuePath.join('.')}`);
    raw = node;
  }
  const base = { kind: e.kind, battery: null, linkQuality: null };
  const onOff = e.component === 'binary_sensor' || e.component === 'switch' || e.kind === 'door' || e.kind === 'occupancy' || e.kind === 'shielding';
  if (onOff) {
    const s = String(raw);
    if (s === e.payloadOn || raw === true) return { ...base, state: true, value: null };
    if (s === e.payloadOff || raw === false) return { ...base, state: false, value: null };
    throw new MalformedPayload(`state "${s.slice(0, 40)}" is neither "${e.payloadOn}" nor "${e.payloadOff}"`);
  }
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (e.kind === 'access') return { ...base, state: null, value: String(raw).slice(0, 200) };
  if (!Number.isFinite(n)) throw new MalformedPayload(`state "${String(raw).slice(0, 40)}" is not a number`);
  return { ...base, state: null, value: n };
}
