import dgram from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import pino, { type Logger } from 'pino';
import { xmlEscape } from './soap.ts';

/**
 * WS-Discovery (2005/04, SOAP-over-UDP) target service for a set of virtual ONVIF devices: answers
 * Probe messages sent to 239.255.255.250:3702 on ONE interface with one ProbeMatches message per
 * matching device, unicast back to the prober (the `onvif` client reads exactly one ProbeMatch per
 * datagram). Devices can be added, removed or changed (IP change) while it runs.
 *
 * Multicast only on the given interface address: membership and outgoing multicast (Hello/Bye)
 * are pinned to it, so on the host's loopback nothing reaches a real network.
 */

export const WSD_GROUP = '239.255.255.250';
export const WSD_PORT = 3702;

export interface DiscoverableDevice {
  /** urn:uuid:… endpoint reference. */
  endpoint: string;
  /** Space-separated in the message; usually one device service URL. */
  xaddrs: string[];
  scopes: string[];
  /** Default: dn:NetworkVideoTransmitter tds:Device. */
  types?: string[];
  /** Bumped on every change (WS-Discovery MetadataVersion). */
  metadataVersion?: number;
}

export interface WsDiscoveryOptions {
  /** IPv4 address of the interface to serve on, e.g. 127.0.0.1 or a namespace's address. */
  interfaceAddress: string;
  devices?: DiscoverableDevice[];
  /** Port (default 3702); tests inside a namespace use the default. */
  port?: number;
  /** Multicast Hello on start and on add/change, Bye on remove/stop (default true). */
  announce?: boolean;
  logger?: Logger;
}

export interface WsDiscoveryResponder {
  readonly port: number;
  /** Adds or replaces (same endpoint) a device. */
  set(device: DiscoverableDevice): void;
  remove(endpoint: string): void;
  list(): DiscoverableDevice[];
  stop(): Promise<void>;
}

const NS_WSA = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
const NS_D = 'http://schemas.xmlsoap.org/ws/2005/04/discovery';
const DEFAULT_TYPES = ['dn:NetworkVideoTransmitter', 'tds:Device'];
const MAX_DATAGRAM = 16 * 1024;

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

interface Probe {
  messageId: string;
  types: string[];
  scopes: string[];
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)['#text'] === 'string') return (v as Record<string, string>)['#text']!;
  return '';
}

/** Returns the probe, or null when the datagram is not a WS-Discovery Probe. */
export function parseProbe(xml: string): Probe | null {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return null;
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch {
    return null;
  }
  const env = doc['Envelope'] as Record<string, unknown> | undefined;
  const header = env?.['Header'] as Record<string, unknown> | undefined;
  const body = env?.['Body'] as Record<string, unknown> | undefined;
  const probe = body?.['Probe'];
  if (probe === undefined) return null;
  const p = (probe && typeof probe === 'object' ? probe : {}) as Record<string, unknown>;
  const split = (v: unknown): string[] => textOf(v).split(/\s+/).filter(Boolean);
  return { messageId: textOf(header?.['MessageID']), types: split(p['Types']), scopes: split(p['Scopes']) };
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/** Type match by local name (the prober's prefixes are its own); scope match by RFC 3986 prefix. */
export function matches(device: DiscoverableDevice, probe: Probe): boolean {
  const types = (device.types ?? DEFAULT_TYPES).map(localName);
  if (!probe.types.every((t) => types.includes(localName(t)))) return false;
  return probe.scopes.every((want) => device.scopes.some((have) => have === want || have.startsWith(want.endsWith('/') ? want : `${want}/`)));
}

function header(action: string, extra: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="${NS_WSA}" xmlns:d="${NS_D}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">` +
    `<s:Header><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>${extra}<a:Action>${NS_D}/${action}</a:Action></s:Header>`
  );
}

function deviceBody(d: DiscoverableDevice): string {
  return (
    `<a:EndpointReference><a:Address>${xmlEscape(d.endpoint)}</a:Address></a:EndpointReference>` +
    `<d:Types>${(d.types ?? DEFAULT_TYPES).join(' ')}</d:Types>` +
    `<d:Scopes>${d.scopes.map(xmlEscape).join(' ')}</d:Scopes>` +
    `<d:XAddrs>${d.xaddrs.map(xmlEscape).join(' ')}</d:XAddrs>` +
    `<d:MetadataVersion>${d.metadataVersion ?? 1}</d:MetadataVersion>`
  );
}

export function probeMatchMessage(d: DiscoverableDevice, relatesTo: string, seq: { instance: number; n: number }): string {
  return (
    header('ProbeMatches', `<a:RelatesTo>${xmlEscape(relatesTo)}</a:RelatesTo><a:To>${NS_WSA}/role/anonymous</a:To><d:AppSequence InstanceId="${seq.instance}" MessageNumber="${seq.n}"/>`) +
    `<s:Body><d:ProbeMatches><d:ProbeMatch>${deviceBody(d)}</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
  );
}

