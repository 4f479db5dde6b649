import { and, desc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { bidSessions, exportRequests, rooms, venues, type ExportRequestRow } from '../db/schema.ts';
import type { Transactional } from '../services/audit.ts';

export interface ExportRequestWithPlace extends ExportRequestRow {
  venueName: string;
  roomName: string;
  projectCode: string | null;
  projectName: string | null;
}

/** SQL of the footage export requests. Writes take the caller's transaction handle. */
export class ExportRequestRepository {
  constructor(readonly db: Database) {}

  async insert(row: typeof exportRequests.$inferInsert, tx: Transactional): Promise<void> {
    await tx.insert(exportRequests).values(row);
  }

  /** Locks the request for a decision, a withdrawal or a download: two approvers cannot both decide. */
  async lock(id: string, tx: Transactional): Promise<ExportRequestRow | null> {
    const [row] = await tx.select().from(exportRequests).where(eq(exportRequests.id, id)).for('update');
    return row ?? null;
  }

  async update(id: string, set: Partial<typeof exportRequests.$inferInsert>, tx: Transactional): Promise<void> {
    await tx.update(exportRequests).set(set).where(eq(exportRequests.id, id));
  }

  async countDownload(id: string, tx: Transactional): Promise<void> {
    await tx
      .update(exportRequests)
      .set({ downloads: sql`${exportRequests.downloads} + 1` })
      .where(eq(exportRequests.id, id));
  }

  private withPlace() {
    return this.db
      .select({ request: exportRequests, venueName: venues.name, roomName: rooms.name, projectCode: bidSessions.projectCode, projectName: bidSessions.projectName })
      .from(exportRequests)
      .innerJoin(rooms, eq(exportRequests.roomId, rooms.id))
      .innerJoin(venues, eq(exportRequests.venueId, venues.id))
      .leftJoin(bidSessions, eq(exportRequests.sessionId, bidSessions.id));
  }

  private static flatten(r: { request: ExportRequestRow; venueName: string; roomName: string; projectCode: string | null; projectName: string | null }): ExportRequestWithPlace {
    return { ...r.request, venueName: r.venueName, roomName: r.roomName, projectCode: r.projectCode, projectName: r.projectName };
  }

  async get(id: string): Promise<ExportRequestWithPlace | null> {
    const [row] = await this.withPlace().where(eq(exportRequests.id, id));
    return row ? ExportRequestRepository.flatten(row) : null;
  }

  /** Newest first, within the venues given (null = every venue). */
  async list(filter: { venueIds: string[] | null; status?: string; limit: number }): Promise<ExportRequestWithPlace[]> {
    const conds: SQL[] = [];
    if (filter.venueIds) conds.push(inArray(exportRequests.venueId, filter.venueIds.length ? filter.venueIds : ['']));
    if (filter.status) conds.push(eq(exportRequests.status, filter.status));
    const rows = await this.withPlace()
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(exportRequests.requestedAt), desc(exportRequests.id))
      .limit(filter.limit);
    return rows.map(ExportRequestRepository.flatten);
  }

  /** A venue's pending and approved requests whose window ends after `since`: their holds are published. */
  forHolds(venueId: string, since: Date, limit: number): Promise<ExportRequestRow[]> {
    return this.db
      .select()
      .from(exportRequests)
      .where(and(eq(exportRequests.venueId, venueId), inArray(exportRequests.status, ['pending', 'approved']), gt(exportRequests.toAt, since)))
      .orderBy(desc(exportRequests.requestedAt))
      .limit(limit);
  }
}
