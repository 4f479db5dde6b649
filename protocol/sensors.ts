import { z } from 'zod';
import { IsoTime } from './ids.ts';
import { SensorKind } from './health.ts';

/**
 * The native VenueWatch schema for room sensors that speak neither Home Assistant discovery nor
 * Zigbee2MQTT: one JSON message per reading on `<nativePrefix>/<sensor code>` of the venue's own
 * broker. Rooms are assigned at the centre (PUT /api/sensors/:id/room); `room` here is a hint.
 */
export const NativeSensorReading = z.strictObject({
  v: z.literal(1),
  kind: SensorKind,
  name: z.string().min(1).max(200).optional(),
  /** On/off kinds: door open, occupied, shielding on, access granted. */
  state: z.boolean().optional(),
  /** Measurements: °C, %RH, dB(A), W; or an access-control badge id. */
  value: z.union([z.number(), z.string().max(200)]).optional(),
  battery: z.number().min(0).max(100).optional(),
  linkQuality: z.number().min(0).max(1000).optional(),
  at: IsoTime.optional(),
});
export type NativeSensorReading = z.infer<typeof NativeSensorReading>;

export const SensorRoomAssignment = z.object({ roomId: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}\.[a-z0-9][a-z0-9-]{0,62}$/).nullable() });
export type SensorRoomAssignment = z.infer<typeof SensorRoomAssignment>;
