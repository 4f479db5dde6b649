import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadServerConfig } from '../../config/load.ts';
import type { ServerConfig } from '../../config/schema.ts';
import { expect } from 'vitest';
import { ApiError, CSRF_HEADER } from '../../protocol/index.ts';
import { csrfTokenFor } from '../../server/http/auth.ts';

/** Shared set-up for the centre's tests: real PostgreSQL databases, temp folders, configs. */

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';
export const silent = pino({ level: 'silent' });

/** A fresh database on the shared PostgreSQL server, dropped by drop(). */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `vw_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `vw-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A unique venue id per test: Mosquitto is shared with other test files. */
export const uniqueVenueId = (prefix = 'tv'): string => `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

export function serverConfig(dataDir: string, overrides: Record<string, unknown> = {}): ServerConfig {
  return loadServerConfig({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      mqtt: { url: null, embeddedPort: 0 },
      dashboardDir: path.join(dataDir, 'no-dashboard'),
      logLevel: 'silent',
      ...overrides,
    },
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** The CSRF header a state-changing request of this session must carry (the dashboard reads it from its cookie). */
export function csrf(cookie: string): Record<string, string> {
  const token = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return { [CSRF_HEADER]: csrfTokenFor(token) };
}

/** Asserts an API refusal: its status, its error code and (optionally) what its message says; returns the message. */
export async function expectError(res: Response, status: number, code: string, message?: RegExp): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = ApiError.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
  return body.error.message;
}
