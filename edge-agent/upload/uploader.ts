import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { formatContentRange, IngestUploadConflict, IngestUploadStatus, SEGMENT_META_HEADER, type SegmentRecord, type UploadWindow } from '../../protocol/index.ts';
import type { Catalogue, CataloguedSegment } from '../catalogue/catalogue.ts';
import { httpRequest } from '../http/http-request.ts';
import { RateLimiter } from './rate-limit.ts';
import { everyTick } from '../schedule/shared-tick.ts';

/**
 * Sends the centre the footage it asked for: every catalogued segment of a camera whose room has
 * an upload window overlapping the segment. A segment is marked uploaded only on 200/201 with its
 * own SHA-256, so a crash or an outage means a retry, never a loss; once marked it is never sent
 * again. Uploads resume by byte range: a retry, even after a restart, sends only what the centre
 * does not hold yet (protocol/api.ts IngestUploadStatus).
 */

export interface UploaderOptions {
  config: EdgeAgentConfig;
  catalogue: Catalogue;
  logger: Logger;
}

const STALE_RETRY_MS = 10 * 60_000;

export class Uploader {
  private windows: UploadWindow[] = [];
  /** Issue 5: camera ranges the centre asked for (a user wants to watch them), kept a day. */
  private fetches: Array<{ cameraId: string; from: number; to: number; until: number }> = [];
  private readonly active = new Set<string>();
  /** Segment id → time before which it is not retried. */
  private readonly retryAt = new Map<string, number>();
  /** Stops the retry run, which exists only while uploads wait to be retried (schedule/shared-tick.ts). */
  private timer: (() => void) | null = null;
  private stopped = false;
  private scanning = false;
  private rescan = false;
  private readonly log: Logger;
  private readonly inFlight = new Set<Promise<void>>();
  uploaded = 0;
  attempts = 0;
  /** Uploads resumed from an offset the centre held, and the bytes that saved (tests, health). */
  resumed = 0;
  resumedBytes = 0;
  /** Issue 5: bandwidth cap shared by all uploads (footageTransfer.maxBytesPerSecond). */
  readonly limiter: RateLimiter;

  constructor(private readonly opts: UploaderOptions) {
    this.log = opts.logger.child({ part: 'upload' });
    this.limiter = new RateLimiter(opts.config.footageTransfer.maxBytesPerSecond);
    // Windows survive a restart: the retained message comes back on connect, but the broker may not.
    const saved = opts.catalogue.getState('windows');
    if (saved) {
      try {
        this.windows = JSON.parse(saved) as UploadWindow[];
      } catch {
        this.windows = [];
      }
    }
  }

  /**
   * Work comes as events (a segment catalogued, windows or a fetch from the centre, an upload
   * ending), each of which kicks; a timer is needed only to retry failed uploads when their delay
   * is over, so an agent with nothing to retry is not woken for it.
   */
  start(): void {
    this.kick();
  }

  private retryRun(): void {
    const now = Date.now();
    // A retry not taken up long after it was due is for a segment nobody wants any more (its
    // window gone, or removed by retention): forget it, or the timer would run for ever.
    for (const [id, at] of this.retryAt) if (now - at > STALE_RETRY_MS && !this.active.has(id)) this.retryAt.delete(id);
    this.kick();
    if (this.retryAt.size === 0 && this.timer) {
      this.timer();
      this.timer = null;
    }
  }

  setWindows(windows: UploadWindow[]): void {
    this.windows = windows;
    this.opts.catalogue.setState('windows', JSON.stringify(windows));
    // Past segments may be covered now.
    this.kick();
  }

  /** A range of one camera the centre asked for: uploaded like a window, then forgotten after a day. */
  addFetch(f: { cameraId: string; from: string; to: string }): void {
    const now = Date.now();
    this.fetches = this.fetches.filter((x) => x.until > now);
    this.fetches.push({ cameraId: f.cameraId, from: Date.parse(f.from), to: Date.parse(f.to), until: now + 86_400_000 });
    this.kick();
  }

  currentWindows(): UploadWindow[] {
    return this.windows;
  }

  /** Looks for work now (new segment, new windows, a retry due). */
  kick(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    try {
      this.fill();
    } finally {
      this.scanning = false;
    }
    if (this.rescan) {
      this.rescan = false;
      queueMicrotask(() => this.kick());
    }
  }

  private fill(): void {
    const { concurrency } = this.opts.config.upload;
    if (this.active.size >= concurrency || (this.windows.length === 0 && this.fetches.length === 0)) return;
    const now = Date.now();
    for (const f of this.fetches) {
      const rows = this.opts.catalogue.db
        .prepare('SELECT id FROM segments WHERE camera_id = ? AND uploaded_at IS NULL AND start_ms < ? AND end_ms > ? ORDER BY start_ms LIMIT 200')
        .all(f.cameraId, f.to, f.from) as { id: string }[];
      for (const { id } of rows) {
        const seg = this.opts.catalogue.segment(id);
        if (!seg) continue;
        if (this.active.size >= concurrency) return;
        if (this.active.has(seg.id) || (this.retryAt.get(seg.id) ?? 0) > now) continue;
        this.active.add(seg.id);
        const p = this.upload(seg).finally(() => {
          this.active.delete(seg.id);
          this.inFlight.delete(p);
          this.kick();
        });
        this.inFlight.add(p);
      }
    }
    for (const w of this.windows) {
      for (const seg of this.opts.catalogue.segmentsToUpload(w, 200)) {
        if (this.active.size >= concurrency) return;
        if (this.active.has(seg.id) || (this.retryAt.get(seg.id) ?? 0) > now) continue;
        this.active.add(seg.id);
        const p = this.upload(seg).finally(() => {
          this.active.delete(seg.id);
          this.inFlight.delete(p);
          this.kick();
        });
        this.inFlight.add(p);
      }
    }
  }

