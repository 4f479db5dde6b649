import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../config/binaries.ts';
import { IngestUploadStatus, SEGMENT_META_HEADER, type SegmentRecord } from '../../protocol/index.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { segments } from '../../server/db/schema.ts';
import { agentProcesses, sessionOnceVenueKnown } from '../support/agent-process.ts';
import { freePort } from '../support/ports.ts';
import { hasCommand, need } from '../support/prerequisites.ts';
import { scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, login, serverConfig, silent } from '../server/support.ts';

/**
 * Issue 5: uploads resume by byte range. A held segment of several MB (real MPEG-TS from ffmpeg)
 * goes up under a 128 KiB/s cap; the agent (edge-agent/main.ts, a child process) is killed with
 * SIGKILL mid-upload. The centre then holds a partial (offset > 0, not footage yet) and the box
 * still holds the segment, unacknowledged. After a restart the box asks the offset and sends only
 * the rest: the centre receives exactly total − offset more bytes, stores one file whose SHA-256
 * is the box's, and one row. PostgreSQL server, as the agent-kill test.
 */
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const CAP = 128 * 1024;

describe.runIf(need(hasCommand('ffmpeg') ? { ok: true } : { ok: false, reason: 'ffmpeg missing: apt-get install ffmpeg' }))('kill -9 of the agent mid-upload of a large segment', () => {
  const venueId = uniqueVenue('resume');
  const scratch = scratchDir('resume');
  const serverScratch = scratchDir('resume-centre');
  const dataDir = join(scratch.dir, 'data');
  const cam = `${venueId}.cam-1`;
  const token = randomToken();
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  let configFile: string;
  let seg: SegmentRecord & { path: string };
  const agents = agentProcesses(dataDir, () => configFile);
  const startProgram = agents.start;
  const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
  const readCatalogue = agents.readCatalogue;
  /** What the centre says it holds, asked the way the box asks. */
  const centreOffset = async () => {
    const { path: _path, ...record } = seg;
    const res = await fetch(`${server.url}/api/ingest/segments/${seg.id}/upload`, { headers: { authorization: `Bearer ${token}`, [SEGMENT_META_HEADER]: JSON.stringify(record) } });
    return IngestUploadStatus.parse(await res.json());
  };
  /** Body bytes the centre read from this venue: taken, and refused (wasted uplink). */
  const received = () => {
    const t = server.services.ingest.traffic.get(venueId);
    return (t?.receivedBytes ?? 0) + (t?.refusedBytes ?? 0);
  };

  beforeAll(async () => {
    pg = await createPgDatabase();
    server = await startServer(
      serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'demo-password-1' } }),
      { logger: silent },
    );
    // The held segment: ~3 MB of real MPEG-TS, catalogued as the recorder would, 20 s ago. The
    // camera itself is unreachable, so this is the only footage the box has to send.
    const segPath = join(dataDir, 'recordings', cam, 'run-1', 'seg_000001.ts');
    mkdirSync(join(dataDir, 'recordings', cam, 'run-1'), { recursive: true });
    execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '4M', '-minrate', '4M', '-maxrate', '4M', '-bufsize', '1M', '-f', 'mpegts', segPath]);
    const start = Date.now() - 20_000;
    seg = {
      id: randomUUID(),
      cameraId: cam,
      runId: randomUUID(),
      start: new Date(start).toISOString(),
      end: new Date(start + 6000).toISOString(),
      bytes: statSync(segPath).size,
      sha256: sha256(segPath),
      hasAudio: false,
      path: segPath,
    };
    readCatalogue((c) => c.addSegment(seg));

    configFile = join(scratch.dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        venue: { id: venueId, name: 'Resume venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [{ code: 'cam-1', name: 'Opening', room: 'open-1', address: `127.0.0.1:${await freePort()}` }],
        discovery: { enabled: false, interfaces: [], timeoutMs: 2000, intervalMinutes: 60 },
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir,
        upload: { concurrency: 1, retryDelayMs: 300 },
        footageTransfer: { maxBytesPerSecond: CAP, reconcileSeconds: 5 },
        logLevel: 'warn',
      }),
    );
    const cookie = await login(server.url, 'admin', 'demo-password-1');
    startProgram();
    await sessionOnceVenueKnown(server.url, cookie, venueId, 'open-1', 'RESUME-1');
  }, 120_000);

  afterAll(async () => {
    agents.killAll();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('sends only the remainder after the restart; one stored file with the box’s hash', async () => {
    expect(seg.bytes).toBeGreaterThan(2_000_000);
    const first = agents.started[0]!;
    // Well into the upload, at least one chunk (4 s of the cap) answered and the next under way.
    await waitFor('a third of the segment at the centre', async () => (await centreOffset()).offset > seg.bytes / 3, 90_000, 200);
    first.kill('SIGKILL');
    await exited(first);

    // The centre keeps a partial (not footage) and the box keeps the segment, unacknowledged.
    const partial = await waitFor('the partial settled', async () => {
      const a = await centreOffset();
      await new Promise((r) => setTimeout(r, 300));
      const b = await centreOffset();
      return a.offset === b.offset ? b : null;
    }, 10_000);
    expect(partial.complete).toBe(false);
    expect(partial.offset).toBeGreaterThan(0);
    expect(partial.offset).toBeLessThan(seg.bytes);
    // The segment may be catalogued at the centre (announced over MQTT) but is not stored footage.
    expect((await server.db.select().from(segments).where(eq(segments.id, seg.id))).filter((r) => r.storedAt || r.storageKey)).toEqual([]);
    expect(readCatalogue((c) => c.segment(seg.id)?.uploadedAt)).toBeNull();
    expect(existsSync(seg.path)).toBe(true);
    const receivedBefore = received();

    const second = startProgram();
    await waitFor('segment acknowledged after the restart', () => readCatalogue((c) => c.segment(seg.id)?.uploadedAt), 90_000, 300);
    // Only the rest crossed the link: exactly the bytes the centre lacked.
    expect(received() - receivedBefore).toBe(seg.bytes - partial.offset);

    const rows = await server.db.select().from(segments).where(eq(segments.id, seg.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sha256).toBe(seg.sha256);
    expect(sha256(join(serverScratch.dir, 'footage', ...rows[0]!.storageKey!.split('/')))).toBe(seg.sha256);
    expect(readdirSync(join(serverScratch.dir, 'footage', '.uploads', venueId))).toEqual([]);
    expect(await centreOffset()).toEqual({ id: seg.id, offset: seg.bytes, bytes: seg.bytes, complete: true, sha256: seg.sha256 });
    expect(server.services.ingest.traffic.get(venueId)).toMatchObject({ stored: 1, integrityFailed: 0 });

    second.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (second.exitCode !== null ? r(second.exitCode) : second.once('exit', (c) => r(c))));
    expect(code).toBe(0);
  }, 240_000);
});
