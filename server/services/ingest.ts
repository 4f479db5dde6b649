import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline, Transform } from 'node:stream';
import type { Logger } from 'pino';
import {
  IngestSegmentMeta,
  venueOf,
  type ContentRange,
  type IngestSegmentResponse,
  type IngestUploadStatus,
  type SegmentRecord,
} from '../../protocol/index.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import type { FootageStore, PartialUploads } from '../storage/footage-store.ts';
import { AppError } from './errors.ts';

/** Where a segment lives in the store: per camera and UTC day, so a folder never grows without bound. */
export function storageKeyFor(cameraId: string, id: string, start: Date): string {
  return `${cameraId}/${start.toISOString().slice(0, 10)}/${id}.ts`;
}

/** A partial upload is bound to its venue and to the file its record names (id + SHA-256). */
const uploadKeyFor = (venueId: string, meta: SegmentRecord): string => `${venueId}/${meta.id}-${meta.sha256}`;

/** The range does not start at the centre's offset: the box resumes from `upload.offset`. */
export class UploadOffsetConflict extends AppError {
  constructor(
    message: string,
    readonly upload: IngestUploadStatus,
  ) {
    super('conflict', { en: message, zh: '' });
  }
}

/** What a PUT achieved: the segment is stored (or already was), or more bytes are needed. */
export type IngestResult = { kind: 'stored'; answer: IngestSegmentResponse } | { kind: 'partial'; status: IngestUploadStatus };

/** Per venue, for /metrics: bytes received on ingest and segments by outcome. */
export interface IngestTraffic {
  /** Body bytes read for a range the centre took (kept, or past the range's end and dropped). */
  receivedBytes: number;
  /** Body bytes of requests refused before reading (wrong offset, already stored…): uplink wasted. */
  refusedBytes: number;
  stored: number;
  duplicate: number;
  integrityFailed: number;
}

/**
 * Venue box → centre footage upload, resumable by byte range (protocol/api.ts IngestUploadStatus).
 * Bytes grow a partial upload beside the store (never visible as footage); when the last byte
 * arrives the whole file's SHA-256 and size are checked against the catalogue record, and only a
 * match is moved into the store. A mismatch deletes the partial, so the box starts again from 0.
 *
 * A camera the centre has not yet heard of (its inventory has not arrived) is refused with 409 so
 * the box retries later, rather than the store filling with footage of ids no inventory names.
 */
export class IngestService {
  /** Issue 5: told after each newly stored segment (the centre re-signs that period's manifest). */
  onStored: ((meta: { cameraId: string; start: Date }) => Promise<void>) | null = null;
  /** Venue id → traffic counters (GET /metrics). */
  readonly traffic = new Map<string, IngestTraffic>();
  /** Uploads with a request in progress (its body, and when it has let go of the partial). */
  private readonly busy = new Map<string, { body: Readable; done: Promise<void> }>();

  constructor(
    private readonly segments: SegmentRepository,
    private readonly venues: VenueRepository,
    private readonly store: FootageStore & PartialUploads,
    private readonly logger: Logger,
  ) {}

  private count(venueId: string): IngestTraffic {
    let t = this.traffic.get(venueId);
    if (!t) this.traffic.set(venueId, (t = { receivedBytes: 0, refusedBytes: 0, stored: 0, duplicate: 0, integrityFailed: 0 }));
    return t;
  }

  /** Drains the body of a refused request (the connection stays usable), counting what it cost. */
  drainRefused(venueId: string, body: Readable): void {
    const traffic = this.count(venueId);
    body.on('data', (chunk: Buffer) => (traffic.refusedBytes += chunk.length));
    body.resume();
  }

