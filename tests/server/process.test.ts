import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../server/db/client.ts';
import { tempDir, waitFor } from './support.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the centre process (server/main.ts)', () => {
  const tmp = tempDir('proc');
  let child: ChildProcess | null = null;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    tmp.remove();
  });

  it('serves the dashboard with SPA fallback, then stops cleanly on SIGTERM and releases PGlite', async () => {
    const dashboard = path.join(tmp.dir, 'dist');
    mkdirSync(path.join(dashboard, 'assets'), { recursive: true });
    writeFileSync(path.join(dashboard, 'index.html'), '<!doctype html><title>VenueWatch</title>');
    writeFileSync(path.join(dashboard, 'assets', 'app.js'), 'console.log(1)');
    const configFile = path.join(tmp.dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ server: { host: '127.0.0.1', dashboardDir: dashboard, logLevel: 'info' } }));

    child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: root,
      env: { ...process.env, VW_CONFIG: configFile, PORT: '0', MQTT_EMBEDDED_PORT: '0', DATA_DIR: path.join(tmp.dir, 'data'), DEMO_PASSWORD: 'demo-password-1', VW_DEMO_ACCOUNTS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const url = await waitFor('the centre to log its URL', () => /"url":"(http:\/\/[^"]+)".*"msg":"VenueWatch centre started"/.exec(log)?.[1], 60_000);

    expect((await fetch(`${url}/api/health`)).status).toBe(200);
    expect(await (await fetch(`${url}/`)).text()).toContain('<title>VenueWatch</title>');
    expect(await (await fetch(`${url}/sessions/some-deep-link`)).text()).toContain('<title>VenueWatch</title>');
    expect(await (await fetch(`${url}/assets/app.js`)).text()).toBe('console.log(1)');
    const api404 = await fetch(`${url}/api/no-such-route`);
    expect(api404.status).toBe(404);
    expect(((await api404.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'maintenance', password: 'demo-password-1' }) });
    expect(login.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('VenueWatch centre stopped');

    // The data directory reopens with everything in it: the shutdown closed PGlite cleanly.
    const db = await openDatabase({ url: null, dir: path.join(tmp.dir, 'data', 'db') });
    try {
      const users = await queryRows<{ username: string }>(db.db, sql`SELECT username FROM users ORDER BY username`);
      expect(users.map((u) => u.username)).toEqual(['admin', 'city_supervisor', 'maintenance', 'patrol', 'supervisor', 'venue_admin']);
    } finally {
      await db.close();
    }
  });
});
