import type { Logger } from 'pino';
import { venueOf, type LiveSegmentMeta, type User } from '../../protocol/index.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { canSeeVenue } from '../services/access.ts';
import type { AuditService } from '../services/audit.ts';
import { AppError, type UserText } from '../services/errors.ts';
import type { VenueService } from '../services/venues.ts';

/**
 * Live view through the centre, on demand. The first request for a camera's live playlist sends
 * the box a `live` command (a lease of idleSeconds, renewed while anyone watches); the box then
 * PUTs each segment it closes into this in-memory buffer (a few segments per camera, never the
 * footage store). Every playlist or segment request counts as "someone is watching"; after
 * idleSeconds without one the box is told to stop and the buffer is dropped — and the box stops
 * on its own when the lease runs out (centre restarted, link lost).
 */

interface LiveSegment {
  seq: number;
  runId: string;
  startMs: number;
  durationSeconds: number;
  /** Discontinuities before and including this segment (EXT-X-DISCONTINUITY-SEQUENCE). */
  disc: number;
  discontinuity: boolean;
  data: Buffer;
}

interface Channel {
  cameraId: string;
  venueId: string;
  segments: LiveSegment[];
  nextSeq: number;
  disc: number;
  lastWatched: number;
  leaseSentAt: number;
  /** Users whose watching of this live run is already in the audit trail. */
  audited: Set<string>;
  waiters: Array<() => void>;
}

/** The box was asked but its first segment is not in yet: answered 503 with Retry-After. */
export class LiveStartingError extends AppError {
  constructor(message: UserText) {
    super('unavailable', message);
  }
}

export interface LiveSettings {
  idleSeconds: number;
  playlistSegments: number;
  startWaitSeconds: number;
}

export type LivePublish = (venueId: string, live: { cameraId: string; leaseSeconds: number }) => Promise<void>;

