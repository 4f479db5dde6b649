import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../protocol/index.ts';
import { newSigningKeyPem, signingKeyFromPem } from '../../protocol/integrity.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { SegmentRepository } from '../../server/repositories/segments.ts';
import { EvidenceExportService, ExportCancelled } from '../../server/services/evidence-export.ts';
import { IntegrityService } from '../../server/services/integrity.ts';
import type { ExportPackage } from '../../server/services/export-requests.ts';
import { DiskFootageStore } from '../../server/storage/disk-store.ts';
import { scratchDir } from '../edge-agent/agent-fixture.ts';
import { silent } from './support.ts';

/**
 * The export reads a session's footage one file at a time, as fast as its reader takes the ZIP,
 * and stops when the reader goes away: an export of hours is thousands of files, which must never
 * be open at once, and a closed tab must not leave the centre reading footage for nobody.
 * (End to end — export, unpack, verify, one changed byte found — in tests/continuity/integrity.test.ts.)
 */
describe('evidence export, streaming', () => {
  const scratch = scratchDir('evidence-export');
  const cameraId = 'ee-venue.cam-1';
  const start = Date.parse('2026-03-02T01:00:00.000Z');
  const FILES = 60;
  let handle: DatabaseHandle;
  let open = 0;
  let maxOpen = 0;
  let service: EvidenceExportService;

  beforeAll(async () => {
    handle = await openDatabase({ url: null, dir: null });
    await migrate(handle.db);
    const store = new DiskFootageStore(scratch.dir);
    await store.init();
    const segments = new SegmentRepository(handle.db);
    for (let i = 0; i < FILES; i++) {
      const id = randomUUID();
      const key = `${cameraId}/2026-03-02/${id}.ts`;
      const body = randomBytes(256 * 1024);
      await store.put(key, body);
      const span = { from: new Date(start + i * 2000), to: new Date(start + (i + 1) * 2000) };
      await segments.upsertStored({ id, cameraId, runId: randomUUID(), span, bytes: body.length, sha256: 'f'.repeat(64), hasAudio: true, storedAt: new Date(), storageKey: key });
    }
    // The real store, watched: how many of its files are open at once.
    const get = store.get.bind(store);
    store.get = async (key, range) => {
      const s = await get(key, range);
      open++;
      maxOpen = Math.max(maxOpen, open);
      s.once('close', () => open--);
      return s;
    };
    const integrity = new IntegrityService(handle.db, segments, store, signingKeyFromPem(newSigningKeyPem()), silent);
    service = new EvidenceExportService(segments, integrity, store, silent);
  });
  afterAll(async () => {
    await handle?.close();
    scratch.remove();
  });

  const iso = (ms: number) => new Date(ms).toISOString();
  const detail: ExportPackage = {
    request: { id: randomUUID(), venueId: 'ee-venue', venueName: 'V', roomId: 'ee-venue.r1', roomName: 'R', sessionId: null, projectCode: null, projectName: null, from: iso(start), to: iso(start + FILES * 2000), purpose: 'streaming test', status: 'approved', requestedBy: 'Sup', requestedAt: iso(start), decidedBy: 'Admin', decidedAt: iso(start), decisionNote: null, expiresAt: null, downloads: 1, canDecide: false, canWithdraw: false, canDownload: true },
    session: null,
    cameras: [{ cameraId, name: 'Cam 1', expectedSeconds: FILES * 2, recordedSeconds: FILES * 2, storedSeconds: FILES * 2, gaps: [], playlistUrl: '' }],
    window: { from: new Date(start), to: new Date(start + FILES * 2000) },
  };
  const user = { id: randomUUID(), username: 'sup', displayName: 'Sup', role: 'supervisor', venueIds: null } satisfies User;

  it('reads one file at a time, at the pace of its reader, and writes every file', async () => {
    const out = new PassThrough();
    let bytes = 0;
    // A slow reader: a chunk every few milliseconds.
    const reading = (async () => {
      for await (const chunk of out) {
        bytes += (chunk as Buffer).length;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const result = await service.write(detail, user, out, new Date(start + 3600_000));
    await reading;
    expect(result.files).toBe(FILES + 1); // and the camera's playlist
    expect(bytes).toBeGreaterThan(FILES * 256 * 1024);
    expect(maxOpen).toBe(1);
    expect(open).toBe(0);
  });

  it('stops reading footage when the reader goes away, and closes what it opened', async () => {
    maxOpen = 0;
    const out = new PassThrough();
    let chunks = 0;
    out.on('data', () => {
      // The reader takes a few files' worth, then leaves mid-footage (a closed tab).
      if (++chunks === 40) out.destroy();
    });
    await expect(service.write(detail, user, out, new Date(start + 3600_000))).rejects.toBeInstanceOf(ExportCancelled);
    await new Promise((r) => setTimeout(r, 100));
    expect(open).toBe(0);
    expect(maxOpen).toBe(1);
  });
});
