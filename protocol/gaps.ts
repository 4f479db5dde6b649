import { z } from 'zod';
import { CameraId, IsoTime, Uuid } from './ids.ts';

/**
 * A stretch longer than the gap threshold in which a camera's recording is missing, as the venue
 * box saw it happen. `kind: video` = no footage at all; `kind: audio` = footage without the sound
 * the camera normally sends. The cause is what the box knew last: a gap is sent when it opens
 * (`end: null`, the camera still down) and again, same id, when it closes with its exact end; a
 * gap that turned out no longer than the threshold once it closed is sent `withdrawn` (deleted).
 */
export const GapCause = z.enum(['camera_offline', 'auth_failed', 'recorder_crashed', 'disk_full', 'agent_down', 'audio_lost']);
export type GapCause = z.infer<typeof GapCause>;

/**
 * The cause of a gap in the centre's completeness report: the venue's, or `before_first_footage`,
 * which only the centre can say: the stretch lies before the first footage it holds of that camera
 * (the camera was not being recorded yet: installed, or taken on by its box, after the window began).
 */
export const FoundGapCause = z.enum([...GapCause.options, 'before_first_footage']);
export type FoundGapCause = z.infer<typeof FoundGapCause>;

export const GapKind = z.enum(['video', 'audio']);
export type GapKind = z.infer<typeof GapKind>;

export const GapRecord = z
  .object({
    id: Uuid,
    cameraId: CameraId,
    kind: GapKind,
    cause: GapCause,
    start: IsoTime,
    /** null while the gap is still open (recording has not resumed). */
    end: IsoTime.nullable(),
    /** The open gap closed within the threshold: not a gap after all; the receiver deletes it. */
    withdrawn: z.boolean().optional(),
    /** Last words of the recorder (ffmpeg error, watchdog), for the operator; never credentials. */
    detail: z.string().max(500).nullable(),
  })
  .refine((g) => g.end === null || Date.parse(g.end) > Date.parse(g.start), { message: 'gap end must be after its start', path: ['end'] });
export type GapRecord = z.infer<typeof GapRecord>;