  /**
   * One attempt at a segment, resumable: a segment larger than one chunk (or one that failed
   * before) starts by asking the centre how many bytes it holds, then the rest goes in
   * Content-Range chunks under the bandwidth cap. A 409 with an offset also resumes from there.
   */
  private async upload(seg: CataloguedSegment): Promise<void> {
    const { config } = this.opts;
    const log = this.log.child({ cameraId: seg.cameraId, segmentId: seg.id });
    const record: SegmentRecord = {
      id: seg.id,
      cameraId: seg.cameraId,
      runId: seg.runId,
      start: seg.start,
      end: seg.end,
      bytes: seg.bytes,
      sha256: seg.sha256,
      hasAudio: seg.hasAudio,
      ...(seg.prevHash ? { prevHash: seg.prevHash } : {}),
    };
    const url = new URL(`/api/ingest/segments/${seg.id}`, config.centre.url);
    const headers = { authorization: `Bearer ${config.centre.token}`, [SEGMENT_META_HEADER]: JSON.stringify(record) };
    const chunk = this.limiter.chunkBytes();
    this.attempts++;
    try {
      let offset = 0;
      if (seg.bytes > chunk || this.retryAt.has(seg.id)) {
        const res = await httpRequest(new URL(`${url.pathname}/upload`, url), { headers, timeoutMs: 30_000 });
        const status = IngestUploadStatus.safeParse(res.json());
        if (!res.ok || !status.success) {
          this.refused(log, res.status, 'could not ask the centre how much of the segment it holds');
          return this.later(seg.id);
        }
        if (status.data.complete) return this.acknowledged(seg, status.data.sha256, 200, log);
        offset = status.data.offset;
        if (offset > 0) {
          this.resumed++;
          this.resumedBytes += offset;
          log.info({ offset, bytes: seg.bytes }, 'resuming segment upload where the centre left it');
        }
      }
      for (let conflicts = 0; ; ) {
        const last = Math.min(seg.bytes, offset + chunk) - 1;
        const file = createReadStream(seg.path, { start: offset, end: last, highWaterMark: 16 * 1024 });
        // Callback pipeline: a read error (file gone) fails the request instead of hanging it.
        const body = this.limiter.bytesPerSecond > 0 ? pipeline(file, this.limiter.stream(), () => {}) : file;
        const res = await httpRequest(url, {
          method: 'PUT',
          headers: { ...headers, 'content-type': 'video/mp2t', 'content-range': formatContentRange({ first: offset, last, total: seg.bytes }) },
          body,
          timeoutMs: 120_000,
        });
        const text = res.text();
        const json = res.json();
        if (res.status === 200 || res.status === 201) {
          return this.acknowledged(seg, (json as { sha256?: string } | null)?.sha256, res.status, log);
        }
        if (res.status === 202) {
          const status = IngestUploadStatus.safeParse(json);
          // The centre must move forward; anything else is retried later from its offset.
          if (!status.success || status.data.offset <= offset) {
            log.warn({ status: res.status, body: text.slice(0, 300) }, 'centre did not take the chunk; will resume later');
            break;
          }
          offset = status.data.offset;
          continue;
        }
        const conflict = res.status === 409 ? IngestUploadConflict.safeParse(json) : null;
        if (conflict?.success && conflicts++ < 3) {
          log.info({ from: offset, offset: conflict.data.upload.offset }, 'centre holds a different part of the segment; resuming from its offset');
          if (conflict.data.upload.complete) return this.acknowledged(seg, conflict.data.upload.sha256, 200, log);
          if (conflict.data.upload.offset > offset) {
            this.resumed++;
            this.resumedBytes += conflict.data.upload.offset - offset;
          }
          offset = conflict.data.upload.offset;
          continue;
        }
        this.refused(log, res.status, text);
        break;
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') {
        log.error({ path: seg.path }, 'segment file is gone; cannot upload it');
      } else {
        log.warn({ err: e.message, url: url.origin }, 'centre unreachable for upload; will retry');
      }
    }
    this.later(seg.id);
  }

  /** The centre acknowledged the segment with the SHA-256 it holds: keep it pending unless that matches. */
  private acknowledged(seg: CataloguedSegment, ackSha: string | undefined, status: number, log: Logger): void {
    if (ackSha !== undefined && ackSha !== seg.sha256) {
      log.error({ ackSha, sha256: seg.sha256 }, 'centre acknowledged a different SHA-256; will upload again');
      return this.later(seg.id);
    }
    this.opts.catalogue.markUploaded(seg.id);
    this.retryAt.delete(seg.id);
    this.uploaded++;
    log.debug({ status }, 'segment uploaded');
  }

  private refused(log: Logger, status: number, text: string): void {
    if (status === 422) log.error({ status, body: text.slice(0, 300) }, 'centre refused the segment: integrity check failed; will upload it again from byte 0');
    else if (status === 409) log.info({ body: text.slice(0, 300) }, 'centre cannot take the segment yet (inventory pending, or another upload of it running); will retry');
    else if (status === 401 || status === 403) log.error({ status }, 'centre refused the upload token: check centre.token matches the centre\'s agents list');
    else log.warn({ status, body: text.slice(0, 300) }, 'segment upload failed; will retry');
  }

  private later(id: string): void {
    this.retryAt.set(id, Date.now() + this.opts.config.upload.retryDelayMs);
    if (!this.timer && !this.stopped) this.timer = everyTick(Math.min(this.opts.config.upload.retryDelayMs, 5000), () => this.retryRun());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.();
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }
}
