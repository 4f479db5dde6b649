import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import type * as OnvifTypes from 'onvif';
import { createSoapGuard, guardCam, SoapGuardError } from './soap-guard.ts';

/**
 * Talks to one ONVIF camera with the `onvif` client: connect with credentials, read its identity,
 * and ask the first media profile for its RTSP stream URI. Everything the camera answers is
 * checked here, so the rest of the agent only sees validated values.
 */
const require = createRequire(import.meta.url);
const onvif = require('onvif') as typeof OnvifTypes.default;
// The discovery singleton emits 'error' for every malformed answer; unhandled, that would throw.
onvif.Discovery.on('error', () => {});

export interface DeviceAddress {
  hostname: string;
  port: number;
  path: string;
}

export interface DeviceDescription {
  xaddr: string;
  endpoint: string | null;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  /** rtsp:// URI of the first profile, without credentials. */
  streamUri: string;
}

export class DeviceError extends Error {
  override name = 'DeviceError';
  constructor(
    message: string,
    readonly kind: 'auth' | 'timeout' | 'unreachable' | 'invalid' | 'other',
  ) {
    super(message);
  }
}

/** Accepts an ONVIF device service URL, or host[:port] (port 80, path /onvif/device_service). */
export function parseDeviceAddress(address: string): DeviceAddress {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new DeviceError(`camera address "${address}" is neither a URL nor host:port`, 'invalid');
  }
  if (url.protocol !== 'http:') throw new DeviceError(`camera address "${address}": only http:// ONVIF addresses are supported`, 'invalid');
  return {
    hostname: url.hostname,
    port: url.port ? Number(url.port) : 80,
    path: url.pathname && url.pathname !== '/' ? url.pathname : '/onvif/device_service',
  };
}

export const xaddrOf = (a: DeviceAddress): string => `http://${a.hostname.includes(':') ? `[${a.hostname}]` : a.hostname}:${a.port}${a.path}`;

const text = (v: unknown): string | null => {
  if (typeof v === 'string') return v.trim().slice(0, 200) || null;
  if (typeof v === 'number') return String(v);
  // xml2js may hand back {_: "value", $: {...}} for elements with attributes.
  if (v && typeof v === 'object' && '_' in v) return text((v as { _: unknown })._);
  return null;
};

function classify(err: unknown, who: string, username: string): DeviceError {
  const msg = err instanceof Error ? err.message : Array.isArray(err) ? err.map(String).join('; ') : String(err);
  if (/not ?authori[sz]ed|unauthori[sz]ed|\b401\b|authenticat|password|NotAuthorized|FailedAuthentication|Sender not Authorized/i.test(msg)) {
    return new DeviceError(`ONVIF authentication failed at ${who} for user "${username}": check the camera's user name and password (${msg})`, 'auth');
  }
  if (/timeout|timed out|ETIMEDOUT/i.test(msg)) return new DeviceError(`ONVIF request to ${who} timed out: is the camera on and reachable? (${msg})`, 'timeout');
  if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|ECONNRESET|socket hang up/i.test(msg)) {
    return new DeviceError(`cannot reach ONVIF service at ${who}: check the address and that ONVIF is enabled on the camera (${msg})`, 'unreachable');
  }
  return new DeviceError(`ONVIF error from ${who}: ${msg}`, 'other');
}

function call<T>(fn: (cb: (err: Error | null, data?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms))),
  ]);
}

