import { z } from 'zod';

/**
 * Identifiers are chosen at the venue and are globally unique because every room and camera id
 * starts with its venue id: "<venueId>.<local>". The centre can then refuse, from the id alone, a
 * message in which one venue box speaks for another venue's device.
 */
export const VenueId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'venue id: 2–63 lowercase letters, digits or "-"');
export type VenueId = z.infer<typeof VenueId>;

const localPart = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const DeviceId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}\.[a-z0-9][a-z0-9-]{0,62}$/, 'device id: "<venueId>.<local>" in lowercase letters, digits or "-"');
export const RoomId = DeviceId;
export const CameraId = DeviceId;
export type RoomId = z.infer<typeof RoomId>;
export type CameraId = z.infer<typeof CameraId>;

export function deviceId(venueId: string, local: string): string {
  if (!localPart.test(local)) throw new Error(`"${local}" is not a valid local id: use lowercase letters, digits or "-"`);
  return `${venueId}.${local}`;
}

export function venueOf(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? '' : id.slice(0, dot);
}

export const Uuid = z.uuid();
export const IsoTime = z.iso.datetime({ offset: true });
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 as 64 lowercase hex digits');
