import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/schema.ts';
import type { BidSession, SessionCamera, SessionCreate, SessionDetail, SessionKind, SessionList, SessionListFilter, SessionStatus, UploadWindow, User } from '../../protocol/index.ts';
import type { TimeSpan } from '../db/schema.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { SessionRepository, SessionWithPlace } from '../repositories/sessions.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { coveredSeconds, findGaps } from './coverage.ts';
import { canSeeVenue, requireCapability } from './access.ts';
import { AppError } from './errors.ts';
import type { GapService } from './gaps.ts';

export type SessionSettings = ServerConfig['sessions'];

/**
 * Upload windows (holds) older than the venues' loop retention can no longer be served by them:
 * sessions, ledger entries and export requests publish theirs only this far back.
 */
export const WINDOW_LOOKBACK_MS = 31 * 24 * 3600_000;
const MAX_WINDOWS = 5000;

export function sessionStatus(s: { plannedStart: Date; plannedEnd: Date }, now: Date): SessionStatus {
  if (now < s.plannedStart) return 'scheduled';
  return now < s.plannedEnd ? 'in_progress' : 'ended';
}

export function vodUrl(cameraId: string, from: Date, to: Date): string {
  return `/api/cameras/${encodeURIComponent(cameraId)}/vod.m3u8?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
}

/** Bid sessions, their recording coverage, and the upload windows they ask of the venues. */
export class SessionService {
  private readonly listeners: Array<(venueId: string) => void> = [];
  private gapCauses: GapService | null = null;

  constructor(
    private readonly sessions: SessionRepository,
    private readonly venues: VenueRepository,
    private readonly segments: SegmentRepository,
    private readonly settings: SessionSettings,
    private readonly logger: Logger,
  ) {}

  /** Issue 5: gaps in the completeness report carry the cause the venue reported. */
  useGapCauses(gaps: GapService): void {
    this.gapCauses = gaps;
  }

  /** Called with the venue id whenever that venue's sessions change (to republish its windows). */
  onChange(listener: (venueId: string) => void): void {
    this.listeners.push(listener);
  }

  private canSee(user: Pick<User, 'venueIds'>, venueId: string): boolean {
    return canSeeVenue(user, venueId);
  }

  toApi(s: SessionWithPlace, now = new Date()): BidSession {
    return {
      id: s.id,
      projectCode: s.projectCode,
      projectName: s.projectName,
      kind: s.kind as SessionKind,
      venueId: s.venueId,
      venueName: s.venueName,
      roomId: s.roomId,
      roomName: s.roomName,
      plannedStart: s.plannedStart.toISOString(),
      plannedEnd: s.plannedEnd.toISOString(),
      status: sessionStatus(s, now),
      createdAt: s.createdAt.toISOString(),
    };
  }

  async create(input: SessionCreate, user: User): Promise<BidSession> {
    requireCapability(user, 'session.create', { en: 'book sessions', zh: '创建场次' });
    const room = await this.venues.getRoom(input.roomId);
    if (!room) throw new AppError('bad_request', { en: `room "${input.roomId}" is unknown: pick a room the venue box has reported (GET /api/venues)`, zh: `房间“${input.roomId}”不存在：请选择现场主机已上报的房间` });
    if (!this.canSee(user, room.venueId)) throw new AppError('forbidden', { en: `you have no access to venue "${room.venueId}"`, zh: `您无权访问场地“${room.venueId}”` });
    const booked = await this.sessions.create(
      {
        id: randomUUID(),
        projectCode: input.projectCode,
        projectName: input.projectName,
        kind: input.kind,
        roomId: input.roomId,
        plannedStart: new Date(input.plannedStart),
        plannedEnd: new Date(input.plannedEnd),
        createdBy: user.id,
      },
      input.allowOverlap,
    );
    if ('conflicts' in booked) {
      // Two sessions in one room at once is usually a booking mistake (domain.md lists irregular
      // room booking among the violations); lots of one project evaluated together share it on purpose.
      const taken = booked.conflicts.map((c) => `${c.projectCode} ${c.projectName} (${c.plannedStart.toISOString()} – ${c.plannedEnd.toISOString()})`).join('; ');
      throw new AppError('conflict', {
        en: `room "${room.name}" is already booked then: ${taken}. Pick another room or time, or book again with allowOverlap if the room is shared on purpose`,
        zh: `房间“${room.name}”在此时段已有预约：${taken}。请更换房间或时间；如该房间确需共用，请选择“仍然预约”后重新提交`,
      });
    }
    const row = booked.created;
    this.logger.info({ sessionId: row.id, venueId: room.venueId, roomId: row.roomId, projectCode: row.projectCode }, 'session booked');
    for (const l of this.listeners) l(room.venueId);
    return this.toApi({ ...row, venueId: room.venueId, venueName: room.venueName, roomName: room.name });
  }

  /** The sessions a list asks for, within the user's venues; one more is read to tell whether there are more. */
  async list(user: Pick<User, 'venueIds'>, q: SessionListFilter): Promise<SessionList> {
    // A venue outside the user's scope is as unknown as one that does not exist; a mistyped id gets an error, not an empty list.
    if (q.venueId && (!this.canSee(user, q.venueId) || (await this.venues.listVenues([q.venueId])).length === 0)) {
      throw new AppError('not_found', { en: `venue "${q.venueId}" does not exist: GET /api/venues lists the venues you can see`, zh: `场地“${q.venueId}”不存在：请从您可查看的场地中选择` });
    }
    const venueIds = q.venueId ? [q.venueId] : user.venueIds;
    const rows = await this.sessions.list({ venueIds, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined, limit: q.limit + 1 });
    const now = new Date();
    return { sessions: rows.slice(0, q.limit).map((s) => this.toApi(s, now)), truncated: rows.length > q.limit };
  }

  /** A session the user may see (not_found otherwise), without its coverage. */
  async find(id: string, user: Pick<User, 'venueIds'>, now = new Date()): Promise<BidSession> {
    const s = /^[0-9a-f-]{36}$/i.test(id) ? await this.sessions.get(id) : null;
    if (!s || !this.canSee(user, s.venueId)) throw new AppError('not_found', { en: `session ${id} does not exist`, zh: `场次 ${id} 不存在` });
    return this.toApi(s, now);
  }

  async detail(id: string, user: Pick<User, 'venueIds'>, now = new Date()): Promise<SessionDetail> {
    const s = await this.sessions.get(id);
    if (!s || !this.canSee(user, s.venueId)) throw new AppError('not_found', { en: `session ${id} does not exist`, zh: `场次 ${id} 不存在` });
    const windowEnd = new Date(Math.max(s.plannedStart.getTime(), Math.min(s.plannedEnd.getTime(), now.getTime())));
    const playFrom = new Date(s.plannedStart.getTime() - this.settings.preRollMinutes * 60_000);
    const cameras = await this.coverage(s.roomId, { from: s.plannedStart, to: windowEnd }, now, { from: playFrom, to: s.plannedEnd });
    return { session: this.toApi(s, now), cameras };
  }

  /**
   * Each camera of a room over a window (which ends now at the latest): expected, recorded and
   * stored seconds, and the gaps with their causes. `playlist` is the range its playlist URL
   * names (the window by default; a session's starts with its pre-roll).
   */
  async coverage(roomId: string, window: TimeSpan, now = new Date(), playlist: TimeSpan = window): Promise<SessionCamera[]> {
    const cameras: SessionCamera[] = [];
    for (const cam of await this.venues.camerasInRoom(roomId)) {
      const segs = window.to > window.from ? await this.segments.overlapping(cam.id, window.from, window.to) : [];
      const spans = segs.map((g) => g.span);
      const found = findGaps(spans, window, this.settings.gapThresholdSeconds);
      const gaps = await this.beforeFirstFootage(
        cam.id,
        this.gapCauses ? await this.gapCauses.withCauses(cam.id, window, found) : found.map((g) => ({ from: g.from.toISOString(), to: g.to.toISOString(), kind: 'video' as const, cause: null })),
        window,
      );
      cameras.push({
        cameraId: cam.id,
        name: cam.name,
        expectedSeconds: Math.max(0, (window.to.getTime() - window.from.getTime()) / 1000),
        recordedSeconds: coveredSeconds(spans, window),
        storedSeconds: coveredSeconds(
          segs.filter((g) => g.storedAt !== null).map((g) => g.span),
          window,
        ),
        // A window reaching now is still being recorded: its last seconds are on their way.
        gaps: window.to.getTime() >= now.getTime() - 1000 ? this.withoutFootageOnItsWay(gaps, window) : gaps,
        playlistUrl: vodUrl(cam.id, playlist.from, playlist.to),
      });
    }
    return cameras;
  }

  /**
   * A video gap at the window's start that the venue gave no cause for, of a camera with no footage
   * at all before it: the camera was not being recorded yet (installed, or taken on by its box,
   * after the window began; the demo's sessions start at launch). The venue never reports a cause
   * for time before it knew the camera, so "not reported yet" would stand there for good.
   */
  private async beforeFirstFootage(cameraId: string, gaps: SessionCamera['gaps'], window: TimeSpan): Promise<SessionCamera['gaps']> {
    const start = window.from.toISOString();
    const i = gaps.findIndex((g) => g.kind !== 'audio' && g.from === start);
    if (i < 0 || gaps[i]!.cause != null || (await this.segments.anyBefore(cameraId, window.from))) return gaps;
    return gaps.map((g, j) => (j === i ? { ...g, cause: 'before_first_footage' as const } : g));
  }

  /**
   * While a session runs, the footage of the last seconds is still on its way from the venue (the
   * segment being written, then cataloguing and the outbox). A video gap at the window's end within
   * that lag is not a gap yet, unless the venue has already reported one there (its cause is then
   * known: its heartbeat opens a gap row once the camera is silent past the threshold). Without
   * this, every live report would end in a gap that vanishes on the next refresh.
   */
  private withoutFootageOnItsWay(gaps: SessionCamera['gaps'], window: TimeSpan): SessionCamera['gaps'] {
    const end = window.to.toISOString();
    const lagMs = (this.settings.gapThresholdSeconds + this.settings.reportLagSeconds) * 1000;
    return gaps.filter((g) => g.kind === 'audio' || g.to !== end || g.cause != null || Date.parse(g.to) - Date.parse(g.from) > lagMs);
  }

  /**
   * A session's footage span: planned start − pre-roll to planned end + post-roll. Its upload
   * window holds it, its evidence export covers it, and "who watched this session" asks about it.
   */
  footageSpan(s: { plannedStart: Date | string; plannedEnd: Date | string }): { from: Date; to: Date } {
    return {
      from: new Date(new Date(s.plannedStart).getTime() - this.settings.preRollMinutes * 60_000),
      to: new Date(new Date(s.plannedEnd).getTime() + this.settings.postRollMinutes * 60_000),
    };
  }

  /** A session the user may see (not_found otherwise), its room's cameras and its footage span. */
  async footageScope(id: string, user: Pick<User, 'venueIds'>): Promise<{ session: BidSession; cameraIds: string[]; from: Date; to: Date }> {
    const session = await this.find(id, user);
    const cameras = await this.venues.camerasInRoom(session.roomId);
    return { session, cameraIds: cameras.map((c) => c.id), ...this.footageSpan(session) };
  }

  /** The upload windows of one venue: each session's room from planned start − pre-roll to end + post-roll. */
  async windowsFor(venueId: string, now = new Date()): Promise<UploadWindow[]> {
    const post = this.settings.postRollMinutes * 60_000;
    const rows = await this.sessions.forVenue(venueId, new Date(now.getTime() - WINDOW_LOOKBACK_MS - post), MAX_WINDOWS);
    return rows.map((s) => {
      const span = this.footageSpan(s);
      return { roomId: s.roomId, from: span.from.toISOString(), to: span.to.toISOString(), reason: 'session' as const, ownerId: s.id };
    });
  }
}
