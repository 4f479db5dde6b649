import { bigint, boolean, customType, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Drizzle mirror of migrations/*.sql: the source of the server's row types. The SQL files are the
 * truth for the database itself (hand-written so btree_gist and GiST indexes are ours to control);
 * a test checks both agree by round-tripping rows.
 */

/** A half-open time range [from, to). */
export interface TimeSpan {
  from: Date;
  to: Date;
}

/**
 * PostgreSQL prints timestamptz as "2026-11-01 10:00:00.123+00" (or "+05:30"); turn it into
 * something Date.parse reads everywhere.
 */
function parsePgTimestamp(text: string): Date {
  const t = text.trim().replace(/^"|"$/g, '');
  const iso = t.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00').replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`cannot read timestamp "${text}" from the database`);
  return d;
}

export function parseTstzRange(value: string): TimeSpan {
  const m = /^[[(]\s*("[^"]*"|[^,]*)\s*,\s*("[^"]*"|[^\])]*)\s*[\])]$/.exec(value.trim());
  if (!m || !m[1] || !m[2]) throw new Error(`cannot read time range "${value}" from the database: it must be bounded`);
  return { from: parsePgTimestamp(m[1]), to: parsePgTimestamp(m[2]) };
}

export const tstzrange = customType<{ data: TimeSpan; driverData: string }>({
  dataType: () => 'tstzrange',
  toDriver: (span) => `[${span.from.toISOString()},${span.to.toISOString()})`,
  fromDriver: (value) => parseTstzRange(value),
});

/** A time range that may still be open: [from, to), or [from, ) while `to` is null. */
export interface OpenTimeSpan {
  from: Date;
  to: Date | null;
}

export function parseOpenTstzRange(value: string): OpenTimeSpan {
  const m = /^[[(]\s*("[^"]*"|[^,]*)\s*,\s*("[^"]*"|[^\])]*)\s*[\])]$/.exec(value.trim());
  if (!m || !m[1]) throw new Error(`cannot read time range "${value}" from the database: it must have a start`);
  const upper = (m[2] ?? '').trim();
  return { from: parsePgTimestamp(m[1]), to: upper === '' || upper === 'infinity' ? null : parsePgTimestamp(upper) };
}