export class LiveService {
  private readonly channels = new Map<string, Channel>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly settings: LiveSettings,
    private readonly venueRepo: VenueRepository,
    private readonly venues: VenueService,
    private readonly audit: AuditService,
    private readonly publish: LivePublish,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(1000, this.settings.idleSeconds * 250));
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await Promise.all([...this.channels.values()].map((c) => this.end(c, 'centre stopping')));
  }

  /** Cameras whose live view is on now (tests, metrics). */
  activeCameras(): string[] {
    return [...this.channels.keys()];
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const c of [...this.channels.values()]) {
      if (now - c.lastWatched > this.settings.idleSeconds * 1000) await this.end(c, 'nobody watched');
      else if (now - c.leaseSentAt > (this.settings.idleSeconds * 1000) / 3) await this.lease(c);
    }
  }

  private async end(c: Channel, reason: string): Promise<void> {
    this.channels.delete(c.cameraId);
    for (const w of c.waiters.splice(0)) w();
    this.logger.info({ cameraId: c.cameraId, venueId: c.venueId, reason }, 'live view stopped');
    await this.publish(c.venueId, { cameraId: c.cameraId, leaseSeconds: 0 }).catch((err: Error) =>
      this.logger.warn({ cameraId: c.cameraId, err: err.message }, 'could not tell the venue box to stop live view (its lease ends it)'),
    );
  }

  private async lease(c: Channel): Promise<void> {
    c.leaseSentAt = Date.now();
    await this.publish(c.venueId, { cameraId: c.cameraId, leaseSeconds: this.settings.idleSeconds });
  }

  /** A user watches: scope, box online, lease, audit (once per user and live run). */
  private async watch(cameraId: string, user: User): Promise<Channel> {
    const camera = await this.venueRepo.getCamera(cameraId);
    if (!camera || !canSeeVenue(user, camera.venueId)) throw new AppError('not_found', { en: `camera "${cameraId}" does not exist`, zh: `摄像机“${cameraId}”不存在` });
    let c = this.channels.get(cameraId);
    if (!c) {
      const online = (await this.venues.summaries()).find((v) => v.id === camera.venueId)?.online ?? false;
      if (!online) {
        throw new AppError('unavailable', {
          en: `The venue box of "${camera.venueId}" is offline: live view of this camera is not possible now. Check the box's power and network, then try again.`,
          zh: `场地“${camera.venueId}”的现场主机离线：现在无法直播该摄像机。请检查现场主机的电源和网络后重试。`,
        });
      }
      c = { cameraId, venueId: camera.venueId, segments: [], nextSeq: 0, disc: 0, lastWatched: Date.now(), leaseSentAt: 0, audited: new Set(), waiters: [] };
      this.channels.set(cameraId, c);
      try {
        await this.lease(c);
      } catch (err) {
        this.channels.delete(cameraId);
        const message = (err as Error).message;
        throw new AppError('unavailable', { en: `could not ask the venue box for live view: ${message}`, zh: `未能向现场主机请求直播：${message}` });
      }
      this.logger.info({ cameraId, venueId: camera.venueId, user: user.username }, 'live view started');
    }
    c.lastWatched = Date.now();
    if (!c.audited.has(user.id)) {
      c.audited.add(user.id);
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'footage.live', venueId: c.venueId, subjectType: 'camera', subjectId: cameraId, detail: {} });
    }
    return c;
  }

  private nextSegment(c: Channel, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      c.waiters.push(done);
    });
  }

  /**
   * The sliding live playlist; waits up to startWaitSeconds for the first segment. With `msn`
   * (LL-HLS blocking reload, `_HLS_msn`), answers as soon as segment `msn` is in, at most three
   * target durations later: the player learns of a new segment the moment it arrives instead of
   * at its next poll, which is what keeps live within one segment plus transfer of the camera.
   */
  async playlist(cameraId: string, user: User, msn?: number): Promise<string> {
    const c = await this.watch(cameraId, user);
    if (c.segments.length === 0 && this.settings.startWaitSeconds > 0) {
      await this.nextSegment(c, this.settings.startWaitSeconds * 1000);
    }
    if (msn !== undefined && c.segments.length > 0) {
      const target = Math.max(1, ...c.segments.map((s) => Math.ceil(s.durationSeconds)));
      const deadline = Date.now() + target * 3000;
      while (this.channels.get(cameraId) === c && c.nextSeq <= msn && Date.now() < deadline) {
        await this.nextSegment(c, deadline - Date.now());
      }
      c.lastWatched = Date.now();
    }
    if (c.segments.length === 0) {
      throw new LiveStartingError({
        en: `Live view of "${cameraId}" is starting: the venue box has not sent its first segment yet. Retry in a few seconds.`,
        zh: `摄像机“${cameraId}”正在开启直播：现场主机尚未发来第一段画面，请几秒后重试。`,
      });
    }
    return this.render(c);
  }

  private render(c: Channel): string {
    const segs = c.segments;
    const target = Math.max(1, ...segs.map((s) => Math.ceil(s.durationSeconds)));
    const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES', `#EXT-X-MEDIA-SEQUENCE:${segs[0]!.seq}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${segs[0]!.disc}`];
    segs.forEach((s, i) => {
      if (s.discontinuity && i > 0) lines.push('#EXT-X-DISCONTINUITY');
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startMs).toISOString()}`, `#EXTINF:${s.durationSeconds.toFixed(3)},`, `live/${s.seq}.ts`);
    });
    // No EXT-X-ENDLIST: the playlist slides while the box pushes.
    return `${lines.join('\n')}\n`;
  }

  async segment(cameraId: string, seq: number, user: User): Promise<Buffer> {
    const c = await this.watch(cameraId, user);
    const s = c.segments.find((x) => x.seq === seq);
    if (!s) throw new AppError('not_found', {
      en: `live segment ${seq} of "${cameraId}" is no longer (or not yet) at the centre: reload the live playlist`,
      zh: `摄像机“${cameraId}”的直播片段 ${seq} 已不在（或尚未到达）中心：请重新加载直播`,
    });
    await this.audit.append({ actorId: user.id, actor: user.username, action: 'footage.live_segment', venueId: c.venueId, subjectType: 'camera', subjectId: cameraId, detail: { seq, start: new Date(s.startMs).toISOString() } });
    return s.data;
  }

  /** A segment pushed by the box (bearer token of `venueId`). */
  ingest(venueId: string, cameraId: string, meta: LiveSegmentMeta, data: Buffer): void {
    if (venueOf(cameraId) !== venueId) throw AppError.forMachines('forbidden', `camera "${cameraId}" is not a camera of venue "${venueId}"`);
    const c = this.channels.get(cameraId);
    if (!c) {
      // Nobody watches (any more): remind the box, whose lease would end it anyway.
      void this.publish(venueId, { cameraId, leaseSeconds: 0 }).catch(() => {});
      throw AppError.forMachines('conflict', `nobody watches "${cameraId}" live: stop pushing`);
    }
    const startMs = Date.parse(meta.start);
    const prev = c.segments[c.segments.length - 1];
    if (prev && startMs <= prev.startMs) return; // a repeat or an older one: live only moves forward
    const discontinuity = !!prev && (prev.runId !== meta.runId || Math.abs(prev.startMs + prev.durationSeconds * 1000 - startMs) > 500);
    if (discontinuity) c.disc++;
    c.segments.push({ seq: c.nextSeq++, runId: meta.runId, startMs, durationSeconds: meta.durationSeconds, disc: c.disc, discontinuity, data });
    if (c.segments.length > this.settings.playlistSegments) c.segments.splice(0, c.segments.length - this.settings.playlistSegments);
    for (const w of c.waiters.splice(0)) w();
  }
}
