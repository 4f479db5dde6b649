import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { deviceId } from '../../protocol/index.ts';
import { describeDevice, parseDeviceAddress, probeInterface, type DeviceDescription, type ProbeHit } from './onvif-device.ts';

/**
 * Finds the venue's cameras: the ones configured by address, plus (only when interfaces are named)
 * those answering a WS-Discovery probe there. Each camera is asked for its identity and stream on
 * its own, so one that fails (wrong password, switched off) never holds up the others.
 */

export interface FoundCamera {
  id: string;
  code: string | null;
  roomId: string | null;
  name: string;
  username: string;
  password: string;
  address: string;
  description: DeviceDescription | null;
  error: string | null;
}

const PROBE_ROUNDS = 3;

/** Id of a camera nobody configured: stable across IP changes because it hashes the endpoint. */
export function unlistedCameraId(venueId: string, endpoint: string): string {
  return deviceId(venueId, `cam-${createHash('sha256').update(endpoint).digest('hex').slice(0, 8)}`);
}

const hostPort = (xaddr: string): string => {
  try {
    const a = parseDeviceAddress(xaddr);
    return `${a.hostname}:${a.port}`;
  } catch {
    return xaddr;
  }
};

async function probeAll(config: EdgeAgentConfig, logger: Logger): Promise<ProbeHit[]> {
  const d = config.discovery;
  if (!d.enabled || d.interfaces.length === 0) return [];
  const hits = new Map<string, ProbeHit>();
  for (const iface of d.interfaces) {
    // UDP multicast gets lost: probe a few times and merge the answers.
    for (let round = 0; round < PROBE_ROUNDS; round++) {
      try {
        for (const h of await probeInterface(iface, d.timeoutMs)) hits.set(h.endpoint, h);
      } catch (err) {
        logger.error({ iface, err: (err as Error).message }, 'WS-Discovery probe failed');
        break;
      }
    }
  }
  logger.info({ found: hits.size, interfaces: d.interfaces }, 'WS-Discovery probe done');
  return [...hits.values()];
}

export async function describeConfigured(
  config: EdgeAgentConfig,
  cam: EdgeAgentConfig['cameras'][number],
): Promise<FoundCamera> {
  const username = cam.username ?? config.defaultCredentials.username;
  const password = cam.password ?? config.defaultCredentials.password;
  const base = {
    id: deviceId(config.venue.id, cam.code),
    code: cam.code,
    roomId: cam.room ? deviceId(config.venue.id, cam.room) : null,
    name: cam.name,
    username,
    password,
    address: cam.address,
  };
  try {
    const description = await describeDevice(parseDeviceAddress(cam.address), { username, password }, config.discovery.timeoutMs);
    return { ...base, description, error: null };
  } catch (err) {
    return { ...base, description: null, error: (err as Error).message };
  }
}

export async function discoverCameras(config: EdgeAgentConfig, logger: Logger): Promise<FoundCamera[]> {
  const [configured, hits] = await Promise.all([
    Promise.all(config.cameras.map((c) => describeConfigured(config, c))),
    probeAll(config, logger),
  ]);
  const knownEndpoints = new Set(configured.map((c) => c.description?.endpoint).filter(Boolean));
  const knownHosts = new Set(config.cameras.map((c) => hostPort(c.address)));
  const unlisted = hits.filter((h) => !knownEndpoints.has(h.endpoint) && !h.xaddrs.some((x) => knownHosts.has(hostPort(x))));
  const { username, password } = config.defaultCredentials;
  const found = await Promise.all(
    unlisted.map(async (h): Promise<FoundCamera> => {
      const id = unlistedCameraId(config.venue.id, h.endpoint);
      const base = { id, code: null, roomId: null, name: `Unassigned camera ${id.split('.')[1]}`, username, password, address: h.xaddrs[0]! };
      try {
        const description = await describeDevice(parseDeviceAddress(h.xaddrs[0]!), { username, password }, config.discovery.timeoutMs);
        const label = [description.manufacturer, description.model].filter(Boolean).join(' ');
        return { ...base, name: label ? `${label} (${id.split('.')[1]})` : base.name, description: { ...description, endpoint: description.endpoint ?? h.endpoint }, error: null };
      } catch (err) {
        return { ...base, description: null, error: (err as Error).message };
      }
    }),
  );
  // Configured cameras found by the probe too: take the endpoint from there if GetEndpointReference gave none.
  for (const c of configured) {
    if (c.description && !c.description.endpoint) {
      const hit = hits.find((h) => h.xaddrs.some((x) => hostPort(x) === hostPort(c.address)));
      if (hit) c.description.endpoint = hit.endpoint;
    }
  }
  return [...configured, ...found];
}
