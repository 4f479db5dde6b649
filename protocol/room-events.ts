import { z } from 'zod';
import { DeviceId, IsoTime, RoomId, Uuid } from './ids.ts';

/**
 * Room events: what happens in a room according to its cameras (ONVIF events: motion, tamper /
 * global scene change, video loss), its sensors (door, occupancy, shielding, access control…) and
 * the box itself (a camera clock drifting). The box sends them through its durable outbox (topic
 * `events`); the centre stores them beside the footage and shows them.
 */
export const RoomEventKind = z.enum([
  'motion',
  'tamper',
  'video_loss',
  'clock_drift',
  'door',
  'occupancy',
  'noise',
  'shielding',
  'access',
  'temperature',
  'humidity',
  'power',
]);
export type RoomEventKind = z.infer<typeof RoomEventKind>;

export const RoomEvent = z.object({
  id: Uuid,
  deviceId: DeviceId,
  roomId: RoomId.nullable(),
  kind: RoomEventKind,
  /** On/off events (motion started, door open, tamper active); null for measurements. */
  state: z.boolean().nullable(),
  value: z.union([z.number(), z.string().max(200)]).nullable(),
  at: IsoTime,
  source: z.enum(['onvif', 'sensor', 'agent']),
  detail: z.string().max(500).nullable(),
});
export type RoomEvent = z.infer<typeof RoomEvent>;

export const RoomEventList = z.object({ events: z.array(RoomEvent.extend({ venueId: z.string() })) });
export type RoomEventList = z.infer<typeof RoomEventList>;
