import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GapLog } from '../../edge-agent/continuity/gap-log.ts';
import { recordHash } from '../../protocol/integrity.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentProcesses, recordersUnder } from '../support/agent-process.ts';
import { freePort } from '../support/ports.ts';
import { quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { MOSQUITTO_URL } from '../server/support.ts';
import { runVerify } from '../support/verify-cli.ts';

/**
 * Issue 5: footage an orphaned recorder wrote is catalogued. The agent (edge-agent/main.ts, a child
 * process) is killed with SIGKILL while recording; its ffmpeg keeps writing into the run folder
 * until it dies or the next start reaps it, and the segments of the last seconds before the kill
 * were never catalogued either. The restarted agent catalogues every one of those files (hashed,
 * chained, dated), signs them (supplementary manifests where their period was already signed),
 * and `npm run verify` passes with no segment file left out.
 */
const ms = (iso: string) => Date.parse(iso);


describe('footage of an orphaned recorder', () => {
  const venueId = uniqueVenue('orphan');
  const scratch = scratchDir('orphan');
  const dataDir = join(scratch.dir, 'data');
  const recordings = join(dataDir, 'recordings');
  const cam = `${venueId}.cam-1`;
  let venue: VirtualVenue;
  let configFile: string;
  const agents = agentProcesses(dataDir, () => configFile);
  const startProgram = agents.start;
  const readCatalogue = agents.readCatalogue;

  beforeAll(async () => {
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Opening', username: 'admin', password: 'pw-orphan-1', width: 320, height: 240, fps: 10, bitrateKbps: 150 }],
      logger: quietLogger(),
    });
    const c = venue.cameras[0]!;
    configFile = join(scratch.dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        venue: { id: venueId, name: 'Orphan venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [{ code: 'cam-1', name: 'Opening', room: 'open-1', address: c.xaddr, username: c.username, password: c.password }],
        discovery: { enabled: false, interfaces: [], timeoutMs: 2000, intervalMinutes: 60 },
        // The centre is not needed here: messages wait in the outbox.
        mqtt: { url: MOSQUITTO_URL },
        centre: { url: `http://127.0.0.1:${await freePort()}`, token: 'x'.repeat(32) },
        dataDir,
        recording: { segmentSeconds: 1, restartDelayMs: 300, rtspTransport: 'tcp' },
        integrity: { manifestPeriodSeconds: 4 },
        logLevel: 'warn',
      }),
    );
  }, 60_000);

  afterAll(async () => {
    agents.killAll();
    for (const pid of recordersUnder(dataDir)) process.kill(pid, 'SIGKILL');
    await venue?.stop();
    scratch.remove();
  });

  it('catalogues, chains and signs every segment file the catalogue did not know', async () => {
    const first = startProgram();
    await waitFor('a few signed periods', () => readCatalogue((c) => c.segments(cam).length >= 10 && (c.db.prepare('SELECT COUNT(*) AS n FROM manifests').get() as { n: number }).n >= 2), 60_000, 250);
    const orphanPids = recordersUnder(dataDir);
    expect(orphanPids).toHaveLength(1);
    first.kill('SIGKILL');
    await new Promise<void>((r) => (first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r())));
    const killedAt = Date.now();
    const before = readCatalogue((c) => c.segments(cam));
    // The orphan keeps recording for a while (until its stderr pipe breaks, or the next start reaps it).
    await new Promise((r) => setTimeout(r, 3000));
    const runs = readdirSync(join(recordings, cam)).filter((d) => d !== 'manifests');
    const segmentFiles = () => runs.flatMap((r) => readdirSync(join(recordings, cam, r)).filter((f) => /^seg_\d+\.ts$/.test(f)).map((f) => join(recordings, cam, r, f)));
    expect(segmentFiles().filter((p) => !before.some((s) => s.path === p)).length).toBeGreaterThan(0);

    const second = startProgram();
    const oldRuns = new Set(runs);
    await waitFor('recording again in a new run', () => readCatalogue((c) => c.segments(cam).some((s) => !oldRuns.has(s.runId))), 60_000, 250);
    expect(recordersUnder(dataDir).filter((p) => orphanPids.includes(p))).toEqual([]);
    const after = readCatalogue((c) => c.segments(cam));
    // The old runs are final now (the orphan was reaped before the new recorder started).
    const onDisk = segmentFiles();
    const unknown = onDisk.filter((p) => !before.some((s) => s.path === p));
    const writtenAfterKill = unknown.filter((p) => statSync(p).mtimeMs > killedAt);
    // No footage on disk is invisible: every file of the old runs is catalogued, with its bytes' hash.
    const paths = new Set(after.map((s) => s.path));
    expect(onDisk.filter((p) => !paths.has(p))).toEqual([]);
    const added = after.filter((s) => unknown.includes(s.path));
    expect(added).toHaveLength(unknown.length);
    for (const s of added) expect(s.bytes).toBe(statSync(s.path).size);
    // Chained like any other segment, in recording order, between the footage before and after.
    for (let i = 1; i < after.length; i++) expect(after[i]!.prevHash).toBe(recordHash({ ...after[i - 1]!, prevHash: after[i - 1]!.prevHash! }));
    const lastBefore = Math.max(...before.map((s) => ms(s.end)));
    const firstNew = Math.min(...after.filter((s) => !oldRuns.has(s.runId)).map((s) => ms(s.start)));
    for (const s of added) {
      expect(ms(s.start)).toBeGreaterThanOrEqual(lastBefore - 50);
      expect(ms(s.end)).toBeGreaterThan(ms(s.start));
      expect(ms(s.end)).toBeLessThanOrEqual(firstNew);
    }
    const orderedAdded = [...added].sort((a, b) => ms(a.start) - ms(b.start));
    for (let i = 1; i < orderedAdded.length; i++) expect(ms(orderedAdded[i]!.start)).toBeGreaterThanOrEqual(ms(orderedAdded[i - 1]!.end) - 50);
    // Its run is marked, and the agent's downtime starts where that footage ends, not before.
    const mark = readCatalogue((c) => c.getState(`orphan-footage:${added[0]!.runId}`));
    expect(JSON.parse(mark!)).toMatchObject({ cameraId: cam, segments: added.length });
    const down = readCatalogue((c) => new GapLog(c, venueId).list(cam).find((g) => g.cause === 'agent_down'));
    if (down) expect(ms(down.start)).toBe(Math.max(...added.map((s) => ms(s.end)), lastBefore));
    console.info(`orphaned footage: ${added.length} segments catalogued at restart (${writtenAfterKill.length} written after the kill)`);

    // Signed (supplementary manifests where the period was already signed) and verifiable.
    await waitFor('the orphaned footage signed', () => readCatalogue((c) => {
      const { n } = c.db.prepare(`SELECT COUNT(*) AS n FROM manifests WHERE last_rowid >= (SELECT MAX(rowid) FROM segments WHERE path IN (${added.map(() => '?').join(',')}))`).get(...added.map((s) => s.path)) as { n: number };
      return n > 0;
    }), 30_000, 500);
    second.kill('SIGTERM');
    await new Promise<void>((r) => (second.exitCode !== null || second.signalCode !== null ? r() : second.once('exit', () => r())));
    const { code, out: stdout } = await runVerify(recordings);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OK: \d+ manifest/m);
    const manifested = Number(/(\d+) segment file\(s\) verified/.exec(stdout)![1]);
    expect(manifested).toBeGreaterThanOrEqual(before.length + added.length);
  }, 180_000);
});
