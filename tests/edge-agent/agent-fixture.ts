import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { loadEdgeAgentConfig } from '../../config/load.ts';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import type { SegmentRecord } from '../../protocol/index.ts';
export { freePort } from '../support/ports.ts';

/** Shared set-up of the edge-agent tests: settings, scratch folders, an MQTT observer, waiting. */

export const quietLogger = () => pino({ level: process.env.VW_TEST_LOG ?? 'silent' });

export function scratchDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `vw-edge-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const uniqueVenue = (label: string): string => `t-${label}-${randomUUID().slice(0, 8)}`;

export function agentConfig(overrides: Record<string, unknown>): EdgeAgentConfig {
  return loadEdgeAgentConfig({
    env: {},
    file: null,
    overrides: {
      discovery: { enabled: false, interfaces: [], timeoutMs: 3000, intervalMinutes: 60 },
      recording: { segmentSeconds: 2, restartDelayMs: 500, rtspTransport: 'tcp' },
      upload: { concurrency: 2, retryDelayMs: 300 },
      health: { metrics: { host: '127.0.0.1', port: 0 } },
      logLevel: 'silent',
      ...overrides,
    },
  });
}


export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 100): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Observer {
  client: MqttClient;
  messages: { topic: string; payload: Buffer; retain: boolean }[];
  close(): Promise<void>;
}

/** A centre-side MQTT client recording everything under one venue. */
export async function observe(url: string, venueId: string, auth?: { username: string; password: string }): Promise<Observer> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 200, clientId: `obs-${randomUUID().slice(0, 8)}`, ...auth });
  const messages: Observer['messages'] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(`vw/v1/venues/${venueId}/#`, { qos: 1 });
  return { client, messages, close: () => client.endAsync() };
}

/** Removes the retained messages a test left on a broker. */
export async function clearRetained(url: string, venueId: string, auth?: { username: string; password: string }): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `clr-${randomUUID().slice(0, 8)}`, ...auth });
  for (const kind of ['status', 'inventory', 'segments', 'windows']) {
    await client.publishAsync(`vw/v1/venues/${venueId}/${kind}`, '', { qos: 1, retain: true });
  }
  await client.endAsync();
}

export function fakeSegment(cameraId: string, startMs: number, dir: string): SegmentRecord & { path: string } {
  const id = randomUUID();
  return {
    id,
    cameraId,
    runId: '00000000-0000-4000-8000-000000000001',
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 2000).toISOString(),
    bytes: 188,
    sha256: 'a'.repeat(64),
    hasAudio: false,
    path: join(dir, `${id}.ts`),
  };
}

/**
 * ffmpeg processes that are children of this test process (none may survive a test); `writingTo`
 * narrows it to recorders writing under that folder (the simulator runs ffmpeg publishers too).
 */
export function ffmpegChildren(writingTo?: string): number[] {
  try {
    const args = writingTo ? ['-P', String(process.pid), '-f', `ffmpeg .*${writingTo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`] : ['-P', String(process.pid), 'ffmpeg'];
    const out = execFileSync('pgrep', args, { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
