/**
 * `npm start`: the whole system on one machine with embedded defaults — the centre (API, dashboard,
 * embedded broker, PGlite), one edge agent, and a demo venue of virtual cameras. The centre and the
 * agent run as separate processes, as they do in production; the virtual venue (the "physical
 * world") runs in this process. Ctrl-C stops everything, ffmpeg included.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { demoVenuePlan } from './demo-venue.ts';
import { agentEnvironment } from '../edge-agent/launch/malloc-tunables.ts';
import { startVirtualVenue } from '../simulator/venue.ts';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, 'data'));
const port = Number(process.env.PORT ?? 8080);
const demoPassword = process.env.DEMO_PASSWORD || randomBytes(6).toString('base64url');
const agentToken = randomBytes(24).toString('base64url');
// The demo's three programs share one terminal: only warnings unless LOG_LEVEL asks for more.
const logLevel = process.env.LOG_LEVEL ?? 'warn';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard when dist/ is missing or older than its sources or the protocol. */
function buildDashboardIfStale(): void {
  const dist = path.join(root, 'dashboard/dist/index.html');
  const sources = Math.max(newestMtime(path.join(root, 'dashboard/src')), newestMtime(path.join(root, 'protocol')));
  if (existsSync(dist) && statSync(dist).mtimeMs >= sources) return;
  console.log('Building the dashboard…');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('Dashboard build failed: run `npm run build:dashboard` to see why.');
}

function portIsFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false));
    srv.listen(p, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

async function freePort(preferred: number): Promise<number> {
  if (await portIsFree(preferred)) return preferred;
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(p));
    });
  });
}

const children: ChildProcess[] = [];

function launch(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Each child leads its own process group so its ffmpeg grandchildren can be stopped with it.
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, LOG_LEVEL: logLevel, ...env }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the demo.`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

let stopping = false;
let venue: Awaited<ReturnType<typeof startVirtualVenue>> | null = null;

async function stop(code = 0): Promise<never> {
  if (stopping) return new Promise(() => {}) as never;
  stopping = true;
  console.log('\nStopping VenueWatch…');
  const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
  for (const c of children) if (c.pid) try { process.kill(-c.pid, 'SIGTERM'); } catch { /* already gone */ }
  const killer = setTimeout(() => {
    for (const c of children) if (c.pid) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* already gone */ }
  }, 10_000);
  await Promise.all([Promise.all(exited), venue?.stop()]);
  clearTimeout(killer);
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function main(): Promise<void> {
  buildDashboardIfStale();
  mkdirSync(dataDir, { recursive: true });
  const plan = demoVenuePlan();
  // WS-Discovery on loopback only (never the host's real interfaces): the agent probes 'lo' below.
  venue = await startVirtualVenue({ venueId: plan.venue.id, logger: pino({ name: 'virtual-venue', level: logLevel }), discovery: { interfaceAddress: '127.0.0.1' }, cameras: plan.cameras.map((c) => ({ code: c.code, name: c.name, username: plan.cameraUser, password: plan.cameraPassword })) });

  const externalBroker = process.env.MQTT_URL || null;
  const brokerPort = externalBroker ? null : await freePort(1883);
  const mqttUrl = externalBroker ?? `mqtt://127.0.0.1:${brokerPort}`;

  const edgeConfig = {
    edgeAgent: {
      venue: plan.venue,
      rooms: plan.rooms,
      cameras: plan.cameras.map((c) => ({ code: c.code, name: c.name, room: c.room, address: venue!.cameras.find((v) => v.code === c.code)!.xaddr })),
      defaultCredentials: { username: plan.cameraUser, password: plan.cameraPassword },
      discovery: { enabled: true, interfaces: ['lo'], timeoutMs: 3000, intervalMinutes: 10 },
      dataDir: path.join(dataDir, 'edge'),
    },
  };
  const edgeConfigPath = path.join(dataDir, 'demo-edge-agent.json');
  writeFileSync(edgeConfigPath, JSON.stringify(edgeConfig, null, 2));

  launch('centre', ['--import', 'tsx', 'server/main.ts'], {
    PORT: String(port),
    DATA_DIR: dataDir,
    ...(brokerPort ? { MQTT_EMBEDDED_PORT: String(brokerPort) } : {}),
    VW_AGENTS: `${plan.venue.id}:${agentToken}`,
    DEMO_PASSWORD: demoPassword,
    VW_DEMO_ACCOUNTS: '1',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the centre to answer /api/health', async () => ((await fetch(`${base}/api/health`)).ok ? true : null));

  // The venue box runs compiled JavaScript, as in production (see scripts/build-edge-agent.mjs).
  const built = spawnSync(process.execPath, ['scripts/build-edge-agent.mjs'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('Building the edge agent failed: run `npm run build:edge-agent` to see why.');
  launch('edge agent', ['--enable-source-maps', 'dist/edge-agent.mjs'], {
    GLIBC_TUNABLES: agentEnvironment(process.env).GLIBC_TUNABLES!,
    VW_CONFIG: edgeConfigPath,
    MQTT_URL: mqttUrl,
    CENTRE_URL: base,
    VW_AGENT_TOKEN: agentToken,
  });

  // Sessions start at launch in each room, so the supervisor has something to watch at once.
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: demoPassword }) });
  if (!login.ok) throw new Error(`Demo login failed: ${await login.text()}`);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  // State-changing requests carry the session's CSRF token (double submit).
  const { csrfToken } = (await login.json()) as { csrfToken?: string };
  await waitFor('the demo venue to report its rooms', async () => {
    const res = await fetch(`${base}/api/venues`, { headers: { cookie } });
    const body = (await res.json()) as { venues: { id: string; rooms: unknown[] }[] };
    return body.venues.find((v) => v.id === plan.venue.id && v.rooms.length >= plan.rooms.length) ?? null;
  });
  const now = Date.now();
  for (const s of plan.sessions) {
    const res = await fetch(`${base}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken ?? '' },
      body: JSON.stringify({ ...s, plannedStart: new Date(now).toISOString(), plannedEnd: new Date(now + s.hours * 3600_000).toISOString() }),
    });
    // A restart on the same data finds the last launch's session still running in the room: keep it.
    if (res.status === 409) {
      await res.arrayBuffer();
      continue;
    }
    if (!res.ok) throw new Error(`Creating demo session ${s.projectCode} failed: ${await res.text()}`);
  }

  console.log(`
VenueWatch is running.
  Dashboard:  http://localhost:${port}/
  Accounts:   admin, patrol, supervisor, maintenance, venue_admin, city_supervisor   password: ${demoPassword}
  Broker:     ${mqttUrl}${brokerPort ? ' (embedded)' : ''}
  Data:       ${dataDir}
Press Ctrl-C to stop.`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  void stop(1);
});
