import { isIPv4 } from 'node:net';
import { getSystemDateAndTime } from './camera-clock.ts';

/**
 * Unicast probing for cameras on another subnet, where WS-Discovery multicast does not reach:
 * every address of the configured CIDR ranges (and every configured address) is asked, on each
 * configured port, for GetSystemDateAndTime — the one ONVIF operation a device must answer without
 * credentials. Small ranges only, a cap on requests in flight, and a timeout on each, so a dead
 * subnet costs seconds, not minutes.
 */

/** Largest range accepted: a /22 is 1022 hosts, already a lot of HTTP requests per round. */
export const MAX_RANGE_HOSTS = 1024;

const ipToInt = (ip: string): number => ip.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** Hosts of an IPv4 CIDR range ("10.1.2.0/24" → .1 … .254; /31 and /32 keep every address). */
export function expandCidr(cidr: string): string[] {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  if (!m || !isIPv4(m[1]!)) throw new Error(`"${cidr}" is not an IPv4 address or CIDR range such as 10.1.2.0/24`);
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  if (bits > 32) throw new Error(`"${cidr}": prefix length must be 0–32`);
  const size = 2 ** (32 - bits);
  if (size > MAX_RANGE_HOSTS) throw new Error(`"${cidr}" holds ${size} addresses; split it into ranges of at most ${MAX_RANGE_HOSTS} (a /22)`);
  const base = (ipToInt(m[1]!) & (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)) >>> 0;
  const all = Array.from({ length: size }, (_, i) => intToIp(base + i));
  // Network and broadcast addresses are not hosts, except in /31 and /32.
  return size > 2 ? all.slice(1, -1) : all;
}

/** True when something at `xaddr` answers GetSystemDateAndTime like an ONVIF device. */
export async function answersOnvif(xaddr: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await getSystemDateAndTime(xaddr, timeoutMs);
    return res.ok && /SystemDateAndTime/.test(res.text());
  } catch {
    return false;
  }
}

export interface UnicastProbeOptions {
  /** CIDR ranges or single addresses. */
  ranges: string[];
  ports: number[];
  concurrency: number;
  timeoutMs: number;
}

/** Device service URLs that answered, e.g. http://10.1.2.3:80/onvif/device_service. */
export async function unicastProbe(opts: UnicastProbeOptions, onBadRange: (range: string, err: string) => void): Promise<string[]> {
  const targets: string[] = [];
  for (const range of opts.ranges) {
    let hosts: string[];
    try {
      hosts = expandCidr(range);
    } catch (err) {
      onBadRange(range, (err as Error).message);
      continue;
    }
    for (const h of hosts) for (const p of opts.ports) targets.push(`http://${h}:${p}/onvif/device_service`);
  }
  const unique = [...new Set(targets)];
  const found: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const xaddr = unique[next++]!;
      if (await answersOnvif(xaddr, opts.timeoutMs)) found.push(xaddr);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, unique.length) }, worker));
  return found.sort();
}
