import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { IngestSegmentMeta, venueOf, type IngestSegmentResponse } from '../../protocol/index.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import type { DiskFootageStore } from '../storage/disk-store.ts';
import type { FootageStore } from '../storage/footage-store.ts';
import { AppError } from './errors.ts';

export const MAX_SEGMENT_BYTES = 512 * 1024 * 1024;

/** Where a segment lives in the store: per camera and UTC day, so a folder never grows without bound. */
export function storageKeyFor(cameraId: string, id: string, start: Date): string {
  return `${cameraId}/${start.toISOString().slice(0, 10)}/${id}.ts`;
}

class TooLarge extends Error {}

/**
 * Venue box → centre footage upload. The body is streamed to a scratch file while it is hashed;
 * only a segment whose SHA-256 and size match its catalogue record is moved into the store.
 *
 * A camera the centre has not yet heard of (its inventory has not arrived) is refused with 409 so
 * the box retries later, rather than the store filling with footage of ids no inventory names.
 */
export class IngestService {
  /** Issue 5: told after each newly stored segment (the centre re-signs that period's manifest). */
  onStored: ((meta: { cameraId: string; start: Date }) => Promise<void>) | null = null;

  constructor(
    private readonly segments: SegmentRepository,
    private readonly venues: VenueRepository,
    private readonly store: FootageStore & Pick<DiskFootageStore, 'tempPath'>,
    private readonly logger: Logger,
  ) {}

  async ingest(venueId: string, id: string, metaHeader: string | undefined, body: Readable): Promise<IngestSegmentResponse> {
    if (!metaHeader) throw new AppError('bad_request', 'missing segment record header: send the SegmentRecord as JSON in x-vw-segment');
    let json: unknown;
    try {
      json = JSON.parse(metaHeader);
    } catch {
      throw new AppError('bad_request', 'the segment record header is not JSON');
    }
    const parsed = IngestSegmentMeta.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AppError('bad_request', `segment record: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const meta = parsed.data;
    if (meta.id !== id) throw new AppError('bad_request', `segment record id ${meta.id} does not match the URL's ${id}`);
    if (venueOf(meta.cameraId) !== venueId) throw new AppError('forbidden', `camera "${meta.cameraId}" is not a camera of venue "${venueId}"`);
    const log = this.logger.child({ venueId, cameraId: meta.cameraId, segmentId: id });
    if (!(await this.venues.getCamera(meta.cameraId))) {
      throw new AppError('conflict', `camera "${meta.cameraId}" is not in the centre's inventory yet: publish the venue inventory, then retry the upload`);
    }
    const existing = await this.segments.get(id);
    if (existing && existing.sha256 !== meta.sha256) {
      throw new AppError('conflict', `segment ${id} is already catalogued with a different SHA-256; a segment id must name one file`);
    }

    const tmp = this.store.tempPath();
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > MAX_SEGMENT_BYTES) return done(new TooLarge());
          hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(body, meter, createWriteStream(tmp));
      } catch (err) {
        if (err instanceof TooLarge) throw new AppError('payload_too_large', `segment ${id} exceeds ${MAX_SEGMENT_BYTES} bytes`);
        throw err;
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== meta.sha256 || bytes !== meta.bytes) {
        log.warn({ expected: { sha256: meta.sha256, bytes: meta.bytes }, received: { sha256, bytes } }, 'segment upload failed its integrity check');
        throw new AppError('integrity_failed', `segment ${id} arrived as ${bytes} bytes with SHA-256 ${sha256}, but its record says ${meta.bytes} bytes with ${meta.sha256}: upload it again`);
      }
      if (existing?.storedAt && existing.storageKey && (await this.store.stat(existing.storageKey))) {
        return { id, stored: true, duplicate: true, sha256 };
      }
      const start = new Date(meta.start);
      const key = storageKeyFor(meta.cameraId, id, start);
      await this.store.putFile(key, tmp);
      await this.segments.upsertStored({
        id,
        cameraId: meta.cameraId,
        runId: meta.runId,
        span: { from: start, to: new Date(meta.end) },
        bytes: meta.bytes,
        sha256: meta.sha256,
        hasAudio: meta.hasAudio,
        storedAt: new Date(),
        storageKey: key,
      });
      await this.venues.advanceLastSegmentEnd(meta.cameraId, new Date(meta.end));
      log.debug({ bytes, key }, 'stored segment');
      await this.onStored?.({ cameraId: meta.cameraId, start }).catch((err: Error) => log.warn({ err: err.message }, 'could not re-sign the centre manifest'));
      return { id, stored: true, duplicate: false, sha256 };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Issue 5: which of these segments of the venue the centre does not hold intact (by record and file). */
  async reconcile(venueId: string, segments: Array<{ id: string; sha256: string }>): Promise<string[]> {
    const missing: string[] = [];
    for (const s of segments) {
      const row = await this.segments.get(s.id);
      if (row && venueOf(row.cameraId) !== venueId) throw new AppError('forbidden', `segment ${s.id} is not a segment of venue "${venueId}"`);
      const stat = row?.storedAt && row.storageKey ? await this.store.stat(row.storageKey) : null;
      if (!row || !stat || row.sha256 !== s.sha256 || stat.bytes !== row.bytes) missing.push(s.id);
    }
    return missing;
  }
}
