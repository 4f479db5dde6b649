import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HealthResponse, SessionList } from '../../protocol/index.ts';
import { processTree } from '../../bench/process-usage.ts';
import { freePort } from '../edge-agent/agent-fixture.ts';
import { hasCommand, need } from '../support/prerequisites.ts';
import { login, tempDir, waitFor } from '../server/support.ts';

/**
 * `npm start` as a person runs it: the centre, an edge agent and the demo venue come up on the
 * embedded defaults, the demo sessions are booked and recorded, and Ctrl-C leaves no process behind.
 */
const root = path.resolve(import.meta.dirname, '../..');
const ffmpegReady = hasCommand('ffmpeg') ? { ok: true as const } : { ok: false as const, reason: 'ffmpeg missing: apt-get install ffmpeg' };

describe.runIf(need(ffmpegReady))('npm start', () => {
  it('runs the whole demo and stops everything on Ctrl-C; a second start on the same data keeps the demo sessions', async () => {
    const data = tempDir('launcher');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    try {
      const firstIds = await launch(data.dir, port, async () => {
        const health = HealthResponse.parse(await (await fetch(`${base}/api/health`)).json());
        expect(health.database.kind).toBe('pglite');
        expect(health.broker.kind).toBe('embedded');
        const cookie = await login(base, 'supervisor', 'launcher-test-pass');
        const sessions = SessionList.parse(await (await fetch(`${base}/api/sessions`, { headers: { cookie } })).json()).sessions;
        expect(sessions.map((s) => s.projectCode).sort()).toEqual(['DEMO-2026-0001', 'DEMO-2026-0002']);
        expect(sessions.every((s) => s.status === 'in_progress')).toBe(true);
        // Footage of the demo sessions reaches the centre.
        await waitFor('stored footage of every demo camera', async () => {
          const res = await fetch(`${base}/api/sessions/${sessions[0]!.id}`, { headers: { cookie } });
          const body = (await res.json()) as { cameras: { storedSeconds: number }[] };
          return body.cameras.length === 2 && body.cameras.every((c) => c.storedSeconds > 0);
        }, 60_000);
        return sessions.map((s) => s.id).sort();
      });
      // Started again: the rooms are still booked by the first launch's sessions, which it keeps
      // (a room refuses a second booking for the same time).
      const secondIds = await launch(data.dir, port, async () => {
        const cookie = await login(base, 'supervisor', 'launcher-test-pass');
        return SessionList.parse(await (await fetch(`${base}/api/sessions`, { headers: { cookie } })).json()).sessions.map((s) => s.id).sort();
      });
      expect(secondIds).toEqual(firstIds);
    } finally {
      data.remove();
    }
  }, 360_000);
});

/** Runs `npm start` on a data folder, checks it while it runs, then Ctrl-C: nothing may survive. */
async function launch<T>(dataDir: string, port: number, check: () => Promise<T>): Promise<T> {
  const launcher = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, DEMO_PASSWORD: 'launcher-test-pass', MQTT_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  launcher.stdout.on('data', (d: Buffer) => (output += d.toString()));
  launcher.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  try {
    await waitFor('the launcher to say it is running', () => {
      if (launcher.exitCode !== null) throw new Error(`the launcher exited with ${launcher.exitCode}`);
      return output.includes('VenueWatch is running');
    }, 150_000).catch((err: Error) => {
      throw new Error(`${err.message}; it printed:\n${output.slice(-3000)}`);
    });
    expect(output).toContain(`http://localhost:${port}/`);
    expect(output).toMatch(/admin, patrol, supervisor, maintenance\b.*password: launcher-test-pass/);
    const result = await check();
    // launcher, centre, agent, 4 cameras, 4 recorders (after a restart the recorders may still be starting)
    const family = await waitFor('the whole demo family of processes', () => {
      const pids = processTree([launcher.pid!]).map((p) => p.pid);
      return pids.length > 8 ? pids : null;
    }, 30_000);
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    await waitFor('every process of the demo to be gone', () => family.every((pid) => !alive(pid)), 20_000);
    return result;
  } finally {
    if (launcher.exitCode === null) {
      // A failed assertion must not leave the demo running: Ctrl-C it, then kill what is left.
      const family = processTree([launcher.pid!]).map((p) => p.pid);
      launcher.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      for (const pid of family) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
