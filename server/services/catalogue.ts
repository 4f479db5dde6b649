import type { Logger } from 'pino';
import type { SegmentBatch } from '../../protocol/index.ts';
import { venueOf } from '../../protocol/index.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { AppError } from './errors.ts';

/** The footage catalogue as the venues report it over MQTT. */
export class CatalogueService {
  constructor(
    private readonly segments: SegmentRepository,
    private readonly venues: VenueRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * Catalogues a batch idempotently by segment id. A batch naming a camera of another venue is
   * refused whole: one venue box never speaks for another's cameras. Cameras not yet in the
   * inventory are accepted (inventory and segments travel on different topics).
   */
  async applyBatch(batch: SegmentBatch): Promise<{ inserted: number }> {
    const foreign = batch.segments.find((s) => venueOf(s.cameraId) !== batch.venueId);
    if (foreign) throw AppError.forMachines('forbidden', `segment ${foreign.id} names camera "${foreign.cameraId}", which is not a camera of venue "${batch.venueId}"`);
    const inserted = await this.segments.insertMany(
      batch.segments.map((s) => ({
        id: s.id,
        cameraId: s.cameraId,
        runId: s.runId,
        span: { from: new Date(s.start), to: new Date(s.end) },
        bytes: s.bytes,
        sha256: s.sha256,
        hasAudio: s.hasAudio,
      })),
    );
    const lastEnd = new Map<string, Date>();
    for (const s of batch.segments) {
      const end = new Date(s.end);
      if (!lastEnd.has(s.cameraId) || lastEnd.get(s.cameraId)! < end) lastEnd.set(s.cameraId, end);
    }
    for (const [cameraId, end] of lastEnd) await this.venues.advanceLastSegmentEnd(cameraId, end);
    this.logger.debug({ venueId: batch.venueId, received: batch.segments.length, inserted: inserted.length }, 'catalogued segments');
    return { inserted: inserted.length };
  }
}
