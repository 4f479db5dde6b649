import { and, desc, eq, gte, inArray, like, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { exportRequests } from '../db/schema-exports.ts';
import { auditLog, ledgerEntries, type AuditRow } from '../db/schema-ledger.ts';

export interface AuditSearch {
  /** The reader's venues; null = every row, including rows of no venue. */
  scope: string[] | null;
  venueId?: string;
  action?: string;
  actor?: string;
  subjectType?: string;
  subjectId?: string;
  /** Rows about a bid session's footage and ledger entries (sessions.ts footageScope). */
  session?: { id: string; roomId: string; cameraIds: string[]; from: Date; to: Date };
  from?: Date;
  to?: Date;
  before?: number;
  limit: number;
}

/** Reading the audit trail; appending (under its lock, in the caller's transaction) is AuditService's. */
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Newest first; one row more than asked, so the caller knows whether an older page exists. */
  search(q: AuditSearch): Promise<AuditRow[]> {
    const conds: (SQL | undefined)[] = [
      q.scope ? inArray(auditLog.venueId, q.scope) : undefined,
      q.venueId ? eq(auditLog.venueId, q.venueId) : undefined,
      // A group ("footage") matches its actions ("footage.export"); LIKE's wildcards cannot occur in one.
      q.action ? (q.action.includes('.') ? eq(auditLog.action, q.action) : or(eq(auditLog.action, q.action), like(auditLog.action, `${q.action}.%`))) : undefined,
      q.actor ? eq(auditLog.actor, q.actor) : undefined,
      q.subjectType ? eq(auditLog.subjectType, q.subjectType) : undefined,
      q.subjectId ? eq(auditLog.subjectId, q.subjectId) : undefined,
      q.session ? aboutSession(q.session) : undefined,
      q.from ? gte(auditLog.at, q.from) : undefined,
      q.to ? lt(auditLog.at, q.to) : undefined,
      q.before ? lt(auditLog.seq, q.before) : undefined,
    ];
    const where = conds.filter((c): c is SQL => c !== undefined);
    return this.db
      .select()
      .from(auditLog)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLog.seq))
      .limit(q.limit + 1);
  }
}

/**
 * A session's rows: playlists of its cameras for a range overlapping its span (the range is in the
 * row's detail, as the reader asked for it), live view of them during it, exports of its room
 * overlapping it (with their approval, download and withdrawal rows), and its ledger entries.
 * Single segment fetches (recorded and live) are left out: each follows a playlist or live row,
 * one per 2 s of footage played.
 */
function aboutSession(s: NonNullable<AuditSearch['session']>): SQL {
  const ofCameras = s.cameraIds.length > 0 ? and(eq(auditLog.subjectType, 'camera'), inArray(auditLog.subjectId, s.cameraIds)) : sql`false`;
  return or(
    and(ofCameras, eq(auditLog.action, 'footage.playlist'), sql`(${auditLog.detail}->>'from')::timestamptz < ${s.to.toISOString()}::timestamptz`, sql`(${auditLog.detail}->>'to')::timestamptz > ${s.from.toISOString()}::timestamptz`),
    and(ofCameras, eq(auditLog.action, 'footage.live'), gte(auditLog.at, s.from), lt(auditLog.at, s.to)),
    and(
      eq(auditLog.subjectType, 'export_request'),
      sql`${auditLog.subjectId} in (select ${exportRequests.id}::text from ${exportRequests} where ${exportRequests.roomId} = ${s.roomId} and ${exportRequests.fromAt} < ${s.to.toISOString()}::timestamptz and ${exportRequests.toAt} > ${s.from.toISOString()}::timestamptz)`,
    ),
    and(eq(auditLog.subjectType, 'ledger_entry'), sql`${auditLog.subjectId} in (select ${ledgerEntries.id}::text from ${ledgerEntries} where ${ledgerEntries.sessionId} = ${s.id})`),
  )!;
}
