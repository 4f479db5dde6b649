import { Alert, DeviceHealthEntry, type DeviceList, type VenueHealth } from '../../../protocol/health.ts';

/**
 * The health board's state, kept current by the SSE stream: devices by id, alerts by id, and the
 * grouping venue → room → devices the view renders. Pure functions, tested without a browser.
 */

export interface RoomGroup {
  id: string | null;
  name: string | null;
  devices: DeviceHealthEntry[];
}

export interface VenueGroup {
  venue: VenueHealth;
  box: DeviceHealthEntry | null;
  rooms: RoomGroup[];
}

export function groupBoard(list: DeviceList, devices: Map<string, DeviceHealthEntry>): VenueGroup[] {
  return list.venues.map((venue) => {
    const mine = [...devices.values()].filter((d) => d.venueId === venue.id);
    const roomName = new Map(venue.rooms.map((r) => [r.id, r.name]));
    const byRoom = new Map<string | null, DeviceHealthEntry[]>();
    for (const d of mine.filter((d) => d.kind !== 'box')) {
      const key = d.roomId && roomName.has(d.roomId) ? d.roomId : d.roomId ?? null;
      byRoom.set(key, [...(byRoom.get(key) ?? []), d]);
    }
    const rooms: RoomGroup[] = [...byRoom.entries()]
      .map(([id, ds]) => ({ id, name: id ? (roomName.get(id) ?? id) : null, devices: ds.sort((a, b) => a.name.localeCompare(b.name)) }))
      // Rooms in name order, devices without a room last.
      .sort((a, b) => (a.id === null ? 1 : b.id === null ? -1 : (a.name ?? '').localeCompare(b.name ?? '')));
    return { venue: { ...venue, online: mine.find((d) => d.kind === 'box')?.online ?? venue.online }, box: mine.find((d) => d.kind === 'box') ?? null, rooms };
  });
}

/** Applies one SSE message; returns false when it was not understood (ignored). */
export function applyEvent(event: string, data: string, devices: Map<string, DeviceHealthEntry>, alerts: Map<string, Alert>): boolean {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return false;
  }
  if (event === 'device') {
    const d = DeviceHealthEntry.safeParse(json);
    if (!d.success) return false;
    devices.set(d.data.id, d.data);
    return true;
  }
  if (event === 'alert') {
    const a = Alert.safeParse(json);
    if (!a.success) return false;
    alerts.set(a.data.id, a.data);
    return true;
  }
  return false;
}
