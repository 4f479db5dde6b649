import { sql } from 'drizzle-orm';
import type { QuarterlyReport, User } from '../../protocol/index.ts';
import { LEDGER_STATUS_NAMES, LedgerStatus, nameIn, SUBJECT_TYPE_NAMES, SubjectType } from '../../protocol/index.ts';
import { queryRows, type Database } from '../db/client.ts';
import { canSeeVenue } from './access.ts';
import { localDay, quarterBounds } from './calendar.ts';
import { AppError } from './errors.ts';

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}


/**
 * The quarterly figures a county reports to the city (notice §12–13), per venue or for every venue
 * in the user's scope. The camera intact rate is the quarter's: the device-health samples of its
 * days (camera_intact_daily, a sample every deviceHealth.intactSampleSeconds: a camera counts when
 * online, recording and in state ok), all venues' samples added up. A quarter without samples (one
 * before the centre ran) falls back to the cameras as they are now (`basis` says which).
 */
export class LedgerReportService {
  constructor(
    private readonly db: Database,
    private readonly timeZone: string,
  ) {}

  private async scopeVenues(user: User, venueId?: string): Promise<string[]> {
    if (venueId) {
      if (!canSeeVenue(user, venueId)) throw new AppError('not_found', { en: `venue "${venueId}" does not exist`, zh: `场地“${venueId}”不存在` });
      return [venueId];
    }
    const all = await queryRows<{ id: string }>(this.db, sql`SELECT id FROM venues ORDER BY id`);
    return all.map((v) => v.id).filter((id) => canSeeVenue(user, id));
  }

  async quarterly(user: User, q: { year: number; quarter: number; venueId?: string }): Promise<QuarterlyReport> {
    const venueIds = await this.scopeVenues(user, q.venueId);
    const { from, to } = quarterBounds(q.year, q.quarter, this.timeZone);
    const inVenues = venueIds.length ? sql`IN (${sql.join(venueIds.map((v) => sql`${v}`), sql`, `)})` : sql`IN (NULL)`;
    const period = sql`e.found_at >= ${from.toISOString()}::timestamptz AND e.found_at < ${to.toISOString()}::timestamptz AND e.venue_id ${inVenues}`;

    const group = async (column: 'category' | 'subject_type' | 'status') =>
      queryRows<{ key: string; n: string | number }>(this.db, sql`SELECT ${sql.raw(`e.${column}`)} AS key, count(*) AS n FROM ledger_entries e WHERE ${period} GROUP BY 1 ORDER BY 1`);
    const [cats, subjects, statuses, labels] = await Promise.all([
      group('category'),
      group('subject_type'),
      group('status'),
      queryRows<{ code: string; zh: string }>(this.db, sql`SELECT code, zh FROM ledger_categories`),
    ]);
    const catZh = new Map(labels.map((l) => [l.code, l.zh]));
    const counts = (rows: Array<{ key: string; n: string | number }>, keys: readonly string[] | null, label: (k: string) => string) => {
      const m = new Map(rows.map((r) => [r.key, Number(r.n)]));
      return (keys ?? rows.map((r) => r.key)).map((key) => ({ key, label: label(key), count: m.get(key) ?? 0 }));
    };

    const handled = await queryRows<{ hours: string | number }>(
      this.db,
      sql`SELECT extract(epoch FROM (s.at - e.found_at)) / 3600.0 AS hours
          FROM ledger_entries e JOIN ledger_steps s ON s.entry_id = e.id AND s.action = 'handle'
          WHERE ${period}`,
    );
    const hours = handled.map((h) => Number(h.hours));

    const cameraRows = await queryRows<{ id: string; last_error: string | null; open_tickets: string | number }>(
      this.db,
      sql`SELECT c.id, c.last_error,
            (SELECT count(*) FROM maintenance_tickets t WHERE t.device_id = c.id AND t.status <> 'closed') AS open_tickets
          FROM cameras c WHERE c.venue_id ${inVenues}`,
    );
    const intact = cameraRows.filter((c) => c.last_error === null && Number(c.open_tickets) === 0).length;
    const sampled = await queryRows<{ cameras: string | number | null; intact: string | number | null; days: string | number }>(
      this.db,
      sql`SELECT sum(camera_samples) AS cameras, sum(intact_samples) AS intact, count(DISTINCT day) AS days
          FROM camera_intact_daily
          WHERE day >= ${localDay(from, this.timeZone)}::date AND day < ${localDay(to, this.timeZone)}::date AND venue_id ${inVenues}`,
    );
    const sampledCameras = Number(sampled[0]?.cameras ?? 0);
    const checks = await queryRows<{ ok: string | number; total: string | number }>(
      this.db,
      sql`SELECT count(*) FILTER (WHERE (r->>'ok')::boolean) AS ok, count(*) AS total
          FROM equipment_checks k, jsonb_array_elements(k.results) r
          WHERE r->>'deviceId' IS NOT NULL AND k.at >= ${from.toISOString()}::timestamptz AND k.at < ${to.toISOString()}::timestamptz AND k.venue_id ${inVenues}`,
    );
    const checkTotal = Number(checks[0]?.total ?? 0);

    const round = (x: number | null, d = 2) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
    return {
      year: q.year,
      quarter: q.quarter,
      from: from.toISOString(),
      to: to.toISOString(),
      timeZone: this.timeZone,
      venueIds,
      total: statuses.reduce((n, r) => n + Number(r.n), 0),
      byCategory: counts(cats, null, (k) => catZh.get(k) ?? k),
      bySubjectType: counts(subjects, SubjectType.options, (k) => nameIn(SUBJECT_TYPE_NAMES, k, 'zh')),
      byStatus: counts(statuses, LedgerStatus.options, (k) => nameIn(LEDGER_STATUS_NAMES, k, 'zh')),
      medianHoursFoundToHandled: round(median(hours)),
      handledCount: hours.length,
      cameras: {
        total: cameraRows.length,
        intact,
        intactRate: sampledCameras > 0 ? round(Number(sampled[0]!.intact ?? 0) / sampledCameras, 4) : cameraRows.length ? round(intact / cameraRows.length, 4) : null,
        basis: sampledCameras > 0 ? 'health_samples' : 'current_state',
        sampledDays: Number(sampled[0]?.days ?? 0),
        checkPassRate: checkTotal ? round(Number(checks[0]!.ok) / checkTotal, 4) : null,
      },
    };
  }
}
