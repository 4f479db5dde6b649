import { and, asc, desc, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client.ts';
import {
  sensorRooms,
  cameraIntactDaily,
  deviceAlerts,
  deviceHealth,
  deviceHealthHistory,
  type DeviceAlertRow,
  type DeviceHealthHistoryRow,
  type DeviceHealthRow,
} from '../db/health-schema.ts';

export type NewDeviceHealth = Omit<DeviceHealthRow, 'updatedAt'> & { updatedAt?: Date };

export interface HistorySample {
  deviceId: string;
  venueId: string;
  bucket: Date;
  online: boolean;
  fps: number | null;
  bitrateKbps: number | null;
  clockOffsetMs: number | null;
  segmentAgeS: number | null;
}

/** SQL only: current device state, bucketed history, alerts, daily intact rate. */
export class DeviceHealthRepository {
  constructor(private readonly db: Database) {}

  async upsertCurrent(rows: NewDeviceHealth[]): Promise<void> {
    if (rows.length === 0) return;
    const now = new Date();
    await this.db
      .insert(deviceHealth)
      .values(rows.map((r) => ({ ...r, updatedAt: r.updatedAt ?? now })))
      .onConflictDoUpdate({
        target: deviceHealth.deviceId,
        set: {
          venueId: sql`excluded.venue_id`,
          kind: sql`excluded.kind`,
          roomId: sql`excluded.room_id`,
          name: sql`excluded.name`,
          online: sql`excluded.online`,
          state: sql`excluded.state`,
          data: sql`excluded.data`,
          updatedAt: sql`excluded.updated_at`,
        },
      });
  }

  /** Marks every device of a venue offline (its box is gone: nothing it reported can be trusted now). */
  async setVenueOffline(venueId: string, at: Date): Promise<DeviceHealthRow[]> {
    return this.db
      .update(deviceHealth)
      .set({ online: false, state: 'offline', updatedAt: at })
      .where(and(eq(deviceHealth.venueId, venueId), eq(deviceHealth.online, true)))
      .returning();
  }

  current(venueIds: string[] | null): Promise<DeviceHealthRow[]> {
    const q = this.db.select().from(deviceHealth);
    return (venueIds ? q.where(inArray(deviceHealth.venueId, venueIds)) : q).orderBy(asc(deviceHealth.deviceId));
  }

  async get(deviceId: string): Promise<DeviceHealthRow | null> {
    const [row] = await this.db.select().from(deviceHealth).where(eq(deviceHealth.deviceId, deviceId));
    return row ?? null;
  }

  async addSamples(samples: HistorySample[]): Promise<void> {
    for (const s of samples) {
      const fps = s.fps ?? 0;
      const br = s.bitrateKbps ?? 0;
      await this.db
        .insert(deviceHealthHistory)
        .values({
          deviceId: s.deviceId,
          venueId: s.venueId,
          bucket: s.bucket,
          samples: 1,
          onlineSamples: s.online ? 1 : 0,
          fpsSum: fps,
          fpsN: s.fps === null ? 0 : 1,
          bitrateSum: br,
          bitrateN: s.bitrateKbps === null ? 0 : 1,
          clockOffsetMs: s.clockOffsetMs,
          maxSegmentAgeS: s.segmentAgeS,
        })
        .onConflictDoUpdate({
          target: [deviceHealthHistory.deviceId, deviceHealthHistory.bucket],
          set: {
            samples: sql`${deviceHealthHistory.samples} + 1`,
            onlineSamples: sql`${deviceHealthHistory.onlineSamples} + ${s.online ? 1 : 0}`,
            fpsSum: sql`${deviceHealthHistory.fpsSum} + ${fps}`,
            fpsN: sql`${deviceHealthHistory.fpsN} + ${s.fps === null ? 0 : 1}`,
            bitrateSum: sql`${deviceHealthHistory.bitrateSum} + ${br}`,
            bitrateN: sql`${deviceHealthHistory.bitrateN} + ${s.bitrateKbps === null ? 0 : 1}`,
            clockOffsetMs: sql`coalesce(excluded.clock_offset_ms, ${deviceHealthHistory.clockOffsetMs})`,
            maxSegmentAgeS: sql`greatest(excluded.max_segment_age_s, ${deviceHealthHistory.maxSegmentAgeS})`,
          },
        });
    }
  }

  history(deviceId: string, from: Date): Promise<DeviceHealthHistoryRow[]> {
    return this.db
      .select()
      .from(deviceHealthHistory)
      .where(and(eq(deviceHealthHistory.deviceId, deviceId), gte(deviceHealthHistory.bucket, from)))
      .orderBy(asc(deviceHealthHistory.bucket));
  }

  async pruneHistory(before: Date): Promise<void> {
    await this.db.delete(deviceHealthHistory).where(sql`${deviceHealthHistory.bucket} < ${before.toISOString()}`);
  }

  /** Raises an alert unless one of that kind is already open for the device; returns it when new. */
  async raise(a: Omit<DeviceAlertRow, 'clearedAt' | 'acknowledgedAt' | 'acknowledgedBy'>): Promise<DeviceAlertRow | null> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`INSERT INTO device_alerts (id, venue_id, device_id, room_id, kind, message, message_zh, raised_at)
          VALUES (${a.id}, ${a.venueId}, ${a.deviceId}, ${a.roomId}, ${a.kind}, ${a.message}, ${a.messageZh}, ${a.raisedAt.toISOString()})
          ON CONFLICT (device_id, kind) WHERE cleared_at IS NULL DO NOTHING RETURNING id`,
    );
    if (rows.length === 0) return null;
    const [row] = await this.db.select().from(deviceAlerts).where(eq(deviceAlerts.id, a.id));
    return row ?? null;
  }

  /** Clears the open alerts of a device (of the given kinds); returns the cleared ones. */
  clear(deviceId: string, kinds: string[], at: Date): Promise<DeviceAlertRow[]> {
    return this.db
      .update(deviceAlerts)
      .set({ clearedAt: at })
      .where(and(eq(deviceAlerts.deviceId, deviceId), inArray(deviceAlerts.kind, kinds), isNull(deviceAlerts.clearedAt)))
      .returning();
  }

  alerts(venueIds: string[] | null, openOnly: boolean, limit = 500): Promise<DeviceAlertRow[]> {
    const conds = [venueIds ? inArray(deviceAlerts.venueId, venueIds) : undefined, openOnly ? isNull(deviceAlerts.clearedAt) : undefined].filter(
      (c): c is NonNullable<typeof c> => c !== undefined,
    );
    const q = this.db.select().from(deviceAlerts);
    return (conds.length ? q.where(and(...conds)) : q).orderBy(desc(deviceAlerts.raisedAt)).limit(limit);
  }

  async alert(id: string): Promise<DeviceAlertRow | null> {
    const [row] = await this.db.select().from(deviceAlerts).where(eq(deviceAlerts.id, id));
    return row ?? null;
  }

  async acknowledge(id: string, by: string, at: Date): Promise<DeviceAlertRow | null> {
    const [row] = await this.db
      .update(deviceAlerts)
      .set({ acknowledgedAt: at, acknowledgedBy: by })
      .where(and(eq(deviceAlerts.id, id), isNull(deviceAlerts.acknowledgedAt)))
      .returning();
    return row ?? (await this.alert(id));
  }

  async addIntactSample(venueId: string, day: string, cameras: number, intact: number): Promise<void> {
    await this.db
      .insert(cameraIntactDaily)
      .values({ venueId, day, cameraSamples: cameras, intactSamples: intact })
      .onConflictDoUpdate({
        target: [cameraIntactDaily.venueId, cameraIntactDaily.day],
        set: {
          cameraSamples: sql`${cameraIntactDaily.cameraSamples} + ${cameras}`,
          intactSamples: sql`${cameraIntactDaily.intactSamples} + ${intact}`,
        },
      });
  }

  intactDaily(venueIds: string[] | null, fromDay: string): Promise<Array<typeof cameraIntactDaily.$inferSelect>> {
    const conds = [gte(cameraIntactDaily.day, fromDay), venueIds ? inArray(cameraIntactDaily.venueId, venueIds) : undefined].filter(
      (c): c is NonNullable<typeof c> => c !== undefined,
    );
    return this.db.select().from(cameraIntactDaily).where(and(...conds)).orderBy(asc(cameraIntactDaily.day));
  }

  async sensorRooms(venueId: string): Promise<Map<string, string>> {
    const rows = await this.db.select().from(sensorRooms).where(eq(sensorRooms.venueId, venueId));
    return new Map(rows.map((r) => [r.sensorId, r.roomId]));
  }

  async assignSensor(sensorId: string, venueId: string, roomId: string | null, by: string): Promise<void> {
    if (roomId === null) {
      await this.db.delete(sensorRooms).where(eq(sensorRooms.sensorId, sensorId));
      await this.db.update(deviceHealth).set({ roomId: null }).where(eq(deviceHealth.deviceId, sensorId));
      return;
    }
    const now = new Date();
    await this.db
      .insert(sensorRooms)
      .values({ sensorId, venueId, roomId, assignedBy: by, assignedAt: now })
      .onConflictDoUpdate({ target: sensorRooms.sensorId, set: { roomId, assignedBy: by, assignedAt: now } });
    await this.db.update(deviceHealth).set({ roomId }).where(eq(deviceHealth.deviceId, sensorId));
  }
}
