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
  /** The venue reports this gap still open: the camera (or its audio) is down now. */
  ongoing?: boolean;
}

/** Recording gaps reported by the venues, and their use in the completeness report. */
export class GapService {
  constructor(
    private readonly gaps: GapRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * Applies the box's gap messages in order: an open gap (no end) becomes a row at once, the same id
   * with an end closes that row, `withdrawn` deletes an open row that turned out to be no gap.
   */
  async applyBatch(batch: GapBatch): Promise<{ changed: number }> {
    const foreign = batch.gaps.find((g) => venueOf(g.cameraId) !== batch.venueId);
    if (foreign) throw AppError.forMachines('forbidden', `gap ${foreign.id} names camera "${foreign.cameraId}", which is not a camera of venue "${batch.venueId}"`);
    let changed = 0;
    for (const g of batch.gaps) {
      const log = { venueId: batch.venueId, cameraId: g.cameraId, gapId: g.id, kind: g.kind, cause: g.cause, start: g.start, end: g.end };
      if (g.withdrawn) {
        if (await this.gaps.withdraw(g.id, batch.venueId)) changed++;
        this.logger.info(log, 'open recording gap withdrawn by the venue');
        continue;
      }
      const ok = await this.gaps.upsert({
        id: g.id,
        venueId: batch.venueId,
        cameraId: g.cameraId,
        kind: g.kind,
        cause: g.cause,
        span: { from: new Date(g.start), to: g.end === null ? null : new Date(g.end) },
        detail: g.detail,
      });
      if (ok) changed++;
      this.logger.info(log, g.end === null ? 'recording gap open (reported by the venue)' : 'recording gap reported');
    }
    return { changed };
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
    const end = (s: { to: Date | null }) => (s.to ?? window.to).getTime();
    const overlap = (a: TimeSpan, b: { from: Date; to: Date | null }) => Math.max(0, Math.min(a.to.getTime(), end(b)) - Math.max(a.from.getTime(), b.from.getTime()));
    const video = found.map((g) => {
      let best: { cause: string; ms: number; open: boolean } | null = null;
      for (const r of reported) {
        if (r.kind !== 'video') continue;
        const ms = overlap(g, r.span);
        if (ms > 0 && (!best || ms > best.ms)) best = { cause: r.cause, ms, open: r.span.to === null };
      }
      // Ongoing: the venue says the gap is open and the footage indeed stops at the window's end.
      const ongoing = best?.open === true && g.to.getTime() === window.to.getTime();
      return { from: g.from.toISOString(), to: g.to.toISOString(), kind: 'video' as const, cause: (best?.cause ?? null) as GapCause | null, ...(ongoing ? { ongoing } : {}) };
    });
    const clip = (d: Date, lo: Date, hi: Date) => new Date(Math.min(hi.getTime(), Math.max(lo.getTime(), d.getTime())));
    const audio = reported
      .filter((r) => r.kind === 'audio')
      .map((r) => ({
        from: clip(r.span.from, window.from, window.to).toISOString(),
        to: clip(r.span.to ?? window.to, window.from, window.to).toISOString(),
        kind: 'audio' as const,
        cause: r.cause as GapCause,
        ...(r.span.to === null ? { ongoing: true } : {}),
      }))
      .filter((g) => g.to > g.from);
    return [...video, ...audio].sort((a, b) => a.from.localeCompare(b.from));
  }
}
