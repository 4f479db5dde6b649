import { desc, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { AgentAlarm } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import { venueAlarms, type VenueAlarmRow } from '../db/schema.ts';

/** Alarms raised and cleared by venue boxes; the newest state of each alarm id is kept. */
export class AlarmService {
  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  async apply(m: AgentAlarm): Promise<void> {
    const fields = {
      venueId: m.venueId,
      kind: m.kind,
      active: m.active,
      raisedAt: new Date(m.raisedAt),
      detail: m.detail,
      pausedCameras: m.pausedCameras,
      freeBytes: m.freeBytes,
      updatedAt: new Date(),
    };
    await this.db.insert(venueAlarms).values({ id: m.alarmId, ...fields }).onConflictDoUpdate({ target: venueAlarms.id, set: fields });
    const log = { venueId: m.venueId, alarmId: m.alarmId, kind: m.kind, pausedCameras: m.pausedCameras, freeBytes: m.freeBytes, detail: m.detail };
    if (m.active) this.logger.error(log, 'venue alarm raised');
    else this.logger.info(log, 'venue alarm cleared');
  }

  forVenue(venueId: string): Promise<VenueAlarmRow[]> {
    return this.db.select().from(venueAlarms).where(eq(venueAlarms.venueId, venueId)).orderBy(desc(venueAlarms.raisedAt));
  }
}
