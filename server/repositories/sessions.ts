import { and, asc, desc, eq, gt, inArray } from 'drizzle-orm';
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

  async create(row: typeof bidSessions.$inferInsert): Promise<BidSessionRow> {
    const [created] = await this.db.insert(bidSessions).values(row).returning();
    return created!;
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

  async list(venueIds: string[] | null): Promise<SessionWithPlace[]> {
    const q = this.withPlace();
    const rows = await (venueIds ? q.where(inArray(rooms.venueId, venueIds)) : q).orderBy(desc(bidSessions.plannedStart), asc(bidSessions.id));
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
