import type { Readable } from 'node:stream';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import type { FootageStore } from '../storage/footage-store.ts';
import { buildVodPlaylist } from '../playback/vod-playlist.ts';
import { venueOf } from '../../protocol/index.ts';
import { canSeeVenue } from './access.ts';
import { AppError } from './errors.ts';

export const segmentUrl = (id: string): string => `/api/footage/segments/${id}.ts`;

/** Playback of stored footage: playlists over a time range and the segment files themselves. */
export class PlaybackService {
  constructor(
    private readonly segments: SegmentRepository,
    private readonly venues: VenueRepository,
    private readonly store: FootageStore,
  ) {}

  async playlist(cameraId: string, from: Date, to: Date, user: { venueIds: string[] | null }, now = new Date()): Promise<string> {
    const camera = await this.venues.getCamera(cameraId);
    if (!camera || !canSeeVenue(user, camera.venueId)) throw new AppError('not_found', { en: `camera "${cameraId}" does not exist`, zh: `摄像机“${cameraId}”不存在` });
    const stored = await this.segments.overlapping(cameraId, from, to, { storedOnly: true });
    if (stored.length === 0) {
      throw new AppError('not_found', {
        en: `no footage of camera "${cameraId}" is stored at the centre between ${from.toISOString()} and ${to.toISOString()}: the venue box uploads only session windows, so check that a session covers this time and that the box is online`,
        zh: `中心没有摄像机“${cameraId}”在 ${from.toISOString()} 至 ${to.toISOString()} 之间的录像：现场主机只上传场次时段的录像，请确认该时段有场次且现场主机在线`,
      });
    }
    return buildVodPlaylist(stored, { live: to > now, segmentUrl: (s) => segmentUrl(s.id) });
  }

  /** The stored segment's size and a reader for it (whole or an inclusive byte range). */
  async segment(id: string, user: { venueIds: string[] | null }): Promise<{ bytes: number; cameraId: string; open: (range?: { start: number; end: number }) => Promise<Readable> }> {
    const row = await this.segments.get(id);
    // Scope by the camera id's venue prefix: a segment of a camera no inventory names yet is still that venue's.
    const hidden = row !== null && !canSeeVenue(user, venueOf(row.cameraId));
    if (!row || !row.storageKey || hidden) throw new AppError('not_found', { en: `segment ${id} is not stored at the centre`, zh: `录像片段 ${id} 未存于中心` });
    const key = row.storageKey;
    const stat = await this.store.stat(key);
    if (!stat) throw new AppError('not_found', { en: `segment ${id} is catalogued as stored but its file is missing from the footage store`, zh: `录像片段 ${id} 登记为已存储，但录像存储中找不到其文件：请联系系统管理员` });
    return { bytes: stat.bytes, cameraId: row.cameraId, open: (range) => this.store.get(key, range) };
  }
}
