import type { Logger } from 'pino';
import type { AuditChainCheck, AuditEntry, AuditList, AuditQuery, User } from '../../protocol/index.ts';
import type { AuditRow } from '../db/schema-ledger.ts';
import type { AuditRepository } from '../repositories/audit.ts';
import { canSeeVenue, requireCapability } from './access.ts';
import type { AuditService } from './audit.ts';
import type { SessionService } from './sessions.ts';
import { AppError } from './errors.ts';

type Reader = Pick<User, 'id' | 'username' | 'role' | 'venueIds'>;

const toEntry = (r: AuditRow): AuditEntry => ({
  seq: r.seq,
  at: r.at.toISOString(),
  actor: r.actor,
  actorId: r.actorId,
  action: r.action,
  venueId: r.venueId,
  subjectType: r.subjectType,
  subjectId: r.subjectId,
  detail: r.detail,
});

/**
 * The audit trail for the people who answer for it: a supervisor asks who watched or exported a
 * session's footage, an administrator who changed an account. Reading is scoped to the reader's
 * venues; checking the whole chain reads every venue's rows, so it is city-wide only, and is
 * itself audited.
 */
export class AuditTrailService {
  /** One walk of the chain at a time: a second asker waits for the same answer. */
  private checking: Promise<AuditChainCheck> | null = null;

  constructor(
    private readonly repo: AuditRepository,
    private readonly audit: AuditService,
    private readonly sessions: Pick<SessionService, 'footageScope'>,
    private readonly log: Logger,
  ) {}

  async list(user: Reader, q: AuditQuery): Promise<AuditList> {
    // Scope before role: a venue outside it "does not exist" for everyone, so ids cannot be probed.
    if (q.venueId && !canSeeVenue(user, q.venueId)) {
      throw new AppError('not_found', { en: `venue "${q.venueId}" does not exist: GET /api/venues lists the venues you can see`, zh: `场地“${q.venueId}”不存在：请从您可查看的场地中选择` });
    }
    // A session outside the reader's venues is not found, the same way.
    const scope = q.sessionId ? await this.sessions.footageScope(q.sessionId, user) : null;
    requireCapability(user, 'audit.read', { en: 'read the audit trail', zh: '查看审计日志' });
    const rows = await this.repo.search({
      scope: user.venueIds,
      venueId: q.venueId,
      action: q.action,
      actor: q.actor,
      subjectType: q.subjectType,
      subjectId: q.subjectId,
      session: scope ? { id: scope.session.id, roomId: scope.session.roomId, cameraIds: scope.cameraIds, from: scope.from, to: scope.to } : undefined,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      before: q.before,
      limit: q.limit,
    });
    const page = rows.slice(0, q.limit);
    return { entries: page.map(toEntry), nextBefore: rows.length > q.limit ? page[page.length - 1]!.seq : null };
  }

  async checkChain(user: Reader): Promise<AuditChainCheck> {
    requireCapability(user, 'audit.verify', { en: 'check the audit chain', zh: '校验审计日志链' });
    if (user.venueIds !== null) {
      throw new AppError('forbidden', {
        en: 'the chain runs through every venue\'s rows: ask a city-wide administrator or supervisor to check it',
        zh: '审计链贯穿全市各场地的记录：请联系全市范围的系统管理员或市级监督人员校验',
      });
    }
    this.checking ??= (async () => {
      try {
        const r = await this.audit.verify();
        return { ok: r.ok, rows: r.rows, firstBad: r.ok ? null : r.firstBad, checkedAt: new Date().toISOString() };
      } finally {
        this.checking = null;
      }
    })();
    const result = await this.checking;
    if (!result.ok) this.log.error({ firstBad: result.firstBad }, 'audit chain broken');
    await this.audit.append({
      actorId: user.id,
      actor: user.username,
      action: 'audit.verify',
      venueId: null,
      subjectType: 'audit_log',
      subjectId: 'chain',
      detail: { ok: result.ok, rows: result.rows, firstBad: result.firstBad },
    });
    return result;
  }
}
