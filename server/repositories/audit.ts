import { and, desc, eq, gte, inArray, like, lt, or, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { auditLog, type AuditRow } from '../db/schema-ledger.ts';

export interface AuditSearch {
  /** The reader's venues; null = every row, including rows of no venue. */
  scope: string[] | null;
  venueId?: string;
  action?: string;
  actor?: string;
  subjectType?: string;
  subjectId?: string;
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
