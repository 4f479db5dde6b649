import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { recordingGaps, type NewRecordingGapRow, type RecordingGapRow } from '../db/schema.ts';

/** Recording gaps with their cause, as the venue boxes reported them (open ones without an end). */
export class GapRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the gaps not yet known; returns the ids that were new. Idempotent by id. */
  async insertMany(rows: NewRecordingGapRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const inserted = await this.db.insert(recordingGaps).values(rows).onConflictDoNothing({ target: recordingGaps.id }).returning({ id: recordingGaps.id });
    return inserted.map((r) => r.id);
  }

  /**
   * Inserts a gap, or updates the row of the same id while that row is still open (a closed gap is
   * final: a repeated or late "open" message never reopens it). Returns whether a row changed.
   */
  async upsert(row: NewRecordingGapRow): Promise<boolean> {
    const changed = await this.db
      .insert(recordingGaps)
      .values(row)
      .onConflictDoUpdate({
        target: recordingGaps.id,
        set: { span: row.span, cause: row.cause, detail: row.detail, updatedAt: new Date() },
        setWhere: sql`upper_inf(${recordingGaps.span}) AND ${recordingGaps.venueId} = ${row.venueId}`,
      })
      .returning({ id: recordingGaps.id });
    return changed.length > 0;
  }

  /** Deletes an open gap the venue withdrew (it closed within the threshold). */
  async withdraw(id: string, venueId: string): Promise<boolean> {
    const gone = await this.db
      .delete(recordingGaps)
      .where(and(eq(recordingGaps.id, id), eq(recordingGaps.venueId, venueId), sql`upper_inf(${recordingGaps.span})`))
      .returning({ id: recordingGaps.id });
    return gone.length > 0;
  }

  /** Gaps of one camera overlapping [from, to), in time order (open gaps overlap everything after their start). */
  overlapping(cameraId: string, from: Date, to: Date): Promise<RecordingGapRow[]> {
    const overlap = sql`${recordingGaps.span} && tstzrange(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz, '[)')`;
    return this.db
      .select()
      .from(recordingGaps)
      .where(and(eq(recordingGaps.cameraId, cameraId), overlap))
      .orderBy(asc(sql`lower(${recordingGaps.span})`), asc(recordingGaps.id));
  }
}
