import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  encodeMessage,
  formatContentRange,
  IngestSegmentResponse,
  IngestUploadConflict,
  IngestUploadStatus,
  SEGMENT_META_HEADER,
  type SegmentRecord,
} from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { segments } from '../../server/db/schema.ts';
import { eq } from 'drizzle-orm';
import { createPgDatabase, serverConfig, silent, tempDir, uniqueVenueId } from './support.ts';

/**
 * Issue 5: resumable ingest at the route. A segment arrives in Content-Range chunks; the centre
 * tells its offset, refuses a range that does not start there (409 with the offset) or a bad
 * Content-Range (400), checks the whole file's SHA-256 on the last byte (a mismatch deletes the
 * partial: the next upload starts at 0), and acknowledges a complete segment again without
 * storing it twice. Against PGlite and PostgreSQL.
 */
describe.each(['pglite', 'postgres'] as const)('resumable ingest on %s', (db) => {
  const venueId = uniqueVenueId('resume');
  const otherVenue = uniqueVenueId('resume');
  const token = randomBytes(24).toString('hex');
  const otherToken = randomBytes(24).toString('hex');
  const cam = `${venueId}.cam-1`;
  const tmp = tempDir('resume');
  let pg: { url: string; drop: () => Promise<void> } | null = null;
  let server: RunningServer;

  const record = (body: Buffer, start = new Date(Date.now() - 600_000)): SegmentRecord => ({
    id: randomUUID(),
    cameraId: cam,
    runId: randomUUID(),
    start: start.toISOString(),
    end: new Date(start.getTime() + 2000).toISOString(),
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    hasAudio: false,
  });
  const headers = (meta: SegmentRecord, t = token) => ({ authorization: `Bearer ${t}`, [SEGMENT_META_HEADER]: JSON.stringify(meta) });
  const put = (meta: SegmentRecord, body: Buffer, range?: string | null, t = token) =>
    fetch(`${server.url}/api/ingest/segments/${meta.id}`, {
      method: 'PUT',
      headers: { ...headers(meta, t), 'content-type': 'application/octet-stream', ...(range ? { 'content-range': range } : {}) },
      body,
    });
  /** Sends bytes [first, last] of `data` with their Content-Range. */
  const putRange = (meta: SegmentRecord, data: Buffer, first: number, last: number) =>
    put(meta, data.subarray(first, last + 1), formatContentRange({ first, last, total: data.length }));
  const offsetOf = async (meta: SegmentRecord, t = token) => {
    const res = await fetch(`${server.url}/api/ingest/segments/${meta.id}/upload`, { headers: headers(meta, t) });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const partials = () => {
    const dir = path.join(tmp.dir, 'footage', '.uploads', venueId);
    return existsSync(dir) ? readdirSync(dir) : [];
  };
  const storedRows = (id: string) => server.db.select().from(segments).where(eq(segments.id, id));
  async function expectError(res: Response, status: number, code: string, message: RegExp): Promise<void> {
    expect(res.status).toBe(status);
    const body = ApiError.parse(await res.json());
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
  }

  beforeAll(async () => {
    if (db === 'postgres') pg = await createPgDatabase();
    server = await startServer(serverConfig(tmp.dir, { databaseUrl: pg?.url ?? null, agents: [{ venueId, token }, { venueId: otherVenue, token: otherToken }] }), { logger: silent });
    await server.services.venues.applyInventory(
      encodeMessage('inventory', {
        venueId,
        venue: { id: venueId, name: 'Resume venue' },
        rooms: [{ id: `${venueId}.opening-1`, name: 'Opening 1', kind: 'bid_opening' }],
        cameras: [{ id: cam, roomId: `${venueId}.opening-1`, name: 'Cam 1', endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: null, recording: true, lastError: null }],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await pg?.drop();
    tmp.remove();
  });

  it('takes a segment in ranges, telling the offset, and stores it once complete', async () => {
    const data = randomBytes(300_000);
    const meta = record(data);
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body)).toEqual({ id: meta.id, offset: 0, bytes: data.length, complete: false });

    const first = await putRange(meta, data, 0, 99_999);
    expect(first.status).toBe(202);
    expect(IngestUploadStatus.parse(await first.json())).toEqual({ id: meta.id, offset: 100_000, bytes: data.length, complete: false });
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body).offset).toBe(100_000);
    // The partial sits beside the store, not as footage: no row, no file under the camera.
    expect(partials()).toEqual([`${meta.id}-${meta.sha256}.part`]);
    expect(await storedRows(meta.id)).toEqual([]);
    // Another venue's box does not see this venue's partial.
    expect((await offsetOf(meta, otherToken)).status).toBe(403);

    expect((await putRange(meta, data, 100_000, 199_999)).status).toBe(202);
    const last = await putRange(meta, data, 200_000, 299_999);
    expect(last.status).toBe(201);
    expect(IngestSegmentResponse.parse(await last.json())).toEqual({ id: meta.id, stored: true, duplicate: false, sha256: meta.sha256 });
    const [row] = await storedRows(meta.id);
    expect(readFileSync(path.join(tmp.dir, 'footage', ...row!.storageKey!.split('/')))).toEqual(data);
    expect(partials()).toEqual([]);
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body)).toEqual({ id: meta.id, offset: data.length, bytes: data.length, complete: true, sha256: meta.sha256 });
  });

  it('refuses a range that does not start at the offset with 409 and the offset to resume from', async () => {
    const data = randomBytes(50_000);
    const meta = record(data);
    expect((await putRange(meta, data, 0, 19_999)).status).toBe(202);
    for (const [first, last] of [
      [30_000, 49_999], // a hole
      [10_000, 29_999], // overlap: bytes the centre already holds
      [0, 49_999], // from the start while a partial exists
    ] as const) {
      const res = await putRange(meta, data, first, last);
      expect(res.status).toBe(409);
      const body = IngestUploadConflict.parse(await res.json());
      expect(body.error.code).toBe('conflict');
      expect(body.error.message).toMatch(/resend from byte 20000/);
      expect(body.upload).toEqual({ id: meta.id, offset: 20_000, bytes: 50_000, complete: false });
    }
    // Nothing of the refused ranges was kept.
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body).offset).toBe(20_000);
    expect((await putRange(meta, data, 20_000, 49_999)).status).toBe(201);
  });

  it('refuses a bad Content-Range, and one that disagrees with the record or the body, with 400', async () => {
    const data = randomBytes(10_000);
    const meta = record(data);
    for (const bad of ['bytes=0-99', 'bytes 0-99/*', 'bytes 100-10/10000', 'bytes 0-10000/10000', 'items 0-9/10000', 'bytes -1-9/10000']) {
      await expectError(await put(meta, data.subarray(0, 100), bad), 400, 'bad_request', /Content-Range/);
    }
    await expectError(await put(meta, data.subarray(0, 100), 'bytes 0-99/20000'), 400, 'bad_request', /total 20000 is not the segment's size 10000/);
    // Content-Length (set by fetch from the 100-byte body) must match the range's length.
    await expectError(await put(meta, data.subarray(0, 100), 'bytes 0-199/10000'), 400, 'bad_request', /Content-Length 100 does not match/);
    // Record header still required and checked on every request.
    const noMeta = await fetch(`${server.url}/api/ingest/segments/${meta.id}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-range': 'bytes 0-99/10000' }, body: data.subarray(0, 100) });
    await expectError(noMeta, 400, 'bad_request', /x-vw-segment/);
    const noMetaOffset = await fetch(`${server.url}/api/ingest/segments/${meta.id}/upload`, { headers: { authorization: `Bearer ${token}` } });
    await expectError(noMetaOffset, 400, 'bad_request', /x-vw-segment/);
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body).offset).toBe(0);
    expect(partials().filter((p) => p.startsWith(meta.id))).toEqual([]);
  });

  it('checks the whole file on the last byte: a mismatch deletes the partial and the upload starts again at 0', async () => {
    const data = randomBytes(40_000);
    const meta = record(data);
    const tampered = Buffer.from(data);
    tampered[25_000] = tampered[25_000]! ^ 0xff;
    expect((await putRange(meta, data, 0, 19_999)).status).toBe(202);
    await expectError(await putRange(meta, tampered, 20_000, 39_999), 422, 'integrity_failed', /upload it again from byte 0/);
    expect(partials().filter((p) => p.startsWith(meta.id))).toEqual([]);
    expect(await storedRows(meta.id)).toEqual([]);
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body).offset).toBe(0);
    // Starting again from 0 with the right bytes stores it.
    expect((await putRange(meta, data, 0, 39_999)).status).toBe(201);
    expect(readdirSync(path.join(tmp.dir, 'footage', '.tmp'))).toEqual([]);
  });

  it('acknowledges a repeated complete upload without storing it twice', async () => {
    const data = randomBytes(30_000);
    const meta = record(data);
    expect((await put(meta, data)).status).toBe(201);
    const [before] = await storedRows(meta.id);
    const traffic = () => server.services.ingest.traffic.get(venueId)!;
    const stored = traffic().stored;
    const refused = traffic().refusedBytes;
    for (const again of [put(meta, data), putRange(meta, data, 0, 29_999), putRange(meta, data, 10_000, 29_999)]) {
      const res = await again;
      expect(res.status).toBe(200);
      expect(IngestSegmentResponse.parse(await res.json())).toEqual({ id: meta.id, stored: true, duplicate: true, sha256: meta.sha256 });
    }
    const rows = await storedRows(meta.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.storedAt).toEqual(before!.storedAt);
    expect(traffic().stored).toBe(stored);
    // The repeats' bodies were not stored, only drained (and counted as wasted uplink).
    expect(traffic().refusedBytes - refused).toBeGreaterThan(0);
    expect(traffic().refusedBytes - refused).toBeLessThanOrEqual(30_000 + 30_000 + 20_000);
    expect(partials().filter((p) => p.startsWith(meta.id))).toEqual([]);
    // The centre's metrics count the ingest traffic per venue.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`vw_ingest_segments_total\\{venue="${venueId}",outcome="duplicate"\\} 3`));
  });

  it('refuses a body longer than its range with 400, keeping only the range, and the connection stays usable', async () => {
    const data = randomBytes(1000);
    const meta = record(data);
    // A streamed body has no Content-Length: the centre counts the bytes itself.
    const res = await fetch(`${server.url}/api/ingest/segments/${meta.id}`, {
      method: 'PUT',
      headers: { ...headers(meta), 'content-range': 'bytes 0-99/1000' },
      body: new Blob([data.subarray(0, 150)]).stream(),
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    await expectError(res, 400, 'bad_request', /longer than Content-Range 0-99/);
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body).offset).toBe(100);
    expect((await putRange(meta, data, 100, 999)).status).toBe(201);
  });

  it('sweeps partial uploads a box abandoned', async () => {
    const data = randomBytes(20_000);
    const [stale, fresh] = [record(data), record(data)];
    for (const m of [stale, fresh]) expect((await putRange(m, data, 0, 9_999)).status).toBe(202);
    const week = 7 * 24 * 3600_000;
    const old = new Date(Date.now() - week - 60_000);
    utimesSync(path.join(tmp.dir, 'footage', '.uploads', venueId, `${stale.id}-${stale.sha256}.part`), old, old);
    expect(await server.services.ingest.sweepAbandoned(week)).toBe(1);
    expect(IngestUploadStatus.parse((await offsetOf(stale)).body).offset).toBe(0);
    expect(IngestUploadStatus.parse((await offsetOf(fresh)).body).offset).toBe(10_000);
  });

  it('keeps the bytes of a body cut short, so the box resumes from them', async () => {
    const data = randomBytes(200_000);
    const meta = record(data);
    // A raw request that declares the whole file, sends 120 000 bytes and dies (the box killed).
    const { request } = await import('node:http');
    const url = new URL(`${server.url}/api/ingest/segments/${meta.id}`);
    await new Promise<void>((resolve) => {
      const req = request(url, { method: 'PUT', headers: { ...headers(meta), 'content-range': formatContentRange({ first: 0, last: 199_999, total: 200_000 }), 'content-length': '200000' } });
      req.on('error', () => resolve());
      req.write(data.subarray(0, 120_000), () => setTimeout(() => req.destroy(), 300));
    });
    const offset = await (async () => {
      for (let i = 0; i < 50; i++) {
        const o = IngestUploadStatus.parse((await offsetOf(meta)).body).offset;
        if (o === 120_000) return o;
        await new Promise((r) => setTimeout(r, 100));
      }
      return IngestUploadStatus.parse((await offsetOf(meta)).body).offset;
    })();
    expect(offset).toBe(120_000);
    expect((await putRange(meta, data, 120_000, 199_999)).status).toBe(201);
    const [row] = await storedRows(meta.id);
    expect(createHash('sha256').update(readFileSync(path.join(tmp.dir, 'footage', ...row!.storageKey!.split('/')))).digest('hex')).toBe(meta.sha256);
  });
  it('lets a newer request take over from a connection the box abandoned (still open at the centre)', async () => {
    const data = randomBytes(200_000);
    const meta = record(data);
    const { request } = await import('node:http');
    // Sends 50 000 bytes of a 200 000-byte range and then hangs, like a link cut without a reset.
    const abandoned = request(new URL(`${server.url}/api/ingest/segments/${meta.id}`), {
      method: 'PUT',
      headers: { ...headers(meta), 'content-range': formatContentRange({ first: 0, last: 199_999, total: 200_000 }), 'content-length': '200000' },
    });
    const closed = new Promise<string>((resolve) => {
      abandoned.on('error', (err) => resolve(err.message));
      abandoned.on('response', (res) => resolve(`answered ${res.statusCode}`));
    });
    abandoned.write(data.subarray(0, 50_000));
    for (let i = 0; i < 50 && IngestUploadStatus.parse((await offsetOf(meta)).body).offset < 50_000; i++) await new Promise((r) => setTimeout(r, 100));
    expect(IngestUploadStatus.parse((await offsetOf(meta)).body).offset).toBe(50_000);
    const resumed = await putRange(meta, data, 50_000, 199_999);
    expect(resumed.status).toBe(201);
    expect(await closed).not.toMatch(/answered 20/);
    const [row] = await storedRows(meta.id);
    expect(readFileSync(path.join(tmp.dir, 'footage', ...row!.storageKey!.split('/')))).toEqual(data);
  });
});
