import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/schema.ts';
import type { BidSession, ExportDecision, ExportRequest, ExportRequestCreate, ExportRequestDetail, ExportRequestList, ExportStatus, SessionCamera, UploadWindow, User } from '../../protocol/index.ts';
import { EXPORT_STATUS_NAMES, nameIn } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import type { ExportRequestRow } from '../db/schema.ts';
import type { ExportRequestRepository, ExportRequestWithPlace } from '../repositories/export-requests.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { can, canSeeVenue, requireCapability } from './access.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';
import { WINDOW_LOOKBACK_MS, type SessionService } from './sessions.ts';

export type ExportSettings = ServerConfig['exports'];

const MAX_HOLDS = 2000;
/** The statuses as the dashboard names them (dashboard/src/i18n/zh-CN.ts `exportStatus`), for Chinese refusals. */

/** What a download of an approved request packs: its window, its cameras' coverage and the request itself. */
export interface ExportPackage {
  request: ExportRequest;
  session: BidSession | null;
  cameras: SessionCamera[];
  window: { from: Date; to: Date };
}

/**
 * Footage export requests (调取录像申请). Copying footage out takes a request that says why,
 * decided by someone other than its requester; only the requester downloads, only while the
 * approval is valid, and every step and every download is an audit line. A request for a room and
 * time range also holds that footage at the venue (and so brings it to the centre) while it is
 * pending or approved: the venue's 30-day loop must not delete what someone asked for while the
 * approver is away. A session's footage is held by the session already.
 */
export class ExportRequestService {
  private readonly listeners: Array<(venueId: string) => void> = [];

  constructor(
    private readonly db: Database,
    private readonly repo: ExportRequestRepository,
    private readonly venues: VenueRepository,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly settings: ExportSettings,
    private readonly logger: Logger,
  ) {}

  /** Called with the venue id whenever that venue's holds change (to republish its windows). */
  onChange(listener: (venueId: string) => void): void {
    this.listeners.push(listener);
  }

  private changed(venueId: string): void {
    for (const l of this.listeners) l(venueId);
  }

