import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type DatabaseHandle } from '../../server/db/client.ts';
import { migrate, readMigrations } from '../../server/db/migrate.ts';
import { SegmentRepository } from '../../server/repositories/segments.ts';
import { SessionRepository } from '../../server/repositories/sessions.ts';
import { UserRepository } from '../../server/repositories/users.ts';
import { VenueRepository } from '../../server/repositories/venues.ts';
import { findGaps, coveredSeconds } from '../../server/services/coverage.ts';
import { SessionService } from '../../server/services/sessions.ts';
import { createPgDatabase, silent } from './support.ts';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);

describe.each(['pglite', 'postgres'] as const)('data layer on %s', (kind) => {
  let handle: DatabaseHandle;
  let drop: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    if (kind === 'postgres') {
      const created = await createPgDatabase();
      drop = created.drop;
      handle = await openDatabase({ url: created.url, dir: null });
    } else {
      handle = await openDatabase({ url: null, dir: null });
    }
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
  });

  it('applies the migrations once, and a second run (or a concurrent one) changes nothing', async () => {
    const first = await migrate(handle.db);
    expect(first).toEqual(readMigrations().map((m) => m.name));
    const [second, third] = await Promise.all([migrate(handle.db), migrate(handle.db)]);
    expect(second).toEqual([]);
    expect(third).toEqual([]);
    const versions = await queryRows<{ version: string }>(handle.db, sql`SELECT version FROM schema_migrations ORDER BY version`);
    expect(versions.map((v) => v.version)).toEqual(readMigrations().map((m) => m.version));
    const ext = await queryRows<{ extname: string }>(handle.db, sql`SELECT extname FROM pg_extension WHERE extname = 'btree_gist'`);
    expect(ext).toHaveLength(1);
  });

  describe('with data', () => {
    const venueId = 'dl-venue';
    const cam = `${venueId}.cam-1`;
    const other = `${venueId}.cam-2`;
    const run1 = randomUUID();
    const ids: Record<string, string> = {};
    let segments: SegmentRepository;
    let venues: VenueRepository;

    beforeAll(async () => {
      segments = new SegmentRepository(handle.db);
      venues = new VenueRepository(handle.db);
      await venues.upsertInventory(
        { id: venueId, name: 'Data layer venue' },
        [{ id: `${venueId}.room-1`, name: 'Opening room', kind: 'bid_opening' }],
        [
          { id: cam, roomId: `${venueId}.room-1`, name: 'Cam 1', endpoint: null, manufacturer: 'Hikvision', model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: 'aac', recording: true, lastError: null },
          { id: other, roomId: `${venueId}.room-1`, name: 'Cam 2', endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: null, recording: true, lastError: null },
        ],
      );
      // cam-1: [0,2) [2,4) [6,8) [8.5,10) then nothing until [30,32); cam-2 has [0,100) (must never leak into cam-1's results)
      const spans: Array<[string, string, number, number]> = [
        ['a', cam, 0, 2],
        ['b', cam, 2, 4],
        ['c', cam, 6, 8],
        ['d', cam, 8.5, 10],
        ['e', cam, 30, 32],
        ['x', other, 0, 100],
      ];
      for (const [name, cameraId, from, to] of spans) ids[name] = randomUUID();
      const inserted = await segments.insertMany(
        spans.map(([name, cameraId, from, to]) => ({ id: ids[name]!, cameraId, runId: run1, span: { from: at(from), to: at(to) }, bytes: 1000, sha256: 'f'.repeat(64), hasAudio: true })),
      );
      expect(inserted).toHaveLength(6);
    });

    it('catalogues idempotently by segment id', async () => {
      const again = await segments.insertMany([{ id: ids.a!, cameraId: cam, runId: run1, span: { from: at(0), to: at(2) }, bytes: 1000, sha256: 'f'.repeat(64), hasAudio: true }]);
      expect(again).toEqual([]);
      const row = await segments.get(ids.a!);
      expect(row?.span.from.toISOString()).toBe(at(0).toISOString());
      expect(row?.span.to.toISOString()).toBe(at(2).toISOString());
    });

    const names = async (from: number, to: number, storedOnly = false) => {
      const rows = await segments.overlapping(cam, at(from), at(to), { storedOnly });
      return rows.map((r) => Object.entries(ids).find(([, id]) => id === r.id)![0]);
    };

    it('returns the overlapping segments of one camera in time order', async () => {
      expect(await names(0, 40)).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(await names(3, 7)).toEqual(['b', 'c']); // partial overlaps at both ends
      expect(await names(1, 1.5)).toEqual(['a']); // window inside one segment
    });

    it('treats ranges as half-open: touching is not overlapping', async () => {
      expect(await names(4, 6)).toEqual([]); // exactly the hole between b and c
      expect(await names(2, 2.001)).toEqual(['b']); // starts where a ends
      expect(await names(10, 30)).toEqual([]); // between d's end and e's start
      expect(await names(-5, 0)).toEqual([]);
      expect(await names(32, 50)).toEqual([]);
    });

    it('filters to segments stored at the centre', async () => {
      expect(await names(0, 40, true)).toEqual([]);
      await segments.upsertStored({ id: ids.c!, cameraId: cam, runId: run1, span: { from: at(6), to: at(8) }, bytes: 1000, sha256: 'f'.repeat(64), hasAudio: true, storedAt: new Date(), storageKey: 'k/c.ts' });
      expect(await names(0, 40, true)).toEqual(['c']);
    });

    it('advances a camera’s last segment end only forwards', async () => {
      await venues.advanceLastSegmentEnd(cam, at(32));
      await venues.advanceLastSegmentEnd(cam, at(10));
      expect((await venues.getCamera(cam))?.lastSegmentEnd?.toISOString()).toBe(at(32).toISOString());
    });

    it('computes a session’s recorded, stored seconds and gaps from the catalogue', async () => {
      const users = new UserRepository(handle.db);
      const user = await users.create({ id: randomUUID(), username: `sup-${kind}`, displayName: 'Sup', role: 'supervisor', venueIds: null, passwordHash: 'x' });
      const service = new SessionService(new SessionRepository(handle.db), venues, segments, { preRollMinutes: 1, postRollMinutes: 1, gapThresholdSeconds: 2, reportLagSeconds: 5 }, silent);
      const created = await service.create(
        { projectCode: 'P-1', projectName: 'Road works', kind: 'bid_opening', roomId: `${venueId}.room-1`, plannedStart: at(1).toISOString(), plannedEnd: at(40).toISOString() },
        { id: user.id, username: user.username, displayName: user.displayName, role: 'supervisor', venueIds: null },
      );
      // "now" at 20 s: the window is [1, 20).
      const detail = await service.detail(created.id, { venueIds: null }, at(20));
      expect(detail.session.status).toBe('in_progress');
      const c1 = detail.cameras.find((c) => c.cameraId === cam)!;
      expect(c1.expectedSeconds).toBe(19);
      // [1,2) + [2,4) + [6,8) + [8.5,10) = 1 + 2 + 2 + 1.5
      expect(c1.recordedSeconds).toBeCloseTo(6.5, 6);
      expect(c1.storedSeconds).toBeCloseTo(2, 6);
      // Hole [4,6) is exactly 2 s and [8,8.5) is short: not gaps; [10,20) is.
      expect(c1.gaps).toEqual([{ from: at(10).toISOString(), to: at(20).toISOString(), kind: 'video', cause: null }]);
      // At 16 s the last 6 s (within threshold + report lag, 7 s) are footage still on its way, not a gap.
      const early = (await service.detail(created.id, { venueIds: null }, at(16))).cameras.find((c) => c.cameraId === cam)!;
      expect(early.gaps).toEqual([]);
      expect(early.recordedSeconds).toBeCloseTo(6.5, 6);
      expect(c1.playlistUrl).toBe(`/api/cameras/${cam}/vod.m3u8?from=${encodeURIComponent(at(1 - 60).toISOString())}&to=${encodeURIComponent(at(40).toISOString())}`);
      const c2 = detail.cameras.find((c) => c.cameraId === other)!;
      expect(c2.recordedSeconds).toBe(19);
      expect(c2.gaps).toEqual([]);

      const windows = await service.windowsFor(venueId, at(20));
      expect(windows).toEqual([{ roomId: `${venueId}.room-1`, from: at(1 - 60).toISOString(), to: at(100).toISOString(), reason: 'session', ownerId: created.id }]);

      // A session that began before the camera's first footage: that stretch says so (the venue
      // never reports a cause for time before it recorded the camera); the later hole has none yet.
      expect(await segments.anyBefore(cam, at(0))).toBe(false);
      expect(await segments.anyBefore(cam, at(0.001))).toBe(true);
      // The room is booked from 1 to 40 s: an overlapping booking is refused, naming the session it
      // collides with, unless the room is shared on purpose.
      const overlapping = { projectCode: 'P-0', projectName: 'Bridge', kind: 'evaluation' as const, roomId: `${venueId}.room-1`, plannedStart: at(-10).toISOString(), plannedEnd: at(40).toISOString() };
      const asUser = { id: user.id, username: user.username, displayName: user.displayName, role: 'supervisor' as const, venueIds: null };
      await expect(service.create(overlapping, asUser)).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/already booked then: P-1 Road works.*allowOverlap/) });
      // Back to back is not an overlap.
      await service.create({ ...overlapping, projectCode: 'P-2', plannedStart: at(40).toISOString(), plannedEnd: at(50).toISOString() }, asUser);
      // Two bookings of one free slot at the same moment (on PostgreSQL, two pooled connections): one is booked.
      const race = await Promise.allSettled([0, 1].map((i) => service.create({ ...overlapping, projectCode: `P-race-${i}`, plannedStart: at(100).toISOString(), plannedEnd: at(110).toISOString() }, asUser)));
      expect(race.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const before = await service.create({ ...overlapping, allowOverlap: true }, asUser);
      const b1 = (await service.detail(before.id, { venueIds: null }, at(20))).cameras.find((c) => c.cameraId === cam)!;
      expect(b1.gaps).toEqual([
        { from: at(-10).toISOString(), to: at(0).toISOString(), kind: 'video', cause: 'before_first_footage' },
        { from: at(10).toISOString(), to: at(20).toISOString(), kind: 'video', cause: null },
      ]);
    });
  });
});

describe('coverage arithmetic', () => {
  const span = (a: number, b: number) => ({ from: at(a), to: at(b) });
  it('merges overlapping spans and clips them to the window', () => {
    expect(coveredSeconds([span(0, 5), span(3, 8), span(-10, 1)], span(0, 10))).toBe(8);
    expect(findGaps([span(0, 5), span(3, 8)], span(0, 10), 1)).toEqual([span(8, 10)]);
    expect(findGaps([], span(0, 10), 2)).toEqual([span(0, 10)]);
    expect(findGaps([span(0, 10)], span(0, 10), 0)).toEqual([]);
  });
});
