import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { csrf, waitFor } from '../server/support.ts';

/**
 * The edge agent as a venue box runs it — its own process, killable with SIGKILL — for the fault
 * tests (agent-kill, orphan-footage, upload-resume). Reads of its SQLite catalogue open and close
 * it each time, as a second process beside the running agent.
 */

const repo = join(import.meta.dirname, '..', '..');

export interface AgentProcesses {
  /** Every agent process started, oldest first. */
  readonly started: readonly ChildProcess[];
  /** Starts `edge-agent/main.ts` with the config file `configFile()` names at that moment. */
  start(): ChildProcess;
  /** SIGKILLs every agent started and still running (afterAll). */
  killAll(): void;
  /** Runs f against the agent's catalogue (dataDir/catalogue.db), closed again after. */
  readCatalogue<T>(f: (c: Catalogue) => T): T;
}

export function agentProcesses(dataDir: string, configFile: () => string): AgentProcesses {
  const children: ChildProcess[] = [];
  return {
    started: children,
    start() {
      const child = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/main.ts'], { cwd: repo, env: { ...process.env, VW_CONFIG: configFile() }, stdio: 'ignore' });
      children.push(child);
      return child;
    },
    killAll() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
    readCatalogue(f) {
      const c = new Catalogue(join(dataDir, 'catalogue.db'));
      try {
        return f(c);
      } finally {
        c.close();
      }
    },
  };
}

/** Pids of ffmpeg recorders writing under dir (an agent's data folder), orphaned or not. */
export function recordersUnder(dir: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `ffmpeg .*${dir}`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/**
 * Waits until the box's venue and its rooms are known at the centre, then opens a bid session in
 * `room` that started a minute ago and runs for an hour, so the room's footage is held and uploaded.
 */
export async function sessionOnceVenueKnown(centreUrl: string, cookie: string, venueId: string, room: string, projectCode: string): Promise<{ id: string }> {
  await waitFor('room at the centre', async () => {
    const body = (await (await fetch(`${centreUrl}/api/venues`, { headers: { cookie } })).json()) as { venues: { id: string; rooms: unknown[] }[] };
    return body.venues.find((v) => v.id === venueId)?.rooms.length;
  }, 30_000);
  const res = await fetch(`${centreUrl}/api/sessions`, {
    method: 'POST',
    headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
    body: JSON.stringify({ projectCode, projectName: projectCode, kind: 'bid_opening', roomId: `${venueId}.${room}`, plannedStart: new Date(Date.now() - 60_000).toISOString(), plannedEnd: new Date(Date.now() + 3600_000).toISOString() }),
  });
  if (res.status !== 201) throw new Error(`session not created: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}
