import { z } from 'zod';
import { IsoTime, RoomId, Uuid } from './ids.ts';

/**
 * The check before a bid session (default 30 min before its start): every camera and sensor of its
 * room is online, recording, has audio, keeps time, and the shielding works — so maintenance can
 * arrange a fallback recording in time. Kept with the session.
 */
export const PreSessionCheckName = z.enum(['present', 'online', 'recording', 'audio', 'clock', 'shielding']);
export type PreSessionCheckName = z.infer<typeof PreSessionCheckName>;

export const PreSessionCheckItem = z.object({
  deviceId: z.string(),
  name: z.string(),
  kind: z.enum(['camera', 'sensor', 'room']),
  check: PreSessionCheckName,
  ok: z.boolean(),
  detail: z.string(),
  /** The same in Chinese; absent from results stored before it was kept. */
  detailZh: z.string().optional(),
});
export type PreSessionCheckItem = z.infer<typeof PreSessionCheckItem>;

export const PreSessionCheckResult = z.object({
  sessionId: Uuid,
  roomId: RoomId,
  roomName: z.string(),
  checkedAt: IsoTime,
  ok: z.boolean(),
  items: z.array(PreSessionCheckItem),
});
export type PreSessionCheckResult = z.infer<typeof PreSessionCheckResult>;
