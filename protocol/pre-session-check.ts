import { z } from 'zod';
import { IsoTime, RoomId, Uuid } from './ids.ts';
import type { Names } from './language.ts';

/**
 * The check before a bid session (default 30 min before its start): every camera and sensor of its
 * room is online, recording, has audio, keeps time, and the shielding works — so maintenance can
 * arrange a fallback recording in time. Kept with the session.
 */
export const PreSessionCheckName = z.enum(['present', 'online', 'recording', 'audio', 'clock', 'shielding']);
export type PreSessionCheckName = z.infer<typeof PreSessionCheckName>;
export const PRE_SESSION_CHECK_NAMES: Names<PreSessionCheckName> = {
  present: { zh: '配置', en: 'Set up' },
  online: { zh: '在线', en: 'Online' },
  recording: { zh: '录像', en: 'Recording' },
  audio: { zh: '音频', en: 'Audio' },
  clock: { zh: '时钟', en: 'Clock' },
  shielding: { zh: '信号屏蔽', en: 'Shielding' },
};

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
