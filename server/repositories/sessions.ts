import { and, asc, desc, eq, gt, inArray, lt } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { bidSessions, rooms, venues, type BidSessionRow } from '../db/schema.ts';

export interface SessionWithPlace extends BidSessionRow {
  venueId: string;
  venueName: string;
  roomName: string;
}

/** Bid sessions (bid openings and evaluations) booked in a room. */
export class SessionRepository {
  constructor(private readonly db: Database) {}

  /**
   * Books a session unless its room already has one whose planned time overlaps (then answers those,
   * earliest first, and books nothing), or `allowOverlap` says the room is shared on purpose. The
   * room's row is locked for the check and the insert, so two bookings of one slot cannot both pass.
   */
  async create(row: typeof bidSessions.$inferInsert, allowOverlap = false): Promise<{ created: BidSessionRow } | { conflicts: BidSessionRow[] }> {
    return this.db.transaction(async (tx) => {
      await tx.select({ id: rooms.id }).from(rooms).where(eq(rooms.id, row.roomId)).for('update');
      if (!allowOverlap) {
        const conflicts = await tx
          .select()
          .from(bidSessions)
          .where(and(eq(bidSessions.roomId, row.roomId), lt(bidSessions.plannedStart, row.plannedEnd), gt(bidSessions.plannedEnd, row.plannedStart)))
          .orderBy(asc(bidSessions.plannedStart))
          .limit(5);
        if (conflicts.length > 0) return { conflicts };
      }
      const [created] = await tx.insert(bidSessions).values(row).returning();
      return { created: created! };
    });
  }

  private withPlace() {
    return this.db
      .select({ session: bidSessions, venueId: rooms.venueId, venueName: venues.name, roomName: rooms.name })
      .from(bidSessions)
      .innerJoin(rooms, eq(bidSessions.roomId, rooms.id))
      .innerJoin(venues, eq(rooms.venueId, venues.id));
  }

  private static flatten(r: { session: BidSessionRow; venueId: string; venueName: string; roomName: string }): SessionWithPlace {
    return { ...r.session, venueId: r.venueId, venueName: r.venueName, roomName: r.roomName };
  }

  /** Sessions overlapping [from, to) in the given venues (null: all), newest first, at most `limit`. */
  async list(f: { venueIds: string[] | null; from?: Date; to?: Date; limit: number }): Promise<SessionWithPlace[]> {
    const conds = [
      f.venueIds ? inArray(rooms.venueId, f.venueIds) : undefined,
      f.from ? gt(bidSessions.plannedEnd, f.from) : undefined,
      f.to ? lt(bidSessions.plannedStart, f.to) : undefined,
    ].filter((c) => c !== undefined);
    const rows = await this.withPlace()
      .where(and(...conds))
      .orderBy(desc(bidSessions.plannedStart), asc(bidSessions.id))
      .limit(f.limit);
    return rows.map(SessionRepository.flatten);
  }

  async get(id: string): Promise<SessionWithPlace | null> {
    const [row] = await this.withPlace().where(eq(bidSessions.id, id));
    return row ? SessionRepository.flatten(row) : null;
  }

  /** Sessions of one venue that end after `since`, newest first, at most `limit`. */
  async forVenue(venueId: string, since: Date, limit: number): Promise<SessionWithPlace[]> {
    const rows = await this.withPlace()
      .where(and(eq(rooms.venueId, venueId), gt(bidSessions.plannedEnd, since)))
      .orderBy(desc(bidSessions.plannedStart))
      .limit(limit);
    return rows.map(SessionRepository.flatten);
  }
}