function helloMessage(d: DiscoverableDevice, seq: { instance: number; n: number }): string {
  return header('Hello', `<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><d:AppSequence InstanceId="${seq.instance}" MessageNumber="${seq.n}"/>`) + `<s:Body><d:Hello>${deviceBody(d)}</d:Hello></s:Body></s:Envelope>`;
}

function byeMessage(d: DiscoverableDevice, seq: { instance: number; n: number }): string {
  return (
    header('Bye', `<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><d:AppSequence InstanceId="${seq.instance}" MessageNumber="${seq.n}"/>`) +
    `<s:Body><d:Bye><a:EndpointReference><a:Address>${xmlEscape(d.endpoint)}</a:Address></a:EndpointReference></d:Bye></s:Body></s:Envelope>`
  );
}

export async function startWsDiscovery(options: WsDiscoveryOptions): Promise<WsDiscoveryResponder> {
  const log = (options.logger ?? pino({ name: 'ws-discovery' })).child({ component: 'ws-discovery', interface: options.interfaceAddress });
  const devices = new Map<string, DiscoverableDevice>();
  for (const d of options.devices ?? []) devices.set(d.endpoint, d);
  const announce = options.announce ?? true;
  const seq = { instance: Math.floor(Date.now() / 1000), n: 0 };
  const port = options.port ?? WSD_PORT;

  // Bound to the group address (not 0.0.0.0) so only multicast to the group reaches us, and
  // joined on the one interface, so probes from other networks never do.
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, WSD_GROUP, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.addMembership(WSD_GROUP, options.interfaceAddress);
  socket.setMulticastInterface(options.interfaceAddress);
  socket.setMulticastTTL(1);
  socket.setMulticastLoopback(true);
  log.info({ port, devices: devices.size }, 'WS-Discovery responder listening');

  const sendTo = (xml: string, address: string, p: number): void => {
    socket.send(Buffer.from(xml), p, address, (err) => {
      if (err) log.warn({ err: err.message, address, port: p }, 'WS-Discovery send failed');
    });
  };

  socket.on('message', (msg, rinfo) => {
    if (msg.length > MAX_DATAGRAM) return;
    const probe = parseProbe(msg.toString('utf8'));
    if (!probe) return;
    const hits = [...devices.values()].filter((d) => matches(d, probe));
    log.debug({ from: `${rinfo.address}:${rinfo.port}`, types: probe.types, hits: hits.length }, 'probe');
    for (const d of hits) sendTo(probeMatchMessage(d, probe.messageId, { instance: seq.instance, n: ++seq.n }), rinfo.address, rinfo.port);
  });
  socket.on('error', (err) => log.warn({ err: err.message }, 'WS-Discovery socket error'));

  const hello = (d: DiscoverableDevice): void => {
    if (announce) sendTo(helloMessage(d, { instance: seq.instance, n: ++seq.n }), WSD_GROUP, WSD_PORT);
  };
  for (const d of devices.values()) hello(d);

  let stopped = false;
  return {
    port,
    set(device) {
      const old = devices.get(device.endpoint);
      const next = { ...device, metadataVersion: device.metadataVersion ?? (old ? (old.metadataVersion ?? 1) + 1 : 1) };
      devices.set(device.endpoint, next);
      log.info({ endpoint: device.endpoint, xaddrs: device.xaddrs }, old ? 'device changed' : 'device added');
      hello(next);
    },
    remove(endpoint) {
      const d = devices.get(endpoint);
      if (!d) return;
      devices.delete(endpoint);
      if (announce && !stopped) sendTo(byeMessage(d, { instance: seq.instance, n: ++seq.n }), WSD_GROUP, WSD_PORT);
      log.info({ endpoint }, 'device removed');
    },
    list: () => [...devices.values()],
    async stop() {
      if (stopped) return;
      stopped = true;
      if (announce) {
        await Promise.all(
          [...devices.values()].map(
            (d) => new Promise<void>((resolve) => socket.send(Buffer.from(byeMessage(d, { instance: seq.instance, n: ++seq.n })), WSD_PORT, WSD_GROUP, () => resolve())),
          ),
        );
      }
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
