import { z } from 'zod';
import { CameraId, IsoTime, Uuid } from './ids.ts';

/**
 * A stretch longer than the gap threshold in which a camera's recording is missing, as the venue
 * box saw it happen. `kind: video` = no footage at all; `kind: audio` = footage without the sound
 * the camera normally sends. The cause is what the box knew when the gap ended.
 */
export const GapCause = z.enum(['camera_offline', 'auth_failed', 'recorder_crashed', 'disk_full', 'agent_down', 'audio_lost']);
export type GapCause = z.infer<typeof GapCause>;

export const GapKind = z.enum(['video', 'audio']);
export type GapKind = z.infer<typeof GapKind>;

export const GapRecord = z
  .object({
    id: Uuid,
    cameraId: CameraId,
    kind: GapKind,
    cause: GapCause,
    start: IsoTime,
    end: IsoTime,
    /** Last words of the recorder (ffmpeg error, watchdog), for the operator; never credentials. */
    detail: z.string().max(500).nullable(),
  })
  .refine((g) => Date.parse(g.end) > Date.parse(g.start), { message: 'gap end must be after its start', path: ['end'] });
export type GapRecord = z.infer<typeof GapRecord>;
