import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { FootageStatus } from '../../protocol/index.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import type { VenueService } from './venues.ts';
import { coveredSeconds } from './coverage.ts';
import { AppError } from './errors.ts';

/**
 * Footage the centre does not hold (outside every session and hold) is fetched from the venue box
 * when a user asks to watch it: a fetch command over MQTT, then the box uploads the range like a
 * window. The status tells the player what to show: "fetching from venue" until the stored
 * seconds cover the recorded ones, or a clear message when the box is offline.
 */
export class FetchService {
  /** cameraId|from|to → when it was asked (a repeat within a minute does not re-send the command). */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly segments: SegmentRepository,
    private readonly venueRepo: VenueRepository,
    private readonly venues: VenueService,
    private readonly publish: (venueId: string, fetch: { requestId: string; cameraId: string; from: string; to: string }) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  private async camera(cameraId: string, user: { venueIds: string[] | null }) {
    const camera = await this.venueRepo.getCamera(cameraId);
    if (!camera || (user.venueIds && !user.venueIds.includes(camera.venueId))) throw new AppError('not_found', { en: `camera "${cameraId}" does not exist`, zh: `摄像机“${cameraId}”不存在` });
    return camera;
  }

  async status(cameraId: string, from: Date, to: Date, user: { venueIds: string[] | null }): Promise<FootageStatus> {
    const camera = await this.camera(cameraId, user);
    const segs = await this.segments.overlapping(cameraId, from, to);
    const window = { from, to };
    const recordedSeconds = coveredSeconds(segs.map((s) => s.span), window);
    const storedSeconds = coveredSeconds(segs.filter((s) => s.storedAt).map((s) => s.span), window);
    const online = (await this.venues.summaries()).find((v) => v.id === camera.venueId)?.online ?? false;
    if (recordedSeconds === 0) {
      return { status: 'not_recorded', recordedSeconds, storedSeconds, message: online ? 'The venue box has no recording of this camera in this range.' : 'The venue box is offline and the centre has no record of footage in this range; try again when the box is back online.' };
    }
    if (storedSeconds >= recordedSeconds - 0.001) return { status: 'stored', recordedSeconds, storedSeconds, message: 'All recorded footage of this range is at the centre.' };
    if (!online) {
      return { status: 'venue_offline', recordedSeconds, storedSeconds, message: `The venue box of "${camera.venueId}" is offline: ${Math.round(recordedSeconds - storedSeconds)} s of this range are only at the venue and cannot be fetched now. Try again when the box is back online.` };
    }
    const asked = Date.now() - (this.asked.get(this.key(cameraId, from, to)) ?? 0) < 10 * 60_000;
    if (!asked) return { status: 'at_venue', recordedSeconds, storedSeconds, message: `${Math.round(recordedSeconds - storedSeconds)} s of this range are only at the venue box: fetch them to watch.` };
    return { status: 'fetching', recordedSeconds, storedSeconds, message: `Fetching from the venue: ${Math.round(storedSeconds)} of ${Math.round(recordedSeconds)} s at the centre so far.` };
  }

  private key(cameraId: string, from: Date, to: Date): string {
    return `${cameraId}|${from.toISOString()}|${to.toISOString()}`;
  }

  /** Asks the box for the range unless the centre holds it; answers the status to show. */
  async request(cameraId: string, from: Date, to: Date, user: { venueIds: string[] | null }): Promise<FootageStatus> {
    const camera = await this.camera(cameraId, user);
    const status = await this.status(cameraId, from, to, user);
    if (status.status !== 'fetching' && status.status !== 'at_venue') return status;
    const key = this.key(cameraId, from, to);
    const last = this.asked.get(key) ?? 0;
    if (Date.now() - last > 60_000) {
      const requestId = randomUUID();
      await this.publish(camera.venueId, { requestId, cameraId, from: from.toISOString(), to: to.toISOString() });
      this.asked.set(key, Date.now());
      this.logger.info({ venueId: camera.venueId, cameraId, from: from.toISOString(), to: to.toISOString(), requestId }, 'asked the venue box for footage');
    }
    return { ...status, status: 'fetching', message: `Fetching from the venue: ${Math.round(status.storedSeconds)} of ${Math.round(status.recordedSeconds)} s at the centre so far.` };
  }
}
