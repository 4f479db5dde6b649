import type { CameraSummary, RoomKind, User, Venue, VenueInventory, VenueList } from '../../protocol/index.ts';
import { venueOf } from '../../protocol/index.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { AppError } from './errors.ts';

/** What the centre knows of each venue: its inventory and whether its box is online. */
export class VenueService {
  constructor(private readonly venues: VenueRepository) {}

  /**
   * Applies one inventory. Every room and camera id must start with the venue's id; otherwise a box
   * would be describing another venue's devices and the whole message is refused.
   */
  async applyInventory(msg: VenueInventory): Promise<void> {
    if (msg.venue.id !== msg.venueId) throw AppError.forMachines('bad_request', `inventory describes venue "${msg.venue.id}" but was sent by "${msg.venueId}"`);
    const foreign = [...msg.rooms.map((r) => r.id), ...msg.cameras.map((c) => c.id), ...msg.cameras.flatMap((c) => (c.roomId ? [c.roomId] : []))].find(
      (id) => venueOf(id) !== msg.venueId,
    );
    if (foreign) throw AppError.forMachines('forbidden', `inventory of venue "${msg.venueId}" names "${foreign}", which belongs to another venue`);
    await this.venues.upsertInventory(msg.venue, msg.rooms, msg.cameras);
  }

  async setStatus(venueId: string, online: boolean, agentVersion: string | null, startedAt: Date | null, at: Date): Promise<void> {
    await this.venues.setStatus({ venueId, online, agentVersion, startedAt, lastSeen: at });
  }

  async list(user: Pick<User, 'venueIds'>): Promise<VenueList> {
    const ids = user.venueIds;
    const [venueRows, roomRows, cameraRows, statusRows] = await Promise.all([
      this.venues.listVenues(ids),
      this.venues.listRooms(ids),
      this.venues.listCameras(ids),
      this.venues.listStatus(),
    ]);
    const status = new Map(statusRows.map((s) => [s.venueId, s]));
    const venues: Venue[] = venueRows.map((v) => {
      const online = status.get(v.id)?.online ?? false;
      const cameras: CameraSummary[] = cameraRows
        .filter((c) => c.venueId === v.id)
        .map((c) => ({
          id: c.id,
          name: c.name,
          roomId: c.roomId,
          // The centre only hears of a camera through its venue box: an offline box means unknown, shown as offline.
          online: online && c.lastError === null,
          recording: online && c.recording,
          videoCodec: c.videoCodec,
          audioCodec: c.audioCodec,
          lastSegmentEnd: c.lastSegmentEnd?.toISOString() ?? null,
          lastError: c.lastError,
        }));
      return {
        id: v.id,
        name: v.name,
        online,
        lastSeen: status.get(v.id)?.lastSeen.toISOString() ?? null,
        rooms: roomRows.filter((r) => r.venueId === v.id).map((r) => ({ id: r.id, name: r.name, kind: r.kind as RoomKind })),
        cameras,
      };
    });
    return { venues };
  }

  /** Venue ids with their online state, for /api/health and start-up window publication. */
  async summaries(): Promise<Array<{ id: string; name: string; online: boolean; lastSeen: string | null }>> {
    const [venueRows, statusRows] = await Promise.all([this.venues.listVenues(), this.venues.listStatus()]);
    const status = new Map(statusRows.map((s) => [s.venueId, s]));
    return venueRows.map((v) => ({ id: v.id, name: v.name, online: status.get(v.id)?.online ?? false, lastSeen: status.get(v.id)?.lastSeen.toISOString() ?? null }));
  }
}
