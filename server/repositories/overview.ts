import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client.ts';

export interface VenueCounts {
  venueId: string;
  cameras: number;
  camerasWorking: number;
  openAlerts: number;
  alarms: string[];
  sessionsToday: number;
  sessionsInProgress: number;
  ledgerOpen: number;
  ledgerFoundToday: number;
  exportsPending: number;
}

type Row = Record<string, string | number | null> & { venue_id: string };

/**
 * The city overview's counts, each one grouped query over its table for every venue: a city has
 * tens of counties, so the service keeps the user's venues afterwards instead of building a
 * venue filter into six queries.
 */
export class OverviewRepository {
  constructor(private readonly db: Database) {}

  async counts(day: { from: Date; to: Date }, now: Date): Promise<Map<string, VenueCounts>> {
    const from = day.from.toISOString();
    const to = day.to.toISOString();
    const at = now.toISOString();
    const [cameras, alerts, alarms, sessions, ledger, exports] = await Promise.all([
      // Every camera the venue's inventory names (a box that never reported health still has them);
      // working = what the intact rate counts: online, recording, state ok.
      queryRows<Row>(this.db, sql`SELECT c.venue_id, count(*) AS n,
          count(*) FILTER (WHERE dh.online AND dh.state = 'ok' AND coalesce((dh.data->'camera'->>'recording')::boolean, false)) AS working
        FROM cameras c LEFT JOIN device_health dh ON dh.device_id = c.id GROUP BY c.venue_id`),
      queryRows<Row>(this.db, sql`SELECT venue_id, count(*) AS n FROM device_alerts WHERE cleared_at IS NULL GROUP BY venue_id`),
      queryRows<Row>(this.db, sql`SELECT venue_id, kind FROM venue_alarms WHERE active ORDER BY raised_at`),
      queryRows<Row>(this.db, sql`SELECT r.venue_id, count(*) AS n,
          count(*) FILTER (WHERE s.planned_start <= ${at}::timestamptz AND s.planned_end > ${at}::timestamptz) AS running
        FROM bid_sessions s JOIN rooms r ON r.id = s.room_id
        WHERE s.planned_start < ${to}::timestamptz AND s.planned_end > ${from}::timestamptz GROUP BY r.venue_id`),
      queryRows<Row>(this.db, sql`SELECT venue_id,
          count(*) FILTER (WHERE status NOT IN ('published', 'closed_unfounded')) AS open,
          count(*) FILTER (WHERE found_at >= ${from}::timestamptz AND found_at < ${to}::timestamptz) AS today
        FROM ledger_entries GROUP BY venue_id`),
      queryRows<Row>(this.db, sql`SELECT venue_id, count(*) AS n FROM export_requests WHERE status = 'pending' GROUP BY venue_id`),
    ]);
    const out = new Map<string, VenueCounts>();
    const of = (venueId: string): VenueCounts => {
      let c = out.get(venueId);
      if (!c) {
        c = { venueId, cameras: 0, camerasWorking: 0, openAlerts: 0, alarms: [], sessionsToday: 0, sessionsInProgress: 0, ledgerOpen: 0, ledgerFoundToday: 0, exportsPending: 0 };
        out.set(venueId, c);
      }
      return c;
    };
    for (const r of cameras) Object.assign(of(r.venue_id), { cameras: Number(r.n), camerasWorking: Number(r.working) });
    for (const r of alerts) of(r.venue_id).openAlerts = Number(r.n);
    for (const r of alarms) of(r.venue_id).alarms.push(String(r.kind));
    for (const r of sessions) Object.assign(of(r.venue_id), { sessionsToday: Number(r.n), sessionsInProgress: Number(r.running) });
    for (const r of ledger) Object.assign(of(r.venue_id), { ledgerOpen: Number(r.open), ledgerFoundToday: Number(r.today) });
    for (const r of exports) of(r.venue_id).exportsPending = Number(r.n);
    return out;
  }
}
