import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  LEDGER_FLOW,
  LedgerAction,
  type LedgerCategory,
  type LedgerCategoryUpsert,
  type LedgerEntry,
  type LedgerEntryCorrection,
  type LedgerEntryDetail,
  type LedgerFootage,
  type LedgerStatus,
  type SubjectType,
  type UploadWindow,
  type PublicLedgerEntry,
  type User,
} from '../../protocol/index.ts';
import { LEDGER_ACTION_NAMES, LEDGER_STATUS_NAMES } from '../../protocol/index.ts';
import type { z } from 'zod';
import type { LedgerEntryCreate as CreateSchema, LedgerTransition as TransitionSchema } from '../../protocol/ledger.ts';
import type { Database } from '../db/client.ts';
import type { LedgerEntryRow } from '../db/schema.ts';
import type { EntryWithPlace, LedgerRepository } from '../repositories/ledger.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { can, canSeeVenue, requireCapability } from './access.ts';
import type { AuditService, Transactional } from './audit.ts';
import { AppError } from './errors.ts';
import { checkPhoto } from './ledger-photos.ts';
import { vodUrl, WINDOW_LOOKBACK_MS } from './sessions.ts';

export interface LedgerSettings {
  footageMinutesBefore: number;
  footageMinutesAfter: number;
  timeZone: string;
  maxPhotoBytes: number;
  redactNames: boolean;
}

type CreateInput = z.output<typeof CreateSchema>;
type TransitionInput = z.output<typeof TransitionSchema>;

const MAX_HOLDS = 2000;
/** A tablet's clock may run a little ahead; beyond this a "found at" in the future is a mistake. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** The steps as the dashboard names them (dashboard/src/i18n/zh-CN.ts `ledgerAction`), for Chinese refusals. */
const EDITABLE = ['roomId', 'foundAt', 'sessionId', 'projectCode', 'projectName', 'subjectType', 'subjectName', 'category', 'description'] as const;

/** People are named by surname only (张**); organisations and equipment keep their names, as public notices do. */
export function redactName(type: SubjectType, name: string): string {
  if (!name || !PERSON_TYPES.has(type)) return name;
  const chars = [...name.trim()];
  return chars.length <= 1 ? '*' : `${chars[0]}${'*'.repeat(Math.min(chars.length - 1, 3))}`;
}
const PERSON_TYPES = new Set<SubjectType>(['expert', 'staff']);