  /** Parses and checks the record header against the URL, the venue and the inventory. */
  private async record(venueId: string, id: string, metaHeader: string | undefined): Promise<SegmentRecord> {
    if (!metaHeader) throw AppError.forMachines('bad_request', 'missing segment record header: send the SegmentRecord as JSON in x-vw-segment');
    let json: unknown;
    try {
      json = JSON.parse(metaHeader);
    } catch {
      throw AppError.forMachines('bad_request', 'the segment record header is not JSON');
    }
    const parsed = IngestSegmentMeta.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw AppError.forMachines('bad_request', `segment record: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const meta = parsed.data;
    if (meta.id !== id) throw AppError.forMachines('bad_request', `segment record id ${meta.id} does not match the URL's ${id}`);
    if (venueOf(meta.cameraId) !== venueId) throw AppError.forMachines('forbidden', `camera "${meta.cameraId}" is not a camera of venue "${venueId}"`);
    if (!(await this.venues.getCamera(meta.cameraId))) {
      throw AppError.forMachines('conflict', `camera "${meta.cameraId}" is not in the centre's inventory yet: publish the venue inventory, then retry the upload`);
    }
    return meta;
  }

  /** The stored copy's SHA-256 when the segment is stored intact; a different record for the id is refused. */
  private async storedHash(meta: SegmentRecord): Promise<string | null> {
    const existing = await this.segments.get(meta.id);
    if (existing && existing.sha256 !== meta.sha256) {
      throw AppError.forMachines('conflict', `segment ${meta.id} is already catalogued with a different SHA-256; a segment id must name one file`);
    }
    if (existing?.storedAt && existing.storageKey) {
      const stat = await this.store.stat(existing.storageKey);
      if (stat && stat.bytes === existing.bytes) return existing.sha256;
    }
    return null;
  }

  private async statusOf(venueId: string, meta: SegmentRecord): Promise<IngestUploadStatus> {
    const sha256 = await this.storedHash(meta);
    if (sha256) return { id: meta.id, offset: meta.bytes, bytes: meta.bytes, complete: true, sha256 };
    const held = (await this.store.partialSize(uploadKeyFor(venueId, meta))) ?? 0;
    // A partial longer than the record (cannot come from this record's file) is worthless.
    return { id: meta.id, offset: held <= meta.bytes ? held : 0, bytes: meta.bytes, complete: false };
  }

  /** GET …/upload: how many bytes of the segment the centre holds (the box resumes from there). */
  async status(venueId: string, id: string, metaHeader: string | undefined): Promise<IngestUploadStatus> {
    return this.statusOf(venueId, await this.record(venueId, id, metaHeader));
  }

  /**
   * PUT: appends `body` as the bytes `range` names (no range = the whole file from byte 0).
   * `contentLength` is the request's declared body length, when it declared one.
   */
  async ingest(venueId: string, id: string, metaHeader: string | undefined, range: ContentRange | null, contentLength: number | null, body: Readable): Promise<IngestResult> {
    const meta = await this.record(venueId, id, metaHeader);
    const log = this.logger.child({ venueId, cameraId: meta.cameraId, segmentId: id });
    const r = range ?? { first: 0, last: meta.bytes - 1, total: meta.bytes };
    if (r.total !== meta.bytes) {
      throw AppError.forMachines('bad_request', `Content-Range total ${r.total} is not the segment's size ${meta.bytes} from its record: send ranges of the file the record describes`);
    }
    if (contentLength !== null && contentLength !== r.last - r.first + 1) {
      throw AppError.forMachines('bad_request', `Content-Length ${contentLength} does not match Content-Range ${r.first}-${r.last} (${r.last - r.first + 1} bytes)`);
    }
    const duplicate = async (): Promise<IngestResult | null> => {
      const sha256 = await this.storedHash(meta);
      if (!sha256) return null;
      // Already stored and checked: acknowledge, store nothing (a retry never duplicates).
      this.count(venueId).duplicate++;
      return { kind: 'stored', answer: { id, stored: true, duplicate: true, sha256 } };
    };
    const stored = await duplicate();
    if (stored) return stored;
    const uploadKey = uploadKeyFor(venueId, meta);
    // One writer per partial. A newer request for the same upload supersedes an older one still
    // running: that is a connection the box gave up on (killed, link cut without a reset), which
    // would otherwise block the resume until the request timed out.
    let waited = false;
    for (let old = this.busy.get(uploadKey); old; old = this.busy.get(uploadKey)) {
      log.info('a newer request resumes this segment upload; ending the older one');
      old.body.destroy(AppError.forMachines('conflict', `superseded by a newer upload request of segment ${id}`));
      await old.done;
      waited = true;
    }
    let finished!: () => void;
    this.busy.set(uploadKey, { body, done: new Promise<void>((resolve) => (finished = resolve)) });
    try {
      // The request we waited for may have just completed the segment.
      const storedMeanwhile = waited ? await duplicate() : null;
      if (storedMeanwhile) return storedMeanwhile;
      if (range) {
        const status = await this.statusOf(venueId, meta);
        if (r.first !== status.offset) {
          throw new UploadOffsetConflict(`the centre holds ${status.offset} of ${meta.bytes} bytes of segment ${id}, but this range starts at ${r.first}: resend from byte ${status.offset}`, status);
        }
      }
      // No range: a whole-file PUT restarts the upload from byte 0.
      const expected = r.last - r.first + 1;
      let received = 0;
      let tooLong = false;
      const traffic = this.count(venueId);
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          traffic.receivedBytes += chunk.length;
          // Bytes past the declared range are read and dropped (the answer is 400), so the
          // connection stays usable; those inside it are kept.
          const room = expected - received;
          if (chunk.length > room) tooLong = true;
          const keep = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
          received += keep.length;
          done(null, keep.length > 0 ? keep : undefined);
        },
      });
      let held: number;
      try {
        // Callback pipeline: a request cut short destroys the meter too, so the append ends.
        held = await this.store.appendPartial(uploadKey, r.first, pipeline(body, meter, () => {}));
      } catch (err) {
        const offset = (await this.store.partialSize(uploadKey).catch(() => null)) ?? 0;
        const e = err as NodeJS.ErrnoException;
        // The box went away mid-body (killed, link cut) or a newer request took over: expected.
        if (err instanceof AppError || e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.message === 'aborted') {
          log.info({ offset, err: e.message }, 'segment upload cut short; the partial is kept for the box to resume');
          throw err instanceof AppError ? err : AppError.forMachines('bad_request', `the upload of segment ${id} ended before its range did; the centre keeps ${offset} bytes: resume from there`);
        }
        throw err;
      }
      if (tooLong) {
        throw AppError.forMachines('bad_request', `the body is longer than Content-Range ${r.first}-${r.last} (${expected} bytes): ask GET …/upload for the offset and resend from there`);
      }
      if (held < meta.bytes) {
        log.debug({ offset: held, bytes: meta.bytes }, 'segment range received');
        return { kind: 'partial', status: { id, offset: held, bytes: meta.bytes, complete: false } };
      }
      return { kind: 'stored', answer: await this.complete(venueId, meta, uploadKey, held, log) };
    } finally {
      this.busy.delete(uploadKey);
      finished();
    }
  }

  /** The last byte arrived: check the whole file, then move it into the store and catalogue it. */
  private async complete(venueId: string, meta: SegmentRecord, uploadKey: string, held: number, log: Logger): Promise<IngestSegmentResponse> {
    const hash = createHash('sha256');
    for await (const chunk of await this.store.readPartial(uploadKey)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    if (sha256 !== meta.sha256 || held !== meta.bytes) {
      await this.store.discardPartial(uploadKey);
      this.count(venueId).integrityFailed++;
      log.warn({ expected: { sha256: meta.sha256, bytes: meta.bytes }, received: { sha256, bytes: held } }, 'segment upload failed its integrity check; partial deleted');
      throw AppError.forMachines('integrity_failed', `segment ${meta.id} arrived as ${held} bytes with SHA-256 ${sha256}, but its record says ${meta.bytes} bytes with ${meta.sha256}: the partial upload was deleted, upload it again from byte 0`);
    }
    const start = new Date(meta.start);
    const key = storageKeyFor(meta.cameraId, meta.id, start);
    await this.store.completePartial(uploadKey, key);
    await this.segments.upsertStored({
      id: meta.id,
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
    this.count(venueId).stored++;
    log.debug({ bytes: held, key }, 'stored segment');
    await this.onStored?.({ cameraId: meta.cameraId, start }).catch((err: Error) => log.warn({ err: err.message }, 'could not re-sign the centre manifest'));
    return { id: meta.id, stored: true, duplicate: false, sha256 };
  }

  /** Deletes partial uploads that have not grown for `maxAgeMs` (a box that never came back for them). */
  async sweepAbandoned(maxAgeMs: number): Promise<number> {
    const swept = await this.store.sweepPartials(new Date(Date.now() - maxAgeMs));
    if (swept.length > 0) this.logger.info({ uploads: swept }, 'deleted abandoned partial uploads');
    return swept.length;
  }

  /** Issue 5: which of these segments of the venue the centre does not hold intact (by record and file). */
  async reconcile(venueId: string, segments: Array<{ id: string; sha256: string }>): Promise<string[]> {
    const missing: string[] = [];
    for (const s of segments) {
      const row = await this.segments.get(s.id);
      if (row && venueOf(row.cameraId) !== venueId) throw AppError.forMachines('forbidden', `segment ${s.id} is not a segment of venue "${venueId}"`);
      const stat = row?.storedAt && row.storageKey ? await this.store.stat(row.storageKey) : null;
      if (!row || !stat || row.sha256 !== s.sha256 || stat.bytes !== row.bytes) missing.push(s.id);
    }
    return missing;
  }
}
