import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { deviceId } from '../../protocol/index.ts';
import { describeDevice, DeviceError, parseDeviceAddress, probeInterface, type DeviceDescription, type ProbeHit } from './onvif-device.ts';
import { unicastProbe } from './unicast-probe.ts';

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
  /** Why the camera is not usable: "auth" is a health state (wrong password), not a reason to retry hard. */
  errorKind: DeviceError['kind'] | null;
  /** Endpoint reference from WS-Discovery, known even when the camera refuses our credentials. */
  endpoint?: string | null;
}

/** What the agent already knows of a camera, so it can follow it to a new address. */
export interface KnownCamera {
  id: string;
  endpoint: string | null;
}

/** Id of a camera nobody configured: stable across IP changes because it hashes the endpoint. */
export function unlistedCameraId(venueId: string, endpoint: string): string {
  return deviceId(venueId, `cam-${createHash('sha256').update(endpoint).digest('hex').slice(0, 8)}`);
}

export const hostPort = (xaddr: string): string => {
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
    for (let round = 0; round < d.probeRounds; round++) {
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

const kindOf = (err: unknown): DeviceError['kind'] => (err instanceof DeviceError ? err.kind : 'other');

export async function describeConfigured(
  config: EdgeAgentConfig,
  cam: EdgeAgentConfig['cameras'][number],
  at?: string,
): Promise<FoundCamera> {
  const username = cam.username ?? config.defaultCredentials.username;
  const password = cam.password ?? config.defaultCredentials.password;
  const address = at ?? cam.address;
  const base = {
    id: deviceId(config.venue.id, cam.code),
    code: cam.code,
    roomId: cam.room ? deviceId(config.venue.id, cam.room) : null,
    name: cam.name,
    username,
    password,
    address,
  };
  try {
    const description = await describeDevice(parseDeviceAddress(address), { username, password }, config.discovery.timeoutMs);
    return { ...base, description, error: null, errorKind: null };
  } catch (err) {
    return { ...base, description: null, error: (err as Error).message, errorKind: kindOf(err) };
  }
}

/** Multicast hits plus the device services that answered a unicast probe (endpoint unknown until asked). */
async function candidates(config: EdgeAgentConfig, logger: Logger): Promise<{ hits: ProbeHit[]; unicast: string[] }> {
  const u = config.discovery.unicast;
  const [hits, unicast] = await Promise.all([
    probeAll(config, logger),
    config.discovery.enabled && u.ranges.length > 0
      ? unicastProbe(u, (range, err) => logger.error({ range, err }, 'unicast discovery range skipped'))
      : Promise.resolve([]),
  ]);
  if (u.ranges.length > 0 && config.discovery.enabled) logger.info({ found: unicast.length, ranges: u.ranges }, 'unicast ONVIF probe done');
  return { hits, unicast };
}

/**
 * One discovery run. Configured cameras are described at their address; a configured camera that
 * does not answer there but whose endpoint reference (learnt earlier) now answers at another
 * address is followed there (an IP change). Probe results are deduplicated against the configured
 * cameras by endpoint reference and by host:port, and against each other by endpoint reference.
 */
export async function discoverCameras(config: EdgeAgentConfig, logger: Logger, known: KnownCamera[] = []): Promise<FoundCamera[]> {
  const [configuredFirst, { hits, unicast }] = await Promise.all([
    Promise.all(config.cameras.map((c) => describeConfigured(config, c))),
    candidates(config, logger),
  ]);
  const knownEndpoint = new Map(known.filter((k) => k.endpoint).map((k) => [k.id, k.endpoint!]));
  const configured = await Promise.all(
    configuredFirst.map(async (c, i) => {
      if (c.description || c.errorKind === 'auth') return c;
      const endpoint = knownEndpoint.get(c.id);
      const moved = endpoint ? hits.find((h) => h.endpoint === endpoint && !h.xaddrs.some((x) => hostPort(x) === hostPort(c.address))) : undefined;
      if (!moved) return c;
      logger.info({ cameraId: c.id, from: c.address, to: moved.xaddrs[0] }, 'configured camera answers at a new address (same endpoint reference)');
      const there = await describeConfigured(config, config.cameras[i]!, moved.xaddrs[0]!);
      return there.description ? there : c;
    }),
  );
  // Configured cameras found by the probe too: take the endpoint from there if GetEndpointReference gave none.
  for (const c of configured) {
    if (c.description && !c.description.endpoint) {
      const hit = hits.find((h) => h.xaddrs.some((x) => hostPort(x) === hostPort(c.address)));
      if (hit) c.description.endpoint = hit.endpoint;
    }
  }
  const takenEndpoints = new Set<string>([
    ...configured.map((c) => c.description?.endpoint ?? null).filter((e): e is string => !!e),
    ...config.cameras.map((c) => knownEndpoint.get(deviceId(config.venue.id, c.code))).filter((e): e is string => !!e),
  ]);
  const takenHosts = new Set([...config.cameras.map((c) => hostPort(c.address)), ...configured.map((c) => hostPort(c.address))]);
  const multicastHosts = new Set(hits.flatMap((h) => h.xaddrs.map(hostPort)));
  const pending: Array<{ endpoint: string | null; xaddr: string }> = [
    ...hits.filter((h) => !takenEndpoints.has(h.endpoint) && !h.xaddrs.some((x) => takenHosts.has(hostPort(x)))).map((h) => ({ endpoint: h.endpoint, xaddr: h.xaddrs[0]! })),
    // A unicast answer from an address the multicast probe also found is the same device.
    ...unicast.filter((x) => !takenHosts.has(hostPort(x)) && !multicastHosts.has(hostPort(x))).map((x) => ({ endpoint: null, xaddr: x })),
  ];
  const { username, password } = config.defaultCredentials;
  const described = await Promise.all(
    pending.map(async (p): Promise<FoundCamera & { key: string }> => {
      let description: DeviceDescription | null = null;
      let error: string | null = null;
      let errorKind: FoundCamera['errorKind'] = null;
      try {
        description = await describeDevice(parseDeviceAddress(p.xaddr), { username, password }, config.discovery.timeoutMs);
      } catch (err) {
        error = (err as Error).message;
        errorKind = kindOf(err);
      }
      // Identity: the endpoint reference; a device that gives none (unicast, no answer) is known by its address.
      const key = (p.endpoint ?? description?.endpoint ?? `xaddr:${hostPort(p.xaddr)}`).toLowerCase();
      const id = unlistedCameraId(config.venue.id, key);
      const label = [description?.manufacturer, description?.model].filter(Boolean).join(' ');
      const suffix = id.split('.')[1]!;
      return {
        key,
        id,
        code: null,
        roomId: null,
        name: label ? `${label} (${suffix})` : `Unassigned camera ${suffix}`,
        username,
        password,
        address: p.xaddr,
        description: description ? { ...description, endpoint: description.endpoint ?? p.endpoint } : null,
        endpoint: p.endpoint ?? description?.endpoint ?? null,
        error,
        errorKind,
      };
    }),
  );
  const unlisted = new Map<string, FoundCamera>();
  for (const { key, ...f } of described) {
    // Found by unicast but its endpoint reference belongs to a configured camera or a multicast hit.
    if (takenEndpoints.has(key)) continue;
    const prev = unlisted.get(key);
    if (!prev || (!prev.description && f.description)) unlisted.set(key, f);
  }
  return [...configured, ...unlisted.values()];
}
