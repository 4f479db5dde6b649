import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { HoldBook } from '../../edge-agent/retention/holds.ts';
import { Retention } from '../../edge-agent/retention/retention.ts';
import { agentConfig, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';

/** The rolling window over a real catalogue and real files: unheld old footage goes, held stays. */
describe('retention window', () => {
  const scratch = scratchDir('retention-window');
  afterAll(() => scratch.remove());

  it('removes unheld footage older than windowDays, keeps held and recent footage, and records each removal', async () => {
    const venueId = 't-window';
    const catalogue = new Catalogue(join(scratch.dir, 'catalogue.db'));
    const room = `${venueId}.eval-1`;
    const hall = `${venueId}.hall`;
    for (const [id, roomId] of [[`${venueId}.cam-e`, room], [`${venueId}.cam-h`, hall]] as const) {
      catalogue.upsertCamera({ id, roomId, name: id, endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: null, recording: true, lastError: null });
    }
    const day = 86_400_000;
    const now = Date.now();
    const seg = (cameraId: string, startMs: number) => {
      const id = randomUUID();
      const path = join(scratch.dir, `${id}.ts`);
      writeFileSync(path, Buffer.alloc(188, 1));
      const s = { id, cameraId, runId: randomUUID(), start: new Date(startMs).toISOString(), end: new Date(startMs + 2000).toISOString(), bytes: 188, sha256: 'c'.repeat(64), hasAudio: false, path };
      catalogue.addSegment(s);
      return s;
    };
    const oldUnheld = seg(`${venueId}.cam-h`, now - 31 * day);
    const oldInSession = seg(`${venueId}.cam-e`, now - 40 * day);
    const oldManual = seg(`${venueId}.cam-h`, now - 35 * day);
    const recent = seg(`${venueId}.cam-h`, now - 29 * day);
    const holds = new HoldBook(catalogue);
    holds.setWindows([{ roomId: room, from: new Date(now - 41 * day).toISOString(), to: new Date(now - 39 * day).toISOString(), reason: 'session', ownerId: randomUUID() }]);
    holds.place({ cameraId: `${venueId}.cam-h`, from: new Date(now - 35 * day - 1000).toISOString(), to: new Date(now - 35 * day + 5000).toISOString(), owner: 'officer-wang' });
    const retention = new Retention({
      config: agentConfig({ venue: { id: venueId, name: 'W' }, dataDir: scratch.dir, retention: { windowDays: 30, minFreeMB: 0, resumeMarginMB: 0, checkSeconds: 60 } }),
      catalogue,
      holds,
      logger: quietLogger(),
      diskPath: scratch.dir,
      cameras: () => [],
    });
    await retention.check();
    expect(retention.removals().map((r) => [r.segmentId, r.reason])).toEqual([[oldUnheld.id, 'retention_window']]);
    expect(existsSync(oldUnheld.path)).toBe(false);
    expect(catalogue.segment(oldUnheld.id)).toBeNull();
    for (const kept of [oldInSession, oldManual, recent]) {
      expect(catalogue.segment(kept.id)).not.toBeNull();
      expect(existsSync(kept.path)).toBe(true);
    }
    const r = retention.removals()[0]!;
    expect(r).toMatchObject({ cameraId: `${venueId}.cam-h`, start: oldUnheld.start, end: oldUnheld.end, bytes: 188, sha256: oldUnheld.sha256, path: oldUnheld.path });
    expect(Date.parse(r.removedAt)).toBeGreaterThanOrEqual(now);
    expect(retention.alarmActive).toBe(false);
    catalogue.close();
  });
});
