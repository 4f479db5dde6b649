import type { GapCause } from '../../protocol/index.ts';

/**
 * Why a recorder run stopped producing footage, in the words a gap row uses. ffmpeg's last lines
 * are the only evidence the box has; the patterns below are the ones ffmpeg 5 prints for RTSP.
 */
export interface RecorderFailure {
  cause: GapCause;
  /** The raw reason (ffmpeg error or watchdog), credentials already redacted by ffmpeg.ts. */
  detail: string;
  at: Date;
}

export function classifyFailure(error: string, opts: { stalled: boolean; at?: Date }): RecorderFailure {
  const at = opts.at ?? new Date();
  const detail = error.slice(0, 500);
  if (/no space left on device|ENOSPC|disk full/i.test(error)) return { cause: 'disk_full', detail, at };
  // Match ffmpeg's phrases, not bare numbers: "401" also occurs in the hex addresses it prints.
  if (/\b401 unauthori[sz]ed|unauthori[sz]ed|authentication failed/i.test(error)) return { cause: 'auth_failed', detail, at };
  // The camera went away: stream stalled, connection refused/reset/closed, path gone (404), timeouts.
  if (
    opts.stalled ||
    // ffmpeg ending on its own (exit 0) means the stream ended: the camera hung up.
    /^ffmpeg ended$/.test(error) ||
    /connection refused|connection reset|broken pipe|end of file|\b404 not found|not found|timed? ?out|no route to host|network is unreachable|invalid data found|server returned/i.test(
      error,
    )
  ) {
    return { cause: 'camera_offline', detail, at };
  }
  return { cause: 'recorder_crashed', detail, at };
}
