import type { SegmentRow } from '../db/schema.ts';

/** A gap longer than this between two segments is a hole the player must be told about. */
const DISCONTINUITY_TOLERANCE_MS = 500;

export interface PlaylistOptions {
  /** true when the range reaches into the future: the player keeps reloading an EVENT playlist. */
  live: boolean;
  segmentUrl: (segment: SegmentRow) => string;
}

/**
 * HLS (version 3) playlist of stored segments in time order. Each segment carries its wall-clock
 * start (PROGRAM-DATE-TIME) so the player's timeline matches the session's; holes and recorder
 * restarts are marked as discontinuities because timestamps restart there.
 */
export function buildVodPlaylist(segments: SegmentRow[], opts: PlaylistOptions): string {
  const sorted = [...segments].sort((a, b) => a.span.from.getTime() - b.span.from.getTime());
  const duration = (s: SegmentRow) => (s.span.to.getTime() - s.span.from.getTime()) / 1000;
  const target = Math.max(1, Math.ceil(Math.max(...sorted.map(duration), 0)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-MEDIA-SEQUENCE:0', `#EXT-X-PLAYLIST-TYPE:${opts.live ? 'EVENT' : 'VOD'}`];
  let prev: SegmentRow | null = null;
  for (const s of sorted) {
    if (prev && (s.span.from.getTime() - prev.span.to.getTime() > DISCONTINUITY_TOLERANCE_MS || s.runId !== prev.runId)) {
      lines.push('#EXT-X-DISCONTINUITY');
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${s.span.from.toISOString()}`, `#EXTINF:${duration(s).toFixed(3)},`, opts.segmentUrl(s));
    prev = s;
  }
  if (!opts.live) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