/** tstzrange whose upper bound may be missing (a recording gap still going on). */
export const openTstzrange = customType<{ data: OpenTimeSpan; driverData: string }>({
  dataType: () => 'tstzrange',
  toDriver: (span) => `[${span.from.toISOString()},${span.to ? span.to.toISOString() : ''})`,
  fromDriver: (value) => parseOpenTstzRange(value),
});

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const venues = pgTable('venues', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const rooms = pgTable('rooms', {
  id: text('id').primaryKey(),
  venueId: text('venue_id')
    .notNull()
    .references(() => venues.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  kind: text('kind').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const cameras = pgTable('cameras', {
  id: text('id').primaryKey(),
  venueId: text('venue_id')
    .notNull()
    .references(() => venues.id, { onDelete: 'cascade' }),
  roomId: text('room_id'),
  name: text('name').notNull(),
  endpoint: text('endpoint'),
  manufacturer: text('manufacturer'),
  model: text('model'),
  serial: text('serial'),
  firmware: text('firmware'),
  xaddr: text('xaddr'),
  streamUri: text('stream_uri'),
  videoCodec: text('video_codec'),
  audioCodec: text('audio_codec'),
  recording: boolean('recording').notNull().default(false),
  lastError: text('last_error'),
  lastSegmentEnd: ts('last_segment_end'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const segments = pgTable(
  'segments',
  {
    id: uuid('id').primaryKey(),
    cameraId: text('camera_id').notNull(),
    runId: uuid('run_id').notNull(),
    span: tstzrange('span').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    hasAudio: boolean('has_audio').notNull(),
    cataloguedAt: ts('catalogued_at').notNull().defaultNow(),
    storedAt: ts('stored_at'),
    storageKey: text('storage_key'),
  },
  (t) => [index('segments_camera_span_gist').using('gist', t.cameraId, t.span)],
);

export const bidSessions = pgTable('bid_sessions', {
  id: uuid('id').primaryKey(),
  projectCode: text('project_code').notNull(),
  projectName: text('project_name').notNull(),
  kind: text('kind').notNull(),
  roomId: text('room_id')
    .notNull()
    .references(() => rooms.id),
  plannedStart: ts('planned_start').notNull(),
  plannedEnd: ts('planned_end').notNull(),
  createdBy: uuid('created_by'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  username: text('username').notNull().unique(),
  displayName: text('display_name').notNull(),
  role: text('role').notNull(),
  venueIds: text('venue_ids').array(),
  passwordHash: text('password_hash').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  /** Disabled accounts stay (migration 0049): the ledger and the audit trail name them. */
  disabledAt: ts('disabled_at'),
});

export const authSessions = pgTable('auth_sessions', {
  tokenHash: text('token_hash').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  createdAt: ts('created_at').notNull().defaultNow(),
  expiresAt: ts('expires_at').notNull(),
});

export const agentStatus = pgTable('agent_status', {
  venueId: text('venue_id').primaryKey(),
  online: boolean('online').notNull(),
  agentVersion: text('agent_version'),
  startedAt: ts('started_at'),
  lastSeen: ts('last_seen').notNull(),
});

export const processedMessages = pgTable('processed_messages', {
  id: uuid('id').primaryKey(),
  venueId: text('venue_id').notNull(),
  kind: text('kind').notNull(),
  receivedAt: ts('received_at').notNull().defaultNow(),
});

/** Issue 5: gaps reported by the venue boxes (migration 0004). */
export const recordingGaps = pgTable(
  'recording_gaps',
  {
    id: uuid('id').primaryKey(),
    venueId: text('venue_id').notNull(),
    cameraId: text('camera_id').notNull(),
    kind: text('kind').notNull(),
    cause: text('cause').notNull(),
    /** Open-ended while the gap is still going on (migration 0045). */
    span: openTstzrange('span').notNull(),
    detail: text('detail'),
    receivedAt: ts('received_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('recording_gaps_camera_span_gist').using('gist', t.cameraId, t.span)],
);
/** Issue 5: alarms from the venue boxes (migration 0014). */
export const venueAlarms = pgTable('venue_alarms', {
  id: uuid('id').primaryKey(),
  venueId: text('venue_id').notNull(),
  kind: text('kind').notNull(),
  active: boolean('active').notNull(),
  raisedAt: ts('raised_at').notNull(),
  detail: text('detail').notNull(),
  pausedCameras: text('paused_cameras').array().notNull(),
  freeBytes: bigint('free_bytes', { mode: 'number' }).notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
export type VenueAlarmRow = typeof venueAlarms.$inferSelect;
/** Issue 5: pinned agent keys and verified manifests (migration 0024). */
export const agentKeys = pgTable('agent_keys', {
  venueId: text('venue_id').primaryKey(),
  keyId: text('key_id').notNull(),
  publicKey: text('public_key').notNull(),
  pinnedAt: ts('pinned_at').notNull().defaultNow(),
});
export const footageManifests = pgTable('footage_manifests', {
  venueId: text('venue_id').notNull(),
  cameraId: text('camera_id').notNull(),
  periodStart: ts('period_start').notNull(),
  /** 0: the period's first manifest; n: its n-th supplementary manifest (migration 0046). */
  part: integer('part').notNull().default(0),
  keyId: text('key_id').notNull(),
  chainHead: text('chain_head').notNull(),
  segments: integer('segments').notNull(),
  manifest: text('manifest').notNull(),
  verifiedAt: ts('verified_at').notNull().defaultNow(),
});
export type FootageManifestRow = typeof footageManifests.$inferSelect;
export type RecordingGapRow = typeof recordingGaps.$inferSelect;
export type NewRecordingGapRow = typeof recordingGaps.$inferInsert;

export type VenueRow = typeof venues.$inferSelect;
export type RoomRow = typeof rooms.$inferSelect;
export type CameraRow = typeof cameras.$inferSelect;
export type NewCameraRow = typeof cameras.$inferInsert;
export type SegmentRow = typeof segments.$inferSelect;
export type NewSegmentRow = typeof segments.$inferInsert;
export type BidSessionRow = typeof bidSessions.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type AuthSessionRow = typeof authSessions.$inferSelect;
export type AgentStatusRow = typeof agentStatus.$inferSelect;
export * from './schema-ledger.ts';
export * from './schema-exports.ts';
