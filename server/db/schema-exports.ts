import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Drizzle mirror of migrations/0048_export_requests.sql (footage export requests, 调取录像申请). */

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const exportRequests = pgTable('export_requests', {
  id: uuid('id').primaryKey(),
  venueId: text('venue_id').notNull(),
  roomId: text('room_id').notNull(),
  sessionId: uuid('session_id'),
  fromAt: ts('from_at').notNull(),
  toAt: ts('to_at').notNull(),
  purpose: text('purpose').notNull(),
  status: text('status').notNull(),
  requestedById: uuid('requested_by_id').notNull(),
  requestedByName: text('requested_by_name').notNull(),
  requestedAt: ts('requested_at').notNull(),
  decidedById: uuid('decided_by_id'),
  decidedByName: text('decided_by_name'),
  decidedAt: ts('decided_at'),
  decisionNote: text('decision_note'),
  expiresAt: ts('expires_at'),
  downloads: integer('downloads').notNull().default(0),
});
export type ExportRequestRow = typeof exportRequests.$inferSelect;