  async create(input: ExportRequestCreate, user: User, now = new Date()): Promise<ExportRequest> {
    requireCapability(user, 'export.request', { en: 'request footage exports', zh: '申请导出录像' });
    let place: { venueId: string; roomId: string; sessionId: string | null; from: Date; to: Date };
    if (input.sessionId !== undefined) {
      const s = await this.sessions.find(input.sessionId, user);
      place = { venueId: s.venueId, roomId: s.roomId, sessionId: s.id, ...this.sessions.footageSpan(s) };
    } else {
      const room = await this.venues.getRoom(input.roomId!);
      if (!room || !canSeeVenue(user, room.venueId)) throw new AppError('bad_request', { en: `room "${input.roomId}" is unknown: pick a room of your venues (GET /api/venues)`, zh: `房间“${input.roomId}”不存在：请选择您所属场地的房间` });
      const from = new Date(input.from!);
      const to = new Date(input.to!);
      if (from >= now) throw new AppError('bad_request', { en: `"from" (${input.from}) is in the future: footage can only be requested once it has been recorded`, zh: `开始时间（${input.from}）晚于当前时间：录像须录制之后才能申请导出` });
      if (to.getTime() - from.getTime() > this.settings.maxRangeHours * 3600_000) {
        throw new AppError('bad_request', {
          en: `the range is longer than ${this.settings.maxRangeHours} h (setting exports.maxRangeHours): split it into several requests`,
          zh: `申请的时段超过 ${this.settings.maxRangeHours} 小时（设置项 exports.maxRangeHours）：请拆分为几个申请`,
        });
      }
      place = { venueId: room.venueId, roomId: room.id, sessionId: null, from, to };
    }
    const id = randomUUID();
    const auto = !this.settings.requireApproval;
    const name = user.displayName || user.username;
    await this.db.transaction(async (tx) => {
      await this.repo.insert(
        {
          id,
          venueId: place.venueId,
          roomId: place.roomId,
          sessionId: place.sessionId,
          fromAt: place.from,
          toAt: place.to,
          purpose: input.purpose,
          status: auto ? 'approved' : 'pending',
          requestedById: user.id,
          requestedByName: name,
          requestedAt: now,
          ...(auto ? { decidedByName: 'system', decidedAt: now, decisionNote: 'approval not required (setting exports.requireApproval = false)', expiresAt: this.expiry(now) } : {}),
        },
        tx,
      );
      const scope = { roomId: place.roomId, sessionId: place.sessionId, from: place.from.toISOString(), to: place.to.toISOString() };
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'export.request', venueId: place.venueId, subjectType: 'export_request', subjectId: id, detail: { ...scope, purpose: input.purpose } }, tx);
      if (auto) await this.audit.append({ actorId: null, actor: 'system', action: 'export.approve', venueId: place.venueId, subjectType: 'export_request', subjectId: id, detail: { note: 'setting exports.requireApproval = false' } }, tx);
      if (!place.sessionId) await this.audit.append({ actorId: user.id, actor: user.username, action: 'hold.placed', venueId: place.venueId, subjectType: 'export_request', subjectId: id, detail: { roomId: place.roomId, from: scope.from, to: scope.to, reason: 'manual', ownerId: id } }, tx);
    });
    this.logger.info({ exportRequestId: id, venueId: place.venueId, roomId: place.roomId, sessionId: place.sessionId, by: user.username }, 'footage export requested');
    if (!place.sessionId) this.changed(place.venueId);
    return this.toApi((await this.repo.get(id))!, user, now);
  }

  async list(user: User, q: { status?: ExportStatus; limit?: number } = {}, now = new Date()): Promise<ExportRequestList> {
    const rows = await this.repo.list({ venueIds: user.venueIds, status: q.status, limit: Math.min(q.limit ?? 200, 1000) });
    return { requests: rows.map((r) => this.toApi(r, user, now)) };
  }

  async detail(id: string, user: User, now = new Date()): Promise<ExportRequestDetail> {
    const r = await this.visible(id, user);
    const session = r.sessionId ? await this.sessions.find(r.sessionId, user) : null;
    return { request: this.toApi(r, user, now), session, cameras: await this.sessions.coverage(r.roomId, this.footageWindow(r, now), now) };
  }

  async decide(id: string, decision: ExportDecision, user: User, now = new Date()): Promise<ExportRequest> {
    requireCapability(user, 'export.decide', { en: 'approve or refuse footage exports', zh: '审批导出申请' });
    const r = await this.visible(id, user);
    await this.db.transaction(async (tx) => {
      const row = await this.repo.lock(id, tx);
      if (!row || row.status !== 'pending') throw new AppError('conflict', {
        en: `export request ${id} is ${row?.status ?? 'gone'}, not pending: it was decided already`,
        zh: `导出申请 ${id} ${row ? `为“${nameIn(EXPORT_STATUS_NAMES, row.status, 'zh')}”` : '已不存在'}，不是待审批状态：已有人审批过`,
      });
      if (row.requestedById === user.id) throw new AppError('forbidden', { en: 'you cannot decide your own export request: ask another supervisor or an administrator', zh: '不能审批本人提交的导出申请：请由其他监督人员或系统管理员审批' });
      const status = decision.approve ? 'approved' : 'rejected';
      await this.repo.update(id, { status, decidedById: user.id, decidedByName: user.displayName || user.username, decidedAt: now, decisionNote: decision.note || null, expiresAt: decision.approve ? this.expiry(now) : null }, tx);
      await this.audit.append({ actorId: user.id, actor: user.username, action: decision.approve ? 'export.approve' : 'export.reject', venueId: r.venueId, subjectType: 'export_request', subjectId: id, detail: { note: decision.note } }, tx);
      if (!decision.approve && !row.sessionId) await this.releaseHold(row, user, 'request refused', tx);
    });
    this.logger.info({ exportRequestId: id, venueId: r.venueId, approved: decision.approve, by: user.username }, 'footage export decided');
    if (!decision.approve && !r.sessionId) this.changed(r.venueId);
    return this.toApi((await this.repo.get(id))!, user, now);
  }

  /** The requester takes back a request nobody has decided yet (its hold goes with it). */
  async withdraw(id: string, user: User, now = new Date()): Promise<ExportRequest> {
    const r = await this.visible(id, user);
    await this.db.transaction(async (tx) => {
      const row = await this.repo.lock(id, tx);
      if (!row || row.requestedById !== user.id) throw new AppError('forbidden', { en: 'only the person who made an export request can withdraw it', zh: '只有申请人本人可以撤回导出申请' });
      if (row.status !== 'pending') throw new AppError('conflict', { en: `export request ${id} is ${row.status}: only a pending request can be withdrawn`, zh: `导出申请 ${id} 为“${nameIn(EXPORT_STATUS_NAMES, row.status, 'zh')}”：只有待审批的申请可以撤回` });
      await this.repo.update(id, { status: 'withdrawn', decidedAt: now }, tx);
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'export.withdraw', venueId: r.venueId, subjectType: 'export_request', subjectId: id }, tx);
      if (!row.sessionId) await this.releaseHold(row, user, 'request withdrawn', tx);
    });
    if (!r.sessionId) this.changed(r.venueId);
    return this.toApi((await this.repo.get(id))!, user, now);
  }

  /**
   * Opens a download of an approved request for its requester: counts it and writes the audit line
   * (who, what, when, why, approved by whom) before a byte leaves. The package's window ends now at
   * the latest.
   */
  async openDownload(id: string, user: User, now = new Date()): Promise<ExportPackage> {
    const r = await this.visible(id, user);
    if (r.requestedById !== user.id) throw new AppError('forbidden', { en: `only ${r.requestedByName}, who requested it, can download this export: make your own request`, zh: `只有申请人 ${r.requestedByName} 本人可以下载此导出：如需录像，请自行提交申请` });
    if (r.status !== 'approved') throw new AppError('conflict', { en: `export request ${id} is ${r.status}: it can be downloaded once approved`, zh: `导出申请 ${id} 为“${nameIn(EXPORT_STATUS_NAMES, r.status, 'zh')}”：批准后才能下载` });
    if (r.expiresAt && r.expiresAt <= now) throw new AppError('conflict', {
      en: `the approval of export request ${id} expired on ${r.expiresAt.toISOString()} (setting exports.validDays): make a new request`,
      zh: `导出申请 ${id} 的批准已于 ${r.expiresAt.toISOString()} 过期（设置项 exports.validDays）：如仍需要，请重新申请`,
    });
    const window = this.footageWindow(r, now);
    const session = r.sessionId ? await this.sessions.find(r.sessionId, user) : null;
    const cameras = await this.sessions.coverage(r.roomId, window, now);
    await this.db.transaction(async (tx) => {
      await this.repo.countDownload(id, tx);
      await this.audit.append({
        actorId: user.id,
        actor: user.username,
        action: 'footage.export',
        venueId: r.venueId,
        subjectType: 'export_request',
        subjectId: id,
        detail: { purpose: r.purpose, approvedBy: r.decidedByName, roomId: r.roomId, sessionId: r.sessionId, projectCode: r.projectCode, from: window.from.toISOString(), to: window.to.toISOString(), cameras: cameras.map((c) => c.cameraId) },
      }, tx);
    });
    const request = this.toApi({ ...r, downloads: r.downloads + 1 }, user, now);
    return { request, session, cameras, window };
  }

  /** The upload windows (holds) of one venue's live room-and-range requests. */
  async windowsFor(venueId: string, now = new Date()): Promise<UploadWindow[]> {
    const rows = await this.repo.forHolds(venueId, new Date(now.getTime() - WINDOW_LOOKBACK_MS), MAX_HOLDS);
    return rows.filter((r) => r.sessionId === null).map((r) => ({ roomId: r.roomId, from: r.fromAt.toISOString(), to: r.toAt.toISOString(), reason: 'manual' as const, ownerId: r.id }));
  }

  private async releaseHold(row: ExportRequestRow, user: User, why: string, tx: Parameters<Parameters<Database['transaction']>[0]>[0]): Promise<void> {
    await this.audit.append({ actorId: user.id, actor: user.username, action: 'hold.released', venueId: row.venueId, subjectType: 'export_request', subjectId: row.id, detail: { roomId: row.roomId, from: row.fromAt.toISOString(), to: row.toAt.toISOString(), why } }, tx);
  }

  private expiry(now: Date): Date {
    return new Date(now.getTime() + this.settings.validDays * 86_400_000);
  }

  /** The request's window, ending now at the latest (a running session's footage so far). */
  private footageWindow(r: ExportRequestRow, now: Date): { from: Date; to: Date } {
    return { from: r.fromAt, to: new Date(Math.max(r.fromAt.getTime(), Math.min(r.toAt.getTime(), now.getTime()))) };
  }

  /** A request outside the user's venues is as unknown as one that does not exist. */
  private async visible(id: string, user: User): Promise<ExportRequestWithPlace> {
    const r = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.get(id) : null;
    if (!r || !canSeeVenue(user, r.venueId)) throw new AppError('not_found', { en: `export request ${id} does not exist`, zh: `导出申请 ${id} 不存在` });
    return r;
  }

  private toApi(r: ExportRequestWithPlace, user: User, now: Date): ExportRequest {
    const pending = r.status === 'pending';
    const mine = r.requestedById === user.id;
    return {
      id: r.id,
      venueId: r.venueId,
      venueName: r.venueName,
      roomId: r.roomId,
      roomName: r.roomName,
      sessionId: r.sessionId,
      projectCode: r.projectCode,
      projectName: r.projectName,
      from: r.fromAt.toISOString(),
      to: r.toAt.toISOString(),
      purpose: r.purpose,
      status: r.status as ExportStatus,
      requestedBy: r.requestedByName,
      requestedAt: r.requestedAt.toISOString(),
      decidedBy: r.decidedByName,
      decidedAt: r.decidedAt?.toISOString() ?? null,
      decisionNote: r.decisionNote,
      expiresAt: r.expiresAt?.toISOString() ?? null,
      downloads: r.downloads,
      canDecide: pending && !mine && can(user, 'export.decide'),
      canWithdraw: pending && mine,
      canDownload: r.status === 'approved' && mine && (r.expiresAt === null || r.expiresAt > now),
    };
  }
}
