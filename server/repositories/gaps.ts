import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { recordingGaps, type NewRecordingGapRow, type RecordingGapRow } from '../db/schema.ts';

/** Recording gaps with their cause, as the venue boxes reported them. */
export class GapRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the gaps not yet known; returns the ids that were new. Idempotent by id. */
  async insertMany(rows: NewRecordingGapRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const inserted = await this.db.insert(recordingGaps).values(rows).onConflictDoNothing({ target: recordingGaps.id }).returning({ id: recordingGaps.id });
    return inserted.map((r) => r.id);
  }

  /** Gaps of one camera overlapping [from, to), in time order. */
  overlapping(cameraId: string, from: Date, to: Date): Promise<RecordingGapRow[]> {
    const overlap = sql`${recordingGaps.span} && tstzrange(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz, '[)')`;
    return this.db
      .select()
      .from(recordingGaps)
      .where(and(eq(recordingGaps.cameraId, cameraId), overlap))
      .orderBy(asc(sql`lower(${recordingGaps.span})`), asc(recordingGaps.id));
  }
}
