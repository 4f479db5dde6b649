import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { segments, type NewSegmentRow, type SegmentRow } from '../db/schema.ts';

/** The footage catalogue: every segment a venue recorded, and whether the centre holds it. */
export class SegmentRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the segments not yet catalogued; returns the ids that were new. Idempotent by id. */
  async insertMany(rows: NewSegmentRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const inserted = await this.db.insert(segments).values(rows).onConflictDoNothing({ target: segments.id }).returning({ id: segments.id });
    return inserted.map((r) => r.id);
  }

  async get(id: string): Promise<SegmentRow | null> {
    const [row] = await this.db.select().from(segments).where(eq(segments.id, id));
    return row ?? null;
  }

  /**
   * Segments of one camera whose span overlaps [from, to), in time order. Half-open ranges: a
   * segment ending exactly at `from` is not included, one starting exactly at `from` is.
   */
  overlapping(cameraId: string, from: Date, to: Date, opts: { storedOnly?: boolean } = {}): Promise<SegmentRow[]> {
    const overlap = sql`${segments.span} && tstzrange(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz, '[)')`;
    const where = opts.storedOnly ? and(eq(segments.cameraId, cameraId), overlap, isNotNull(segments.storedAt)) : and(eq(segments.cameraId, cameraId), overlap);
    return this.db.select().from(segments).where(where).orderBy(asc(sql`lower(${segments.span})`), asc(segments.id));
  }

  /**
   * Whether the camera has any footage that began before `t`. The centre keeps every segment's row
   * (only the files expire), so this is "was the camera recorded before t at all"; the GiST index on
   * (camera_id, span) answers it with the first row it finds.
   */
  async anyBefore(cameraId: string, t: Date): Promise<boolean> {
    const before = sql`${segments.span} && tstzrange(NULL, ${t.toISOString()}::timestamptz, '[)')`;
    const rows = await this.db.select({ id: segments.id }).from(segments).where(and(eq(segments.cameraId, cameraId), before)).limit(1);
    return rows.length > 0;
  }

  /** Records that the centre now holds a segment: inserts the catalogue row if MQTT has not yet. */
  async upsertStored(row: NewSegmentRow & { storedAt: Date; storageKey: string }): Promise<void> {
    await this.db
      .insert(segments)
      .values(row)
      .onConflictDoUpdate({ target: segments.id, set: { storedAt: row.storedAt, storageKey: row.storageKey } });
  }
}
