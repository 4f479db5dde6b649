import type { Logger } from 'pino';
import { venueOf, type GapBatch, type GapCause, type GapKind } from '../../protocol/index.ts';
import type { TimeSpan } from '../db/schema.ts';
import type { GapRepository } from '../repositories/gaps.ts';
import { AppError } from './errors.ts';

export interface CausedGap {
  from: string;
  to: string;
  kind: GapKind;
  cause: GapCause | null;
}

/** Recording gaps reported by the venues, and their use in the completeness report. */
export class GapService {
  constructor(
    private readonly gaps: GapRepository,
    private readonly logger: Logger,
  ) {}

  async applyBatch(batch: GapBatch): Promise<{ inserted: number }> {
    const foreign = batch.gaps.find((g) => venueOf(g.cameraId) !== batch.venueId);
    if (foreign) throw new AppError('forbidden', `gap ${foreign.id} names camera "${foreign.cameraId}", which is not a camera of venue "${batch.venueId}"`);
    const inserted = await this.gaps.insertMany(
      batch.gaps.map((g) => ({
        id: g.id,
        venueId: batch.venueId,
        cameraId: g.cameraId,
        kind: g.kind,
        cause: g.cause,
        span: { from: new Date(g.start), to: new Date(g.end) },
        detail: g.detail,
      })),
    );
    for (const g of batch.gaps) {
      this.logger.info({ venueId: batch.venueId, cameraId: g.cameraId, kind: g.kind, cause: g.cause, start: g.start, end: g.end }, 'recording gap reported');
    }
    return { inserted: inserted.length };
  }

  /** Reported gaps of one camera overlapping [from, to). */
  reported(cameraId: string, from: Date, to: Date) {
    return this.gaps.overlapping(cameraId, from, to);
  }

  /**
   * Gives each gap found in the footage the cause the venue reported for the same stretch (the
   * reported gap overlapping it most), and adds the reported audio gaps inside the window. A gap
   * the venue has not reported yet (still open, or its message still in the outbox) has cause null:
   * it is shown, never hidden.
   */
  async withCauses(cameraId: string, window: TimeSpan, found: TimeSpan[]): Promise<CausedGap[]> {
    if (window.to <= window.from) return [];
    const reported = await this.gaps.overlapping(cameraId, window.from, window.to);
    const overlap = (a: TimeSpan, b: TimeSpan) => Math.max(0, Math.min(a.to.getTime(), b.to.getTime()) - Math.max(a.from.getTime(), b.from.getTime()));
    const video = found.map((g) => {
      let best: { cause: string; ms: number } | null = null;
      for (const r of reported) {
        if (r.kind !== 'video') continue;
        const ms = overlap(g, r.span);
        if (ms > 0 && (!best || ms > best.ms)) best = { cause: r.cause, ms };
      }
      return { from: g.from.toISOString(), to: g.to.toISOString(), kind: 'video' as const, cause: (best?.cause ?? null) as GapCause | null };
    });
    const clip = (d: Date, lo: Date, hi: Date) => new Date(Math.min(hi.getTime(), Math.max(lo.getTime(), d.getTime())));
    const audio = reported
      .filter((r) => r.kind === 'audio')
      .map((r) => ({ from: clip(r.span.from, window.from, window.to).toISOString(), to: clip(r.span.to, window.from, window.to).toISOString(), kind: 'audio' as const, cause: r.cause as GapCause }))
      .filter((g) => g.to > g.from);
    return [...video, ...audio].sort((a, b) => a.from.localeCompare(b.from));
  }
}
