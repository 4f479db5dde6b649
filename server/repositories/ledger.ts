import { and, asc, desc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import {
  bidSessions,
  ledgerCategories,
  ledgerEntries,
  ledgerPhotos,
  ledgerRevisions,
  ledgerSteps,
  rooms,
  venues,
  type LedgerCategoryRow,
  type LedgerEntryRow,
  type LedgerPhotoRow,
  type LedgerRevisionRow,
  type LedgerStepRow,
} from '../db/schema.ts';
import type { Transactional } from '../services/audit.ts';

export interface EntryWithPlace extends LedgerEntryRow {
  venueName: string;
  roomName: string;
}

/** SQL of the patrol issue ledger. Writes take the caller's transaction handle. */
export class LedgerRepository {
  constructor(readonly db: Database) {}

  categories(): Promise<LedgerCategoryRow[]> {
    return this.db.select().from(ledgerCategories).orderBy(asc(ledgerCategories.sort), asc(ledgerCategories.code));
  }

  async category(code: string): Promise<LedgerCategoryRow | null> {
    const [row] = await this.db.select().from(ledgerCategories).where(eq(ledgerCategories.code, code));
    return row ?? null;
  }

  async upsertCategory(row: typeof ledgerCategories.$inferInsert, tx: Transactional): Promise<void> {
    await tx
      .insert(ledgerCategories)
      .values(row)
      .onConflictDoUpdate({ target: ledgerCategories.code, set: { subjectType: row.subjectType, zh: row.zh, en: row.en, active: row.active ?? true } });
  }

  /** Next number of a venue's year; the row lock holds until the transaction ends (gap-free, one at a time). */
  async nextSeq(venueId: string, year: number, tx: Transactional): Promise<number> {
    const result = (await tx.execute(sql`INSERT INTO ledger_counters (venue_id, year, last) VALUES (${venueId}, ${year}, 1)
      ON CONFLICT (venue_id, year) DO UPDATE SET last = ledger_counters.last + 1 RETURNING last`)) as unknown as { rows: Array<{ last: number | string }> };
    return Number(result.rows[0]!.last);
  }

  async insertEntry(row: typeof ledgerEntries.$inferInsert, tx: Transactional): Promise<LedgerEntryRow> {
    const [created] = await tx.insert(ledgerEntries).values(row).returning();
    return created!;
  }

  async updateEntry(id: string, set: Partial<typeof ledgerEntries.$inferInsert>, tx: Transactional): Promise<void> {
    await tx.update(ledgerEntries).set(set).where(eq(ledgerEntries.id, id));
  }

  /** Locks the entry row for a transition or correction: concurrent steps on one entry queue. */
  async lockEntry(id: string, tx: Transactional): Promise<LedgerEntryRow | null> {
    const [row] = await tx.select().from(ledgerEntries).where(eq(ledgerEntries.id, id)).for('update');
    return row ?? null;
  }

  async byClientKey(reporterId: string, clientKey: string): Promise<LedgerEntryRow | null> {
    const [row] = await this.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.reporterId, reporterId), eq(ledgerEntries.clientKey, clientKey)));
    return row ?? null;
  }

  private withPlace() {
    return this.db
      .select({ entry: ledgerEntries, venueName: venues.name, roomName: rooms.name })
      .from(ledgerEntries)
      .innerJoin(rooms, eq(ledgerEntries.roomId, rooms.id))
      .innerJoin(venues, eq(ledgerEntries.venueId, venues.id));
  }

  private static flatten(r: { entry: LedgerEntryRow; venueName: string; roomName: string }): EntryWithPlace {
    return { ...r.entry, venueName: r.venueName, roomName: r.roomName };
  }

  async get(id: string): Promise<EntryWithPlace | null> {
    const [row] = await this.withPlace().where(eq(ledgerEntries.id, id));
    return row ? LedgerRepository.flatten(row) : null;
  }

  async list(filter: { venueIds: string[] | null; status?: string; limit: number }): Promise<EntryWithPlace[]> {
    const conds: SQL[] = [];
    if (filter.venueIds) conds.push(inArray(ledgerEntries.venueId, filter.venueIds.length ? filter.venueIds : ['']));
    if (filter.status) conds.push(eq(ledgerEntries.status, filter.status));
    const rows = await this.withPlace()
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(ledgerEntries.foundAt), desc(ledgerEntries.number))
      .limit(filter.limit);
    return rows.map(LedgerRepository.flatten);
  }

  /** Entries whose footage window ends after `since`: their holds are still published. */
  forHolds(venueId: string, since: Date, limit: number): Promise<LedgerEntryRow[]> {
    return this.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.venueId, venueId), gt(ledgerEntries.footageTo, since)))
      .orderBy(desc(ledgerEntries.foundAt))
      .limit(limit);
  }

  async insertRevision(row: typeof ledgerRevisions.$inferInsert, tx: Transactional): Promise<void> {
    await tx.insert(ledgerRevisions).values(row);
  }

  revisions(entryId: string): Promise<LedgerRevisionRow[]> {
    return this.db.select().from(ledgerRevisions).where(eq(ledgerRevisions.entryId, entryId)).orderBy(asc(ledgerRevisions.revision));
  }

  async insertStep(row: typeof ledgerSteps.$inferInsert, tx: Transactional): Promise<void> {
    await tx.insert(ledgerSteps).values(row);
  }

  steps(entryId: string): Promise<LedgerStepRow[]> {
    return this.db.select().from(ledgerSteps).where(eq(ledgerSteps.entryId, entryId)).orderBy(asc(ledgerSteps.at), asc(ledgerSteps.id));
  }

  stepsOf(entryIds: string[]): Promise<LedgerStepRow[]> {
    if (entryIds.length === 0) return Promise.resolve([]);
    return this.db.select().from(ledgerSteps).where(inArray(ledgerSteps.entryId, entryIds)).orderBy(asc(ledgerSteps.at));
  }

  /** Inserts a photo unless the same image is already on the entry; returns the stored row's id and whether it was new. */
  async insertPhoto(row: typeof ledgerPhotos.$inferInsert, tx: Transactional): Promise<{ id: string; duplicate: boolean }> {
    const inserted = await tx.insert(ledgerPhotos).values(row).onConflictDoNothing().returning({ id: ledgerPhotos.id });
    if (inserted[0]) return { id: inserted[0].id, duplicate: false };
    const [existing] = await tx
      .select({ id: ledgerPhotos.id })
      .from(ledgerPhotos)
      .where(and(eq(ledgerPhotos.entryId, row.entryId), eq(ledgerPhotos.sha256, row.sha256)));
    return { id: existing!.id, duplicate: true };
  }

  photosOf(entryId: string): Promise<Array<Omit<LedgerPhotoRow, 'data'>>> {
    return this.db
      .select({ id: ledgerPhotos.id, entryId: ledgerPhotos.entryId, contentType: ledgerPhotos.contentType, bytes: ledgerPhotos.bytes, sha256: ledgerPhotos.sha256, byId: ledgerPhotos.byId, at: ledgerPhotos.at })
      .from(ledgerPhotos)
      .where(eq(ledgerPhotos.entryId, entryId))
      .orderBy(asc(ledgerPhotos.at));
  }

  async photo(id: string): Promise<(LedgerPhotoRow & { venueId: string }) | null> {
    const [row] = await this.db
      .select({ photo: ledgerPhotos, venueId: ledgerEntries.venueId })
      .from(ledgerPhotos)
      .innerJoin(ledgerEntries, eq(ledgerPhotos.entryId, ledgerEntries.id))
      .where(eq(ledgerPhotos.id, id));
    return row ? { ...row.photo, venueId: row.venueId } : null;
  }

  /** The session in a room whose window (planned start − pre to end + post) holds `at`, nearest start first. */
  async sessionAt(roomId: string, at: Date, preMs: number, postMs: number): Promise<{ id: string; projectCode: string; projectName: string } | null> {
    const [row] = await this.db
      .select({ id: bidSessions.id, projectCode: bidSessions.projectCode, projectName: bidSessions.projectName })
      .from(bidSessions)
      .where(
        and(
          eq(bidSessions.roomId, roomId),
          sql`${bidSessions.plannedStart} - make_interval(secs => ${preMs / 1000}) <= ${at.toISOString()}::timestamptz`,
          sql`${bidSessions.plannedEnd} + make_interval(secs => ${postMs / 1000}) >= ${at.toISOString()}::timestamptz`,
        ),
      )
      .orderBy(sql`abs(extract(epoch from (${bidSessions.plannedStart} - ${at.toISOString()}::timestamptz)))`)
      .limit(1);
    return row ?? null;
  }

  async session(id: string): Promise<{ id: string; projectCode: string; projectName: string; roomId: string; venueId: string } | null> {
    const [row] = await this.db
      .select({ id: bidSessions.id, projectCode: bidSessions.projectCode, projectName: bidSessions.projectName, roomId: bidSessions.roomId, venueId: rooms.venueId })
      .from(bidSessions)
      .innerJoin(rooms, eq(bidSessions.roomId, rooms.id))
      .where(eq(bidSessions.id, id));
    return row ?? null;
  }
}