/** Strips any user info from a URI (cameras sometimes embed credentials in the stream URI). */
export function stripCredentials(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

export async function describeDevice(
  address: DeviceAddress,
  credentials: { username: string; password: string },
  timeoutMs: number,
): Promise<DeviceDescription> {
  const xaddr = xaddrOf(address);
  const cam = new onvif.Cam({
    hostname: address.hostname,
    port: address.port,
    path: address.path,
    username: credentials.username || undefined,
    password: credentials.password || undefined,
    timeout: timeoutMs,
    autoconnect: false,
    // Use the address we were given for every service: it is how this box reaches the camera.
    preserveAddress: true,
  });
  // Without a listener an 'error'/'warning' event from the client would throw.
  cam.on('error', () => {});
  cam.on('warning', () => {});
  // Size cap and DTD refusal under the client, before xml2js sees an answer.
  const guard = createSoapGuard(xaddr);
  guardCam(cam, guard);
  const overall = Math.max(timeoutMs * 3, 5000);
  try {
    await guard.race(withTimeout(call<unknown>((cb) => cam.connect(cb)), overall, `connecting to ${xaddr}`));
    const info = await guard.race(withTimeout(call<OnvifTypes.DeviceInformation>((cb) => cam.getDeviceInformation(cb)), overall, 'GetDeviceInformation'));
    let endpoint: string | null = null;
    try {
      endpoint = await guard.race(withTimeout(getEndpointReference(cam), timeoutMs, 'GetEndpointReference'));
    } catch (err) {
      if (err instanceof SoapGuardError) throw err;
      // Optional in ONVIF: the endpoint then comes from WS-Discovery, if the camera is found there.
    }
    const profiles = (cam.profiles ?? []) as OnvifTypes.CamProfile[];
    const profileToken = text(profiles[0]?.$?.token) ?? text(profiles[0]?.token) ?? cam.activeSource?.profileToken;
    if (!profileToken) throw new DeviceError(`camera at ${xaddr} reports no media profile: it cannot stream`, 'invalid');
    const stream = await guard.race(
      withTimeout(
        call<{ uri?: unknown }>((cb) => cam.getStreamUri({ protocol: 'RTSP', profileToken }, cb)),
        overall,
        'GetStreamUri',
      ),
    );
    const uri = text(stream?.uri);
    if (!uri || !/^rtsps?:\/\/[^\s]+$/i.test(uri)) {
      throw new DeviceError(`camera at ${xaddr} returned stream URI ${JSON.stringify(uri)}, not an rtsp:// URL`, 'invalid');
    }
    try {
      new URL(uri);
    } catch {
      throw new DeviceError(`camera at ${xaddr} returned a malformed stream URI`, 'invalid');
    }
    return {
      xaddr,
      endpoint,
      manufacturer: text(info?.manufacturer),
      model: text(info?.model),
      serial: text(info?.serialNumber),
      firmware: text(info?.firmwareVersion),
      streamUri: stripCredentials(uri),
    };
  } catch (err) {
    if (err instanceof DeviceError) throw err;
    if (err instanceof SoapGuardError) throw new DeviceError(`${err.message}: this is not a camera VenueWatch will talk to`, 'invalid');
    throw classify(err, xaddr, credentials.username);
  } finally {
    guard.dispose();
  }
}

/** GetEndpointReference is not wrapped by the client: send it through its SOAP request helper. */
function getEndpointReference(cam: OnvifTypes.Cam): Promise<string | null> {
  const raw = cam as unknown as {
    _request(o: { body: string }, cb: (err: Error | null, data: unknown) => void): void;
    _envelopeHeader(): string;
    _envelopeFooter(): string;
  };
  return new Promise((resolve, reject) => {
    raw._request(
      {
        body: raw._envelopeHeader() + '<GetEndpointReference xmlns="http://www.onvif.org/ver10/device/wsdl"/>' + raw._envelopeFooter(),
      },
      (err, data) => {
        if (err) return reject(err);
        // xml2js: [{ getEndpointReferenceResponse: [{ GUID: ["urn:uuid:…"] }] }]
        const found = JSON.stringify(data).match(/"(urn:uuid:[0-9a-f-]{36})"/i);
        resolve(found ? found[1]!.toLowerCase() : null);
      },
    );
  });
}

export interface ProbeHit {
  endpoint: string;
  xaddrs: string[];
}

/**
 * WS-Discovery probe on one interface. Multicast goes only where the operator pointed it (the
 * camera LAN), never on the host's other interfaces.
 */
export function probeInterface(device: string, timeoutMs: number): Promise<ProbeHit[]> {
  // The client falls back to binding on every interface when the name is unknown: refuse instead.
  const iface = networkInterfaces()[device];
  if (!iface?.some((a) => a.family === 'IPv4')) {
    return Promise.reject(new Error(`network interface "${device}" not found or has no IPv4 address: fix discovery.interfaces`));
  }
  return new Promise((resolve) => {
    onvif.Discovery.probe({ device, timeout: timeoutMs, resolve: false }, (_errors, found) => {
      const hits: ProbeHit[] = [];
      for (const item of (found ?? []) as Record<string, unknown>[]) {
        try {
          const match = (item as { probeMatches?: { probeMatch?: { endpointReference?: { address?: unknown }; XAddrs?: unknown } } }).probeMatches
            ?.probeMatch;
          const endpoint = text(match?.endpointReference?.address);
          const xaddrs = (text(match?.XAddrs) ?? '').split(/\s+/).filter((x) => /^https?:\/\//.test(x));
          if (endpoint && xaddrs.length) hits.push({ endpoint: endpoint.toLowerCase(), xaddrs });
        } catch {
          // A malformed answer from one device must not hide the others.
        }
      }
      resolve(hits);
    });
  });
}
