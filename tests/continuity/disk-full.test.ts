import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { HoldRefused } from '../../edge-agent/retention/holds.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { need } from '../support/prerequisites.ts';
import { agentConfig, ffmpegChildren, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, serverConfig, silent } from '../server/support.ts';

/**
 * Issue 5, priority 2: a small footage disk fills up. The agent's data folder is a 24 MB tmpfs the
 * test mounts; "something else" filling it is a ballast file the test writes. Unheld footage goes
 * first (oldest first), held footage (a real session's window from the centre, and a manual hold
 * at the box) stays byte for byte, recording of the unheld room pauses with an alarm at the
 * centre, and everything resumes when space comes back.
 */
const root = process.getuid?.() === 0 ? { ok: true as const } : { ok: false as const, reason: 'mounting a tmpfs needs root' };
const MB = 1024 * 1024;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe.runIf(need(root))('retention with holds on a small disk', () => {
  const venueId = uniqueVenue('disk');
  const scratch = scratchDir('disk');
  const mnt = join(scratch.dir, 'mnt');
  const serverScratch = scratchDir('disk-centre');
  let mounted = false;
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  const camH = `${venueId}.cam-h`;
  const camU = `${venueId}.cam-u`;
  const free = () => Number(statfsSync(mnt).bavail) * Number(statfsSync(mnt).bsize);
  /** Writes a ballast file so that `freeBytes` remain free. */
  const ballast = (name: string, freeBytes: number) => {
    const size = Math.max(0, free() - freeBytes);
    writeFileSync(join(mnt, name), Buffer.alloc(size, 7));
  };

  beforeAll(async () => {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    mounted = true;
    pg = await createPgDatabase();
    const token = randomToken();
    server = await startServer(
      serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'demo-password-1' } }),
      { logger: silent },
    );
    const cam = { width: 320, height: 240, fps: 10, bitrateKbps: 400 };
    venue = await startVirtualVenue({
      cameras: [
        { code: 'cam-h', name: 'Evaluation', username: 'admin', password: 'pw-disk-h', ...cam },
        { code: 'cam-u', name: 'Hall', username: 'admin', password: 'pw-disk-u', ...cam },
      ],
      logger: quietLogger(),
    });
    const [h, u] = venue.cameras;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Disk venue' },
        rooms: [
          { code: 'eval-1', name: 'Evaluation room', kind: 'evaluation' },
          { code: 'hall', name: 'Hall', kind: 'hall' },
        ],
        cameras: [
          { code: 'cam-h', name: 'Evaluation', room: 'eval-1', address: h!.xaddr, username: h!.username, password: h!.password },
          { code: 'cam-u', name: 'Hall', room: 'hall', address: u!.xaddr, username: u!.username, password: u!.password },
        ],
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: join(mnt, 'data'),
        retention: { windowDays: 30, minFreeMB: 4, resumeMarginMB: 1, checkSeconds: 0.5 },
      }),
      { logger: quietLogger() },
    );
    // A session in the evaluation room: the centre's window is the hold on cam-h's footage.
    const cookie = await login(server.url, 'admin', 'demo-password-1');
    await waitFor('rooms at the centre', async () => {
      const body = (await (await fetch(`${server.url}/api/venues`, { headers: { cookie } })).json()) as { venues: { id: string; rooms: unknown[] }[] };
      return body.venues.find((v) => v.id === venueId)?.rooms.length === 2;
    });
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({
        projectCode: 'DISK-1',
        projectName: 'Disk test',
        kind: 'evaluation',
        roomId: `${venueId}.eval-1`,
        plannedStart: new Date(Date.now() - 60_000).toISOString(),
        plannedEnd: new Date(Date.now() + 3600_000).toISOString(),
      }),
    });
    expect(res.status).toBe(201);
    await waitFor('the session window held at the box', () => agent.holds.heldNow(camH, `${venueId}.eval-1`), 15_000);
    await waitFor('both cameras recording', () => agent.catalogue.segments(camH).length >= 3 && agent.catalogue.segments(camU).length >= 3, 40_000);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    if (mounted) execFileSync('umount', ['-l', mnt]);
    scratch.remove();
    serverScratch.remove();
  });

  it('removes unheld footage oldest first, pauses the unheld room with an alarm when only held footage is left, and never touches held footage', async () => {
    // A manual hold on the hall's first seconds, placed at the box by an officer.
    const first = agent.catalogue.segments(camU)[0]!;
    const manual = agent.holds.place({ roomId: `${venueId}.hall`, from: first.start, to: new Date(Date.parse(first.start) + 3000).toISOString(), owner: 'officer-li', note: 'incident at the door' });
    const manuallyHeld = agent.catalogue.segments(camU).filter((s) => Date.parse(s.start) < Date.parse(manual.to!));
    expect(manuallyHeld.length).toBeGreaterThanOrEqual(1);

    // Something else fills the disk to 3 MB above the 4 MB watermark: recording crosses it soon.
    ballast('ballast-1', 7 * MB);
    await waitFor('watermark removals', () => agent.retention.removals().filter((r) => r.reason === 'disk_watermark').length >= 3, 60_000, 200);
    const removed = agent.retention.removals();
    expect(new Set(removed.map((r) => r.cameraId))).toEqual(new Set([camU]));
    const heldIds = new Set(manuallyHeld.map((s) => s.id));
    expect(removed.some((r) => heldIds.has(r.segmentId))).toBe(false);
    // Oldest first: each removal is older than every unheld cam-u segment still catalogued.
    const keptUnheld = agent.catalogue.segments(camU).filter((s) => !heldIds.has(s.id));
    const newestRemoved = Math.max(...removed.map((r) => Date.parse(r.start)));
    expect(keptUnheld.every((s) => Date.parse(s.start) > newestRemoved)).toBe(true);
    // (The removal row is written before the file is unlinked: a crash leaves an orphan file, not an unexplained loss.)
    await waitFor('removed files gone', () => removed.every((r) => !existsSync(r.path)), 5_000, 50);
    expect(removed[0]!).toMatchObject({ reason: 'disk_watermark' });
    expect(removed[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);

    // Now the disk is short even with every unheld segment gone.
    const heldBefore = [...agent.catalogue.segments(camH), ...manuallyHeld];
    ballast('ballast-2', 2 * MB);
    await waitFor('alarm raised, hall paused', () => agent.retention.alarmActive && agent.retention.pausedCameras.includes(camU), 30_000, 200);
    expect(agent.retention.pausedCameras).toEqual([camU]);
    expect(agent.recorder(camU)!.isPaused).toBe(true);
    expect(agent.recorder(camH)!.isPaused).toBe(false);
    // Every held segment is still there, byte for byte.
    for (const s of heldBefore) {
      expect(agent.catalogue.segment(s.id), s.id).not.toBeNull();
      expect(sha256(s.path), s.path).toBe(s.sha256);
    }
    // The centre has the alarm (outbox → MQTT → venue_alarms).
    const alarm = await waitFor('alarm at the centre', async () => (await server.services.alarms.forVenue(venueId)).find((a) => a.active), 15_000, 200);
    expect(alarm).toMatchObject({ kind: 'disk_full', pausedCameras: [camU] });
    // The agent keeps running: the held room still records.
    const hCount = agent.catalogue.segments(camH).length;
    await waitFor('cam-h still recording', () => agent.catalogue.segments(camH).length > hCount, 15_000, 200);
    expect(ffmpegChildren(mnt)).toHaveLength(1);

    // Space comes back: the hall records again, the alarm clears, the pause is a disk_full gap.
    await new Promise((r) => setTimeout(r, 3000)); // a pause longer than the 2 s gap threshold
    rmSync(join(mnt, 'ballast-2'));
    rmSync(join(mnt, 'ballast-1'));
    await waitFor('hall resumed', () => !agent.retention.alarmActive && !agent.recorder(camU)!.isPaused, 20_000, 200);
    // The gap is a row (open) from the pause on; it closes when the hall's footage resumes.
    const pauseGap = await waitFor('disk_full gap of the hall closed', () => agent.gaps.log.list(camU).find((g) => g.cause === 'disk_full' && g.end !== null), 30_000, 200);
    expect(Date.parse(pauseGap.end!) - Date.parse(pauseGap.start)).toBeGreaterThan(3000);
    await waitFor('alarm cleared at the centre', async () => (await server.services.alarms.forVenue(venueId)).every((a) => !a.active), 15_000, 200);
    for (const s of heldBefore) expect(sha256(s.path)).toBe(s.sha256);
  }, 150_000);

  it('releases a hold only for its owner, with an audit line', () => {
    const hold = agent.holds.local()[0]!;
    expect(() => agent.holds.release(hold.id, 'someone-else')).toThrow(HoldRefused);
    expect(agent.holds.get(hold.id)!.releasedAt).toBeNull();
    const released = agent.holds.release(hold.id, 'officer-li', 'incident reviewed');
    expect(released.releasedAt).not.toBeNull();
    const lines = agent.holds.auditLines();
    expect(lines.map((l) => [l.action, l.actor])).toEqual(
      expect.arrayContaining([
        ['window_added', 'centre'],
        ['placed', 'officer-li'],
        ['release_refused', 'someone-else'],
        ['released', 'officer-li'],
      ]),
    );
    expect(lines.find((l) => l.action === 'released')!.detail).toBe('incident reviewed');
  });
});
