import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { AGENT_MALLOC_TUNABLES, agentEnvironment } from '../../edge-agent/launch/malloc-tunables.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { recordersUnder } from '../support/agent-process.ts';
import { freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

const repo = join(import.meta.dirname, '..', '..');

/** The environment a process was started with (/proc/<pid>/environ). */
function environOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

// `npm run edge-agent` stopped with SIGTERM: playlists closed, exit 0, no ffmpeg left behind.
describe('edge-agent/main.ts', () => {
  const scratch = scratchDir('main');
  let venue: VirtualVenue | null = null;

  afterAll(async () => {
    for (const pid of recordersUnder(scratch.dir)) process.kill(pid, 'SIGKILL');
    await venue?.stop();
    scratch.remove();
  });

  it('records, then stops every recorder gracefully on SIGTERM', async () => {
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Hall', username: 'admin', password: 'pw-main-1', width: 320, height: 240, fps: 10, bitrateKbps: 200 }],
      logger: quietLogger(),
    });
    const cam = venue.cameras[0]!;
    const venueId = uniqueVenue('main');
    const nowhere = await freePort();
    const configFile = join(scratch.dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        venue: { id: venueId, name: 'Main venue' },
        cameras: [{ code: 'cam-1', name: 'Hall', room: null, address: cam.xaddr, username: cam.username, password: cam.password }],
        discovery: { enabled: false, interfaces: [], timeoutMs: 2000, intervalMinutes: 60 },
        mqtt: { url: `mqtt://127.0.0.1:${nowhere}` },
        centre: { url: `http://127.0.0.1:${nowhere}`, token: 'x'.repeat(20) },
        dataDir: join(scratch.dir, 'data'),
        logLevel: 'warn',
      }),
    );
    // Started as `npm run edge-agent` starts it, with the malloc tunables meant for node alone.
    const env = agentEnvironment({ ...process.env, GLIBC_TUNABLES: '', VW_CONFIG: configFile });
    expect(env.GLIBC_TUNABLES).toBe(AGENT_MALLOC_TUNABLES);
    const child = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/main.ts'], {
      cwd: repo,
      env,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const dbFile = join(scratch.dir, 'data', 'catalogue.db');
    await waitFor(
      'two catalogued segments',
      () => {
        const c = new Catalogue(dbFile);
        try {
          return c.segments().length >= 2;
        } finally {
          c.close();
        }
      },
      40_000,
      500,
    );
    const recorders = recordersUnder(scratch.dir);
    expect(recorders).toHaveLength(1);
    expect(environOf(child.pid!).GLIBC_TUNABLES).toBe(AGENT_MALLOC_TUNABLES);
    // ffmpeg records as a bare ffmpeg would, without them. (Only a lone tunable can be checked this
    // way: glibc cuts the string in the process's own copy at the first ':' as it parses it.)
    expect(environOf(recorders[0]!)).not.toHaveProperty('GLIBC_TUNABLES');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(recordersUnder(scratch.dir)).toEqual([]);
    const c = new Catalogue(dbFile);
    const segs = c.segments();
    c.close();
    expect(readFileSync(join(dirname(segs[0]!.path), 'index.m3u8'), 'utf8')).toContain('#EXT-X-ENDLIST');
  }, 90_000);
});
