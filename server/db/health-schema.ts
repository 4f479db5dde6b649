import { boolean, date, doublePrecision, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Drizzle mirror of migrations/0003_device_health.sql (device health, issue 3). */

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const deviceHealth = pgTable('device_health', {
  deviceId: text('device_id').primaryKey(),
  venueId: text('venue_id').notNull(),
  kind: text('kind').notNull(),
  roomId: text('room_id'),
  name: text('name').notNull(),
  online: boolean('online').notNull(),
  state: text('state').notNull(),
  data: jsonb('data').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const deviceHealthHistory = pgTable(
  'device_health_history',
  {
    deviceId: text('device_id').notNull(),
    venueId: text('venue_id').notNull(),
    bucket: ts('bucket').notNull(),
    samples: integer('samples').notNull(),
    onlineSamples: integer('online_samples').notNull(),
    fpsSum: doublePrecision('fps_sum').notNull().default(0),
    fpsN: integer('fps_n').notNull().default(0),
    bitrateSum: doublePrecision('bitrate_sum').notNull().default(0),
    bitrateN: integer('bitrate_n').notNull().default(0),
    clockOffsetMs: doublePrecision('clock_offset_ms'),
    maxSegmentAgeS: doublePrecision('max_segment_age_s'),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.bucket] })],
);

export const deviceAlerts = pgTable('device_alerts', {
  id: uuid('id').primaryKey(),
  venueId: text('venue_id').notNull(),
  deviceId: text('device_id').notNull(),
  roomId: text('room_id'),
  kind: text('kind').notNull(),
  message: text('message').notNull(),
  /** The same in Chinese; null on alerts raised before migration 0050. */
  messageZh: text('message_zh'),
  raisedAt: ts('raised_at').notNull(),
  clearedAt: ts('cleared_at'),
  acknowledgedAt: ts('acknowledged_at'),
  acknowledgedBy: text('acknowledged_by'),
});

export const cameraIntactDaily = pgTable(
  'camera_intact_daily',
  {
    venueId: text('venue_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    cameraSamples: integer('camera_samples').notNull(),
    intactSamples: integer('intact_samples').notNull(),
  },
  (t) => [primaryKey({ columns: [t.venueId, t.day] })],
);

export type DeviceHealthRow = typeof deviceHealth.$inferSelect;
export type DeviceHealthHistoryRow = typeof deviceHealthHistory.$inferSelect;
export type DeviceAlertRow = typeof deviceAlerts.$inferSelect;

export const roomEvents = pgTable('room_events', {
  id: uuid('id').primaryKey(),
  venueId: text('venue_id').notNull(),
  deviceId: text('device_id').notNull(),
  roomId: text('room_id'),
  kind: text('kind').notNull(),
  state: boolean('state'),
  value: text('value'),
  at: ts('at').notNull(),
  source: text('source').notNull(),
  detail: text('detail'),
  receivedAt: ts('received_at').notNull().defaultNow(),
});
export type RoomEventRow = typeof roomEvents.$inferSelect;

export const sensorRooms = pgTable('sensor_rooms', {
  sensorId: text('sensor_id').primaryKey(),
  venueId: text('venue_id').notNull(),
  roomId: text('room_id').notNull(),
  assignedBy: text('assigned_by'),
  assignedAt: ts('assigned_at').notNull().defaultNow(),
});

export const preSessionChecks = pgTable('pre_session_checks', {
  sessionId: uuid('session_id').primaryKey(),
  checkedAt: ts('checked_at').notNull(),
  ok: boolean('ok').notNull(),
  result: jsonb('result').notNull(),
});
