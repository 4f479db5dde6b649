import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { encodeMessage, formatContentRange, SEGMENT_META_HEADER, type SegmentRecord } from '../../protocol/index.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { segments } from '../../server/db/schema.ts';
import { serverConfig, silent, tempDir } from '../server/support.ts';
import { agentConfig, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

/**
 * Issue 5: the uploader resumes where a real centre left off, on both of its paths. A segment
 * bigger than one chunk starts by asking the offset (GET …/upload); a one-chunk segment is sent
 * whole and, when the centre already holds part of it, resumes from the offset in the 409. Either
 * way the centre takes only the missing bytes (counted by the centre), under the bandwidth cap; the
 * one-chunk path may waste its first, refused PUT (at most one chunk, once per restart).
 */
describe('uploader resuming from the centre’s offset', () => {
  const venueId = uniqueVenue('resume-up');
  const scratch = scratchDir('resume-up');
  const centreDir = tempDir('resume-up-centre');
  const token = randomToken();
  const cam = `${venueId}.cam-a`;
  const room = `${venueId}.eval-1`;
  let server: RunningServer;
  let agent: Agent;
  const t0 = Date.now() - 3600_000;

  const segment = (bytes: number, startMs: number) => {
    const data = randomBytes(bytes);
    const id = randomUUID();
    const path = join(scratch.dir, `${id}.ts`);
    writeFileSync(path, data);
    const record: SegmentRecord = {
      id,
      cameraId: cam,
      runId: randomUUID(),
      start: new Date(startMs).toISOString(),
      end: new Date(startMs + 2000).toISOString(),
      bytes,
      sha256: createHash('sha256').update(data).digest('hex'),
      hasAudio: false,
    };
    return { record, data, path };
  };
  /** What an earlier, killed agent process left at the centre: the first `upTo` bytes. */
  const seedPartial = async (s: ReturnType<typeof segment>, upTo: number) => {
    const res = await fetch(`${server.url}/api/ingest/segments/${s.record.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, [SEGMENT_META_HEADER]: JSON.stringify(s.record), 'content-range': formatContentRange({ first: 0, last: upTo - 1, total: s.data.length }) },
      body: s.data.subarray(0, upTo),
    });
    expect(res.status).toBe(202);
  };
  // 64 KiB/s: chunks of 256 KiB. `small` fits one chunk, `large` does not.
  const small = segment(100_000, t0 + 10_000);
  const large = segment(400_000, t0 + 20_000);

  beforeAll(async () => {
    server = await startServer(serverConfig(centreDir.dir, { agents: [{ venueId, token }] }), { logger: silent });
    await server.services.venues.applyInventory(
      encodeMessage('inventory', {
        venueId,
        venue: { id: venueId, name: 'Resume venue' },
        rooms: [{ id: room, name: 'Evaluation 1', kind: 'evaluation' }],
        cameras: [{ id: cam, roomId: room, name: 'A', endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: null, recording: true, lastError: null }],
      }),
    );
    await seedPartial(small, 40_000);
    await seedPartial(large, 150_000);
    const nowhere = await freePort();
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Resume venue' },
        rooms: [{ code: 'eval-1', name: 'Evaluation 1', kind: 'evaluation' }],
        cameras: [{ code: 'cam-a', name: 'A', room: 'eval-1', address: `127.0.0.1:${nowhere}` }],
        mqtt: { url: `mqtt://127.0.0.1:${nowhere}` },
        centre: { url: server.url, token },
        dataDir: join(scratch.dir, 'data'),
        footageTransfer: { maxBytesPerSecond: 64 * 1024, reconcileSeconds: 300 },
      }),
      { logger: quietLogger() },
    );
    for (const s of [small, large]) agent.catalogue.addSegment({ ...s.record, path: s.path });
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    scratch.remove();
    centreDir.remove();
  });

  it('sends only the bytes the centre lacks, and both segments are stored with the box’s hash', async () => {
    expect(agent.uploader.limiter.chunkBytes()).toBe(256 * 1024);
    const traffic = () => server.services.ingest.traffic.get(venueId)!;
    const before = { ...traffic() };
    agent.uploader.setWindows([{ roomId: room, from: new Date(t0).toISOString(), to: new Date(t0 + 60_000).toISOString(), reason: 'session', ownerId: '11111111-1111-4111-8111-111111111111' }]);
    await waitFor('both segments acknowledged', () => [small, large].every((s) => agent.catalogue.segment(s.record.id)?.uploadedAt), 30_000, 200);
    expect(traffic().receivedBytes - before.receivedBytes).toBe(100_000 - 40_000 + (400_000 - 150_000));
    // The price of not asking first for a one-chunk segment: its refused first PUT (at most its size,
    // once); the large segment asked first and cost nothing extra.
    expect(traffic().refusedBytes - before.refusedBytes).toBeLessThanOrEqual(100_000);
    expect(agent.uploader.resumed).toBe(2);
    expect(agent.uploader.resumedBytes).toBe(40_000 + 150_000);
    // The technician sees the same on the box's /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${agent.health.metricsPort}/metrics`)).text();
    expect(metrics).toContain('# TYPE vw_upload_resumed_total counter');
    expect(metrics).toContain(`vw_upload_resumed_total{venue="${venueId}"} 2`);
    expect(metrics).toContain(`vw_upload_resumed_bytes_total{venue="${venueId}"} ${40_000 + 150_000}`);
    expect(metrics).toMatch(new RegExp(`vw_upload_segments_total\\{venue="${venueId}"\\} ${agent.uploader.uploaded}\n`));
    for (const s of [small, large]) {
      const rows = await server.db.select().from(segments).where(eq(segments.id, s.record.id));
      expect(rows).toHaveLength(1);
      expect(readFileSync(join(centreDir.dir, 'footage', ...rows[0]!.storageKey!.split('/')))).toEqual(s.data);
    }
  });
});
