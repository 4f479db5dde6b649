import { asc, eq, inArray, sql } from 'drizzle-orm';
import type { CameraInfo, RoomInfo } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import { agentStatus, cameras, rooms, venues, type AgentStatusRow, type CameraRow, type RoomRow, type VenueRow } from '../db/schema.ts';

/** Venues, their rooms and cameras as the venue boxes last described them. */
export class VenueRepository {
  constructor(private readonly db: Database) {}

  /** Replaces what the centre knows of one venue with its latest inventory, in one transaction. */
  async upsertInventory(venue: { id: string; name: string }, roomList: RoomInfo[], cameraList: CameraInfo[]): Promise<void> {
    const now = new Date();
    await this.db.transaction(async (tx) => {
      await tx
        .insert(venues)
        .values({ id: venue.id, name: venue.name, updatedAt: now })
        .onConflictDoUpdate({ target: venues.id, set: { name: venue.name, updatedAt: now } });
      for (const r of roomList) {
        await tx
          .insert(rooms)
          .values({ id: r.id, venueId: venue.id, name: r.name, kind: r.kind, updatedAt: now })
          .onConflictDoUpdate({ target: rooms.id, set: { name: r.name, kind: r.kind, updatedAt: now } });
      }
      for (const c of cameraList) {
        const fields = {
          roomId: c.roomId,
          name: c.name,
          endpoint: c.endpoint,
          manufacturer: c.manufacturer,
          model: c.model,
          serial: c.serial,
          firmware: c.firmware,
          xaddr: c.xaddr,
          streamUri: c.streamUri,
          videoCodec: c.videoCodec,
          audioCodec: c.audioCodec,
          recording: c.recording,
          lastError: c.lastError,
          updatedAt: now,
        };
        await tx
          .insert(cameras)
          .values({ id: c.id, venueId: venue.id, ...fields })
          .onConflictDoUpdate({ target: cameras.id, set: fields });
      }
    });
  }

  /** Ensures a venue row exists (a box may speak before its first inventory); keeps a known name. */
  async ensureVenue(id: string, name: string): Promise<void> {
    await this.db.insert(venues).values({ id, name }).onConflictDoNothing();
  }

  listVenues(ids: string[] | null = null): Promise<VenueRow[]> {
    const q = this.db.select().from(venues);
    return (ids ? q.where(inArray(venues.id, ids)) : q).orderBy(asc(venues.id));
  }

  listRooms(venueIds: string[] | null = null): Promise<RoomRow[]> {
    const q = this.db.select().from(rooms);
    return (venueIds ? q.where(inArray(rooms.venueId, venueIds)) : q).orderBy(asc(rooms.id));
  }

  listCameras(venueIds: string[] | null = null): Promise<CameraRow[]> {
    const q = this.db.select().from(cameras);
    return (venueIds ? q.where(inArray(cameras.venueId, venueIds)) : q).orderBy(asc(cameras.id));
  }

  async getRoom(id: string): Promise<(RoomRow & { venueName: string }) | null> {
    const [row] = await this.db
      .select({ room: rooms, venueName: venues.name })
      .from(rooms)
      .innerJoin(venues, eq(rooms.venueId, venues.id))
      .where(eq(rooms.id, id));
    return row ? { ...row.room, venueName: row.venueName } : null;
  }

  async getCamera(id: string): Promise<CameraRow | null> {
    const [row] = await this.db.select().from(cameras).where(eq(cameras.id, id));
    return row ?? null;
  }

  camerasInRoom(roomId: string): Promise<CameraRow[]> {
    return this.db.select().from(cameras).where(eq(cameras.roomId, roomId)).orderBy(asc(cameras.id));
  }

  /** Moves a camera's "last segment end" forward only: batches may arrive out of order. */
  async advanceLastSegmentEnd(cameraId: string, end: Date): Promise<void> {
    await this.db
      .update(cameras)
      .set({ lastSegmentEnd: sql`GREATEST(COALESCE(${cameras.lastSegmentEnd}, ${end}), ${end})` })
      .where(eq(cameras.id, cameraId));
  }

  async setStatus(s: { venueId: string; online: boolean; agentVersion: string | null; startedAt: Date | null; lastSeen: Date }): Promise<void> {
    await this.db
      .insert(agentStatus)
      .values(s)
      .onConflictDoUpdate({
        target: agentStatus.venueId,
        set: { online: s.online, agentVersion: s.agentVersion, startedAt: s.startedAt, lastSeen: s.lastSeen },
      });
  }

  listStatus(): Promise<AgentStatusRow[]> {
    return this.db.select().from(agentStatus);
  }
}
