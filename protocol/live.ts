import { z } from 'zod';
import { IsoTime, Uuid } from './ids.ts';

/**
 * Live view: the box PUTs each new segment of a watched camera to
 * `PUT /api/live/<cameraId>/segments` with this JSON in LIVE_SEGMENT_HEADER and the MPEG-TS bytes
 * as the body. The centre keeps a few of them in memory (never the footage store).
 */
export const LIVE_SEGMENT_HEADER = 'x-vw-live-segment';

export const LiveSegmentMeta = z.object({
  /** The recorder run: a new run is a discontinuity in the live playlist. */
  runId: Uuid,
  /** The segment's wall-clock start (the recorder's corrected EXT-X-PROGRAM-DATE-TIME). */
  start: IsoTime,
  durationSeconds: z.number().positive().max(60),
});
export type LiveSegmentMeta = z.infer<typeof LiveSegmentMeta>;

/** The largest live segment the centre accepts (2 s of 1080p at 8 Mb/s is ~2 MB). */
export const MAX_LIVE_SEGMENT_BYTES = 32 * 1024 * 1024;
