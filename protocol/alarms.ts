import { z } from 'zod';
import { CameraId, IsoTime, Uuid } from './ids.ts';

/**
 * Something at the venue box that needs a person (issue 5). `disk_full`: free space is below the
 * watermark and only held footage is left, so recording of unheld rooms is paused. The same
 * `alarmId` is sent again with `active: false` when it clears.
 */
export const AlarmKind = z.enum(['disk_full']);
export type AlarmKind = z.infer<typeof AlarmKind>;

export const AlarmBody = z.object({
  alarmId: Uuid,
  kind: AlarmKind,
  active: z.boolean(),
  raisedAt: IsoTime,
  detail: z.string().max(1000),
  pausedCameras: z.array(CameraId).max(2000),
  freeBytes: z.number().int().nonnegative(),
});
export type AlarmBody = z.infer<typeof AlarmBody>;
