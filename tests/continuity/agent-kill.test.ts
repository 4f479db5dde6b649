import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GapLog } from '../../edge-agent/continuity/gap-log.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { segments } from '../../server/db/schema.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentProcesses, recordersUnder, sessionOnceVenueKnown } from '../support/agent-process.ts';
import { quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, login, serverConfig, silent } from '../server/support.ts';

/**
 * Issue 5, priority 4: kill -9 of the agent (edge-agent/main.ts as a child process) while it
 * uploads held footage through a 24 KB/s cap, then a restart: nothing lost (every segment recorded
 * before the kill reaches the centre with its hash), nothing duplicated (one stored file per id),
 * and the time the agent was down is a gap row with cause agent_down that reaches the centre.
 */
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');


describe('kill -9 of the agent mid-upload', () => {
  const venueId = uniqueVenue('kill');
  const scratch = scratchDir('kill');
  const serverScratch = scratchDir('kill-centre');
  const dataDir = join(scratch.dir, 'data');
  const cam = `${venueId}.cam-1`;
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  let venue: VirtualVenue;
  let configFile: string;
  const agents = agentProcesses(dataDir, () => configFile);
  const startProgram = agents.start;
  const readCatalogue = agents.readCatalogue;

  beforeAll(async () => {
    pg = await createPgDatabase();
    const token = randomToken();
    server = await startServer(
      serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'demo-password-1' } }),
      { logger: silent },
    );
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Opening', username: 'admin', password: 'pw-kill-1', width: 320, height: 240, fps: 10, bitrateKbps: 200, audio: false }],
      logger: quietLogger(),
    });
    const c = venue.cameras[0]!;
    configFile = join(scratch.dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        venue: { id: venueId, name: 'Kill venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [{ code: 'cam-1', name: 'Opening', room: 'open-1', address: c.xaddr, username: c.username, password: c.password }],
        discovery: { enabled: false, interfaces: [], timeoutMs: 2000, intervalMinutes: 60 },
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir,
        recording: { segmentSeconds: 1, restartDelayMs: 300, rtspTransport: 'tcp' },
        upload: { concurrency: 2, retryDelayMs: 300 },
        footageTransfer: { maxBytesPerSecond: 24 * 1024, reconcileSeconds: 5 },
        logLevel: 'warn',
      }),
    );
    const cookie = await login(server.url, 'admin', 'demo-password-1');
    startProgram();
    await sessionOnceVenueKnown(server.url, cookie, venueId, 'open-1', 'KILL-1');
  }, 120_000);

  afterAll(async () => {
    agents.killAll();
    for (const pid of recordersUnder(dataDir)) process.kill(pid, 'SIGKILL');
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('loses nothing, duplicates nothing, and records the downtime as agent_down', async () => {
    const first = agents.started[0]!;
    // Uploads lag behind recording under the cap: some stored, more waiting.
    await waitFor('uploads under way and behind', () => readCatalogue((c) => {
      const s = c.segments(cam);
      const up = s.filter((x) => x.uploadedAt).length;
      return up >= 4 && s.length - up >= 3;
    }), 60_000, 250);
    first.kill('SIGKILL');
    await new Promise<void>((r) => (first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r())));
    const killedAt = Date.now();
    // An orphaned recorder would stop on its own (its stderr pipe is gone); make sure of it.
    for (const pid of recordersUnder(dataDir)) process.kill(pid, 'SIGKILL');
    const beforeKill = readCatalogue((c) => c.segments(cam));
    expect(beforeKill.some((s) => !s.uploadedAt)).toBe(true);
    await new Promise((r) => setTimeout(r, 4000)); // down for a while: longer than the gap threshold

    const second = startProgram();
    await waitFor(
      'every segment recorded before the kill uploaded',
      () => readCatalogue((c) => beforeKill.every((s) => c.segment(s.id)?.uploadedAt)),
      90_000,
      500,
    );
    for (const s of beforeKill) {
      const [row] = await server.db.select().from(segments).where(eq(segments.id, s.id));
      expect(row?.storedAt, s.id).toBeTruthy();
      expect(sha256(join(serverScratch.dir, 'footage', ...row!.storageKey!.split('/')))).toBe(s.sha256);
    }
    // Nothing duplicated: exactly one stored row per id, and the store's files are all distinct ids.
    const stored = await server.db.select().from(segments).where(eq(segments.cameraId, cam));
    expect(new Set(stored.map((r) => r.id)).size).toBe(stored.length);
    // The downtime: one agent_down gap from the last segment before the kill to the restart.
    const gap = await waitFor('agent_down gap at the box', () => readCatalogue((c) => new GapLog(c, venueId).list(cam).find((g) => g.cause === 'agent_down')), 30_000, 250);
    // (Segments written before the kill but not yet catalogued are catalogued at the restart, as
    // orphaned footage: the downtime starts after the last of them.)
    const runsBefore = new Set(beforeKill.map((s) => s.runId));
    const lastBefore = Math.max(...readCatalogue((c) => c.segments(cam)).filter((s) => runsBefore.has(s.runId)).map((s) => Date.parse(s.end)));
    expect(Date.parse(gap.start)).toBe(lastBefore);
    expect(Date.parse(gap.end!)).toBeGreaterThan(killedAt);
    await waitFor('agent_down gap at the centre', async () => (await server.services.gaps.reported(cam, new Date(gap.start), new Date(gap.end!))).some((g) => g.id === gap.id), 20_000, 250);

    second.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (second.exitCode !== null ? r(second.exitCode) : second.once('exit', (c) => r(c))));
    expect(code).toBe(0);
    expect(recordersUnder(dataDir)).toEqual([]);
  }, 180_000);
});