export function yearIn(at: Date, timeZone: string): number {
  return Number(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric' }).format(at));
}

export const formatNumber = (year: number, seq: number): string => `${year}-${String(seq).padStart(4, '0')}`;

function fieldsOf(e: LedgerEntryRow): Record<string, string | null> {
  return {
    roomId: e.roomId,
    foundAt: e.foundAt.toISOString(),
    sessionId: e.sessionId,
    projectCode: e.projectCode,
    projectName: e.projectName,
    subjectType: e.subjectType,
    subjectName: e.subjectName,
    category: e.category,
    description: e.description,
  };
}

/**
 * The patrol issue ledger: numbered entries tied to their room's footage (and a hold on it), the
 * flow found → stopped → reported → handled → published (or closed as unfounded), corrections as
 * revisions, and every change in the audit trail in the same transaction as the change itself.
 */
export class LedgerService {
  private readonly listeners: Array<(venueId: string) => void> = [];

  constructor(
    private readonly db: Database,
    private readonly repo: LedgerRepository,
    private readonly venues: VenueRepository,
    private readonly audit: AuditService,
    private readonly settings: LedgerSettings,
    private readonly sessionRoll: { preRollMinutes: number; postRollMinutes: number },
    private readonly logger: Logger,
  ) {}

  /** Called with the venue id whenever that venue's holds change (to republish its windows). */
  onChange(listener: (venueId: string) => void): void {
    this.listeners.push(listener);
  }

  private changed(venueId: string): void {
    for (const l of this.listeners) l(venueId);
  }

  toApi(e: EntryWithPlace): LedgerEntry {
    return {
      id: e.id,
      number: e.number,
      venueId: e.venueId,
      venueName: e.venueName,
      roomId: e.roomId,
      roomName: e.roomName,
      foundAt: e.foundAt.toISOString(),
      sessionId: e.sessionId,
      projectCode: e.projectCode,
      projectName: e.projectName,
      subjectType: e.subjectType as SubjectType,
      subjectName: e.subjectName,
      category: e.category,
      description: e.description,
      status: e.status as LedgerStatus,
      reporterId: e.reporterId,
      reporterName: e.reporterName,
      revision: e.revision,
      createdAt: e.createdAt.toISOString(),
      updatedAt: e.updatedAt.toISOString(),
    };
  }

  async categories(): Promise<LedgerCategory[]> {
    return (await this.repo.categories()).map((c) => ({ code: c.code, subjectType: c.subjectType as SubjectType, zh: c.zh, en: c.en, active: c.active }));
  }

  async upsertCategory(input: LedgerCategoryUpsert, user: User): Promise<void> {
    requireCapability(user, 'ledger.categories', { en: 'change the category list', zh: '修改问题类别' });
    // The list is the city's: a venue-scoped admin may not change what every county uses.
    if (user.venueIds !== null) throw new AppError('forbidden', { en: 'the category list is shared by every venue: ask a city-wide administrator to change it', zh: '问题类别由全市各场地共用：请联系全市范围的系统管理员修改' });
    await this.db.transaction(async (tx) => {
      await this.repo.upsertCategory({ code: input.code, subjectType: input.subjectType, zh: input.zh, en: input.en, active: input.active }, tx);
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'ledger.category', venueId: null, subjectType: 'ledger_category', subjectId: input.code, detail: { ...input } }, tx);
    });
  }

  private footageWindow(foundAt: Date): { from: Date; to: Date } {
    return {
      from: new Date(foundAt.getTime() - this.settings.footageMinutesBefore * 60_000),
      to: new Date(foundAt.getTime() + this.settings.footageMinutesAfter * 60_000),
    };
  }

  /** The session for an entry: the one given (checked: same venue), or the one found from room and time. */
  private async resolveSession(
    venueId: string,
    roomId: string,
    foundAt: Date,
    given: string | null | undefined,
  ): Promise<{ id: string; projectCode: string; projectName: string } | null> {
    if (given === null) return null;
    if (given === undefined) {
      return this.repo.sessionAt(roomId, foundAt, this.sessionRoll.preRollMinutes * 60_000, this.sessionRoll.postRollMinutes * 60_000);
    }
    const s = await this.repo.session(given);
    if (!s || s.venueId !== venueId) throw new AppError('bad_request', {
      en: `session ${given} is not a session of venue "${venueId}": pick one of this venue's sessions or leave it empty`,
      zh: `场次 ${given} 不属于场地“${venueId}”：请选择本场地的场次，或不填`,
    });
    return s;
  }

  private async checkedRoom(roomId: string, user: User): Promise<{ venueId: string }> {
    const room = await this.venues.getRoom(roomId);
    if (!room || !canSeeVenue(user, room.venueId)) throw new AppError('bad_request', { en: `room "${roomId}" is unknown or not in your venues: pick a room from the list`, zh: `房间“${roomId}”不存在或不在您的场地内：请从列表中选择房间` });
    return room;
  }

  private async checkedCategory(code: string): Promise<void> {
    const c = await this.repo.category(code);
    if (!c || !c.active) throw new AppError('bad_request', { en: `category "${code}" is not in the category list: pick one from GET /api/ledger/categories`, zh: `问题类别“${code}”不在类别列表中：请从列表中选择` });
  }

  private checkedFoundAt(iso: string | undefined): Date {
    const at = iso ? new Date(iso) : new Date();
    if (at.getTime() > Date.now() + FUTURE_TOLERANCE_MS) throw new AppError('bad_request', { en: 'foundAt is in the future: check the tablet\'s clock', zh: '发现时间晚于当前时间：请检查平板电脑的时钟' });
    return at;
  }

  async create(input: CreateInput, user: User): Promise<{ entry: LedgerEntry; duplicate: boolean }> {
    requireCapability(user, 'ledger.create', { en: 'log ledger entries', zh: '登记台账记录' });
    const existing = await this.repo.byClientKey(user.id, input.clientKey);
    if (existing) return { entry: this.toApi((await this.repo.get(existing.id))!), duplicate: true };

    const room = await this.checkedRoom(input.roomId, user);
    await this.checkedCategory(input.category);
    const foundAt = this.checkedFoundAt(input.foundAt);
    const session = await this.resolveSession(room.venueId, input.roomId, foundAt, input.sessionId);
    const window = this.footageWindow(foundAt);
    const year = yearIn(foundAt, this.settings.timeZone);
    const id = randomUUID();
    const now = new Date();

    let row: LedgerEntryRow;
    try {
      row = await this.db.transaction(async (tx) => {
        const seq = await this.repo.nextSeq(room.venueId, year, tx);
        const created = await this.repo.insertEntry(
          {
            id,
            venueId: room.venueId,
            year,
            seq,
            number: formatNumber(year, seq),
            clientKey: input.clientKey,
            roomId: input.roomId,
            foundAt,
            sessionId: session?.id ?? null,
            projectCode: session?.projectCode ?? null,
            projectName: session?.projectName ?? null,
            subjectType: input.subjectType,
            subjectName: input.subjectName,
            category: input.category,
            description: input.description,
            status: 'found',
            reporterId: user.id,
            reporterName: user.displayName || user.username,
            revision: 1,
            footageFrom: window.from,
            footageTo: window.to,
            createdAt: now,
            updatedAt: now,
          },
          tx,
        );
        await this.repo.insertRevision({ entryId: id, revision: 1, fields: fieldsOf(created), reason: 'created', byId: user.id, byName: created.reporterName, at: now }, tx);
        await this.audit.append({ actorId: user.id, actor: user.username, action: 'ledger.create', venueId: room.venueId, subjectType: 'ledger_entry', subjectId: id, detail: { number: created.number, ...fieldsOf(created) } }, tx);
        await this.placeHold(created, user, tx);
        return created;
      });
    } catch (err) {
      // The same tablet sent the same entry twice at once: the unique key kept one; answer with it.
      const again = await this.repo.byClientKey(user.id, input.clientKey);
      if (again) return { entry: this.toApi((await this.repo.get(again.id))!), duplicate: true };
      throw err;
    }
    this.logger.info({ entryId: id, number: row.number, venueId: room.venueId, roomId: row.roomId }, 'ledger entry saved');
    this.changed(room.venueId);
    return { entry: this.toApi((await this.repo.get(id))!), duplicate: false };
  }

  private async placeHold(e: LedgerEntryRow, user: User, tx: Transactional): Promise<void> {
    const hold = { roomId: e.roomId, from: e.footageFrom.toISOString(), to: e.footageTo.toISOString(), reason: 'ledger', ownerId: e.id };
    await this.audit.append({ actorId: user.id, actor: user.username, action: 'hold.placed', venueId: e.venueId, subjectType: 'ledger_entry', subjectId: e.id, detail: hold }, tx);
  }

  /** The upload windows (holds) of one venue's ledger entries. */
  async windowsFor(venueId: string, now = new Date()): Promise<UploadWindow[]> {
    const rows = await this.repo.forHolds(venueId, new Date(now.getTime() - WINDOW_LOOKBACK_MS), MAX_HOLDS);
    return rows.map((e) => ({ roomId: e.roomId, from: e.footageFrom.toISOString(), to: e.footageTo.toISOString(), reason: 'ledger' as const, ownerId: e.id }));
  }

  async list(user: User, filter: { venueId?: string; status?: LedgerStatus; limit: number }): Promise<LedgerEntry[]> {
    let venueIds = user.venueIds;
    if (filter.venueId) {
      if (!canSeeVenue(user, filter.venueId)) return [];
      venueIds = [filter.venueId];
    }
    return (await this.repo.list({ venueIds, status: filter.status, limit: filter.limit })).map((e) => this.toApi(e));
  }

  private async visible(id: string, user: User): Promise<EntryWithPlace> {
    const e = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.get(id) : null;
    if (!e || !canSeeVenue(user, e.venueId)) throw new AppError('not_found', { en: `ledger entry ${id} does not exist`, zh: `台账记录 ${id} 不存在` });
    return e;
  }

  allowedActions(status: LedgerStatus, user: User): LedgerAction[] {
    return LedgerAction.options.filter((a) => LEDGER_FLOW[a].from.includes(status) && can(user, `ledger.${a}`));
  }

  async detail(id: string, user: User): Promise<LedgerEntryDetail> {
    const e = await this.visible(id, user);
    const [steps, revisions, photos, cameras] = await Promise.all([this.repo.steps(id), this.repo.revisions(id), this.repo.photosOf(id), this.venues.camerasInRoom(e.roomId)]);
    const footage: LedgerFootage[] = cameras.map((c) => ({
      cameraId: c.id,
      name: c.name,
      from: e.footageFrom.toISOString(),
      to: e.footageTo.toISOString(),
      playlistUrl: vodUrl(c.id, e.footageFrom, e.footageTo),
    }));
    return {
      entry: this.toApi(e),
      steps: steps.map((s) => ({ action: s.action as LedgerAction, from: s.fromStatus as LedgerStatus, to: s.toStatus as LedgerStatus, data: s.data, byId: s.byId, byName: s.byName, at: s.at.toISOString() })),
      revisions: revisions.map((r) => ({ revision: r.revision, reason: r.reason, byName: r.byName, at: r.at.toISOString(), fields: r.fields })),
      footage,
      photos: photos.map((p) => ({ id: p.id, contentType: p.contentType, bytes: p.bytes, url: `/api/ledger/photos/${p.id}`, at: p.at.toISOString() })),
      allowedActions: this.allowedActions(e.status as LedgerStatus, user),
    };
  }

  /** `now` is the step's time (tests and imports of paper ledgers give it; the API uses the clock). */
  async transition(id: string, input: TransitionInput, user: User, now = new Date()): Promise<LedgerEntryDetail> {
    const visible = await this.visible(id, user);
    const { action, ...data } = input;
    requireCapability(user, `ledger.${action}`, { en: `take the step "${action}"`, zh: `执行“${LEDGER_ACTION_NAMES[action].zh}”` });
    await this.db.transaction(async (tx) => {
      const e = (await this.repo.lockEntry(id, tx))!;
      const flow = LEDGER_FLOW[action];
      const from = e.status as LedgerStatus;
      if (!flow.from.includes(from)) {
        const next = this.allowedActions(from, { ...user, role: 'admin' });
        throw new AppError('conflict', {
          en: `entry ${e.number} is "${from}": the step "${action}" needs it to be ${flow.from.map((s) => `"${s}"`).join(' or ')}${next.length ? `; the next possible steps are ${next.join(', ')}` : '; it is closed and takes no more steps'}`,
          zh: `台账 ${e.number} 当前为“${LEDGER_STATUS_NAMES[from].zh}”：“${LEDGER_ACTION_NAMES[action].zh}”须在${flow.from.map((s) => `“${LEDGER_STATUS_NAMES[s].zh}”`).join('或')}状态下进行${next.length ? `；下一步可以是：${next.map((a) => LEDGER_ACTION_NAMES[a].zh).join('、')}` : '；该记录已办结，不能再处理'}`,
        });
      }
      const at = now;
      const stepData = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)]));
      await this.repo.insertStep({ id: randomUUID(), entryId: id, action, fromStatus: from, toStatus: flow.to, data: stepData, byId: user.id, byName: user.displayName || user.username, at }, tx);
      await this.repo.updateEntry(id, { status: flow.to, updatedAt: at }, tx);
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'ledger.transition', venueId: e.venueId, subjectType: 'ledger_entry', subjectId: id, detail: { step: action, from, to: flow.to, ...stepData } }, tx);
    });
    this.logger.info({ entryId: id, venueId: visible.venueId, action }, 'ledger step taken');
    return this.detail(id, user);
  }

  async correct(id: string, input: LedgerEntryCorrection, user: User): Promise<LedgerEntryDetail> {
    const visible = await this.visible(id, user);
    requireCapability(user, 'ledger.correct', { en: 'correct ledger entries', zh: '更正台账记录' });
    if (user.role === 'patrol' && visible.reporterId !== user.id) throw new AppError('forbidden', { en: 'a patrol officer may correct only the entries they logged: ask a supervisor', zh: '巡场人员只能更正本人登记的台账记录：请联系监督人员' });
    if (input.roomId) await this.checkedRoom(input.roomId, user).then((r) => {
      if (r.venueId !== visible.venueId) throw new AppError('bad_request', { en: `room "${input.roomId}" belongs to another venue: an entry stays in its venue`, zh: `房间“${input.roomId}”属于其他场地：台账记录不能改到其他场地` });
    });
    if (input.category) await this.checkedCategory(input.category);
    const foundAt = input.foundAt ? this.checkedFoundAt(input.foundAt) : visible.foundAt;
    const roomId = input.roomId ?? visible.roomId;
    // A new room or time finds the session again unless one is named; naming one (or null) sets it.
    const sessionChanged = input.sessionId !== undefined || input.roomId !== undefined || input.foundAt !== undefined;
    const session = sessionChanged ? await this.resolveSession(visible.venueId, roomId, foundAt, input.sessionId) : undefined;
    const window = this.footageWindow(foundAt);
    let footageMoved = false;
    await this.db.transaction(async (tx) => {
      const e = (await this.repo.lockEntry(id, tx))!;
      const at = new Date();
      const next: LedgerEntryRow = {
        ...e,
        roomId,
        foundAt,
        subjectType: input.subjectType ?? e.subjectType,
        subjectName: input.subjectName ?? e.subjectName,
        category: input.category ?? e.category,
        description: input.description ?? e.description,
        ...(session !== undefined ? { sessionId: session?.id ?? null, projectCode: session?.projectCode ?? null, projectName: session?.projectName ?? null } : {}),
        footageFrom: window.from,
        footageTo: window.to,
        revision: e.revision + 1,
        updatedAt: at,
      };
      footageMoved = next.roomId !== e.roomId || next.footageFrom.getTime() !== e.footageFrom.getTime();
      const set = Object.fromEntries(EDITABLE.map((k) => [k, next[k]]));
      await this.repo.updateEntry(id, { ...set, footageFrom: next.footageFrom, footageTo: next.footageTo, revision: next.revision, updatedAt: at }, tx);
      await this.repo.insertRevision({ entryId: id, revision: next.revision, fields: fieldsOf(next), reason: input.reason, byId: user.id, byName: user.displayName || user.username, at }, tx);
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'ledger.correct', venueId: e.venueId, subjectType: 'ledger_entry', subjectId: id, detail: { revision: next.revision, reason: input.reason, before: fieldsOf(e), after: fieldsOf(next) } }, tx);
      if (footageMoved) await this.placeHold(next, user, tx);
    });
    if (footageMoved) this.changed(visible.venueId);
    return this.detail(id, user);
  }

  async addPhoto(id: string, body: Buffer, user: User): Promise<{ id: string; duplicate: boolean }> {
    const e = await this.visible(id, user);
    requireCapability(user, 'ledger.create', { en: 'add photos to ledger entries', zh: '为台账记录添加照片' });
    const contentType = checkPhoto(body, this.settings.maxPhotoBytes);
    const sha256 = createHash('sha256').update(body).digest('hex');
    return this.db.transaction(async (tx) => {
      const result = await this.repo.insertPhoto({ id: randomUUID(), entryId: id, contentType, bytes: body.length, sha256, data: body, byId: user.id, at: new Date() }, tx);
      if (!result.duplicate) {
        await this.audit.append({ actorId: user.id, actor: user.username, action: 'ledger.photo', venueId: e.venueId, subjectType: 'ledger_entry', subjectId: id, detail: { photoId: result.id, sha256, bytes: body.length, contentType } }, tx);
      }
      return result;
    });
  }

  /**
   * The public disclosure (公示): published entries only, from every venue, with personal names
   * (people's subject names; reporters are never shown) redacted when the setting says so.
   */
  async publicList(limit = 200): Promise<PublicLedgerEntry[]> {
    const entries = await this.repo.list({ venueIds: null, status: 'published', limit });
    const steps = await this.repo.stepsOf(entries.map((e) => e.id));
    const categories = new Map((await this.repo.categories()).map((c) => [c.code, c]));
    const data = (entryId: string, action: LedgerAction) => [...steps].reverse().find((s) => s.entryId === entryId && s.action === action)?.data ?? {};
    return entries.map((e) => {
      const reported = data(e.id, 'report');
      const handled = data(e.id, 'handle');
      const published = data(e.id, 'publish');
      return {
        number: e.number,
        venueName: e.venueName,
        foundAt: e.foundAt.toISOString(),
        projectCode: e.projectCode,
        projectName: e.projectName,
        subjectType: e.subjectType as SubjectType,
        subjectName: this.settings.redactNames ? redactName(e.subjectType as SubjectType, e.subjectName) : e.subjectName,
        category: e.category,
        categoryZh: categories.get(e.category)?.zh ?? e.category,
        categoryEn: categories.get(e.category)?.en ?? e.category,
        description: e.description,
        result: handled.result ?? '',
        legalBasis: handled.legalBasis ?? '',
        decisionNumber: handled.decisionNumber ?? '',
        department: reported.department ?? '',
        publishedOn: published.publishedOn ?? '',
        publishedWhere: published.publishedWhere ?? '',
      };
    });
  }

  async photo(id: string, user: User): Promise<{ contentType: string; data: Buffer }> {
    const p = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.photo(id) : null;
    if (!p || !canSeeVenue(user, p.venueId)) throw new AppError('not_found', { en: `photo ${id} does not exist`, zh: `照片 ${id} 不存在` });
    return { contentType: p.contentType, data: p.data };
  }
}
