import { bigint, boolean, customType, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Drizzle mirror of migrations/0002_ledger.sql (audit trail and patrol issue ledger). */

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (b) => b,
  fromDriver: (v) => Buffer.from(v),
});

export const auditLog = pgTable('audit_log', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  at: ts('at').notNull(),
  actorId: uuid('actor_id'),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  venueId: text('venue_id'),
  subjectType: text('subject_type').notNull(),
  subjectId: text('subject_id').notNull(),
  detail: jsonb('detail').notNull().$type<Record<string, unknown>>(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

export const ledgerCategories = pgTable('ledger_categories', {
  code: text('code').primaryKey(),
  subjectType: text('subject_type').notNull(),
  zh: text('zh').notNull(),
  en: text('en').notNull(),
  active: boolean('active').notNull().default(true),
  sort: integer('sort').notNull().default(0),
});

export const ledgerCounters = pgTable('ledger_counters', {
  venueId: text('venue_id').notNull(),
  year: integer('year').notNull(),
  last: integer('last').notNull(),
});

export const ledgerEntries = pgTable('ledger_entries', {
  id: uuid('id').primaryKey(),
  venueId: text('venue_id').notNull(),
  year: integer('year').notNull(),
  seq: integer('seq').notNull(),
  number: text('number').notNull(),
  clientKey: text('client_key').notNull(),
  roomId: text('room_id').notNull(),
  foundAt: ts('found_at').notNull(),
  sessionId: uuid('session_id'),
  projectCode: text('project_code'),
  projectName: text('project_name'),
  subjectType: text('subject_type').notNull(),
  subjectName: text('subject_name').notNull(),
  category: text('category').notNull(),
  description: text('description').notNull(),
  status: text('status').notNull(),
  reporterId: uuid('reporter_id').notNull(),
  reporterName: text('reporter_name').notNull(),
  revision: integer('revision').notNull().default(1),
  footageFrom: ts('footage_from').notNull(),
  footageTo: ts('footage_to').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const ledgerRevisions = pgTable('ledger_revisions', {
  entryId: uuid('entry_id').notNull(),
  revision: integer('revision').notNull(),
  fields: jsonb('fields').notNull().$type<Record<string, string | null>>(),
  reason: text('reason').notNull(),
  byId: uuid('by_id').notNull(),
  byName: text('by_name').notNull(),
  at: ts('at').notNull(),
});

export const ledgerSteps = pgTable('ledger_steps', {
  id: uuid('id').primaryKey(),
  entryId: uuid('entry_id').notNull(),
  action: text('action').notNull(),
  fromStatus: text('from_status').notNull(),
  toStatus: text('to_status').notNull(),
  data: jsonb('data').notNull().$type<Record<string, string>>(),
  byId: uuid('by_id').notNull(),
  byName: text('by_name').notNull(),
  at: ts('at').notNull(),
});

export const ledgerPhotos = pgTable('ledger_photos', {
  id: uuid('id').primaryKey(),
  entryId: uuid('entry_id').notNull(),
  contentType: text('content_type').notNull(),
  bytes: integer('bytes').notNull(),
  sha256: text('sha256').notNull(),
  data: bytea('data').notNull(),
  byId: uuid('by_id').notNull(),
  at: ts('at').notNull(),
});

export type AuditRow = typeof auditLog.$inferSelect;
export type LedgerEntryRow = typeof ledgerEntries.$inferSelect;
export type LedgerCategoryRow = typeof ledgerCategories.$inferSelect;
export type LedgerStepRow = typeof ledgerSteps.$inferSelect;
export type LedgerRevisionRow = typeof ledgerRevisions.$inferSelect;
export type LedgerPhotoRow = typeof ledgerPhotos.$inferSelect;
