import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client.ts';

/**
 * The audit trail: append-only and hash-chained. Each row's hash is SHA-256 over the previous
 * row's hash and the row's canonical content, so changing, deleting or reordering any row breaks
 * every hash after it; `npm run verify -- --audit` walks the chain and names the first bad row.
 */

export type AuditExecutor = Pick<Database, 'execute'>;
/** Either the database or a transaction handle: audit rows are written in the caller's transaction. */
export type Transactional = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface AuditEvent {
  actorId: string | null;
  /** Username, or "system" / a venue id for machine actions. */
  actor: string;
  /** e.g. auth.login, auth.login_failed, ledger.create, ledger.transition, footage.playlist, hold.placed */
  action: string;
  venueId: string | null;
  subjectType: string;
  subjectId: string;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<AuditEvent> {
  seq: number;
  at: Date;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
/** Arbitrary constant naming "VenueWatch audit append" among the advisory locks. */
const AUDIT_LOCK_KEY = 7_346_501_404;

/** JSON with object keys sorted at every level: jsonb does not keep key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function rowHash(prevHash: string, r: Omit<AuditRecord, 'prevHash' | 'hash'>): string {
  const content = canonicalJson([String(r.seq), r.at.toISOString(), r.actorId, r.actor, r.action, r.venueId, r.subjectType, r.subjectId, r.detail]);
  return createHash('sha256').update(prevHash).update(content).digest('hex');
}

interface RawAuditRow {
  seq: string | number | bigint;
  at: Date | string;
  actor_id: string | null;
  actor: string;
  action: string;
  venue_id: string | null;
  subject_type: string;
  subject_id: string;
  detail: Record<string, unknown> | string;
  prev_hash: string;
  hash: string;
}

function fromRaw(r: RawAuditRow): AuditRecord {
  return {
    seq: Number(r.seq),
    at: r.at instanceof Date ? r.at : new Date(String(r.at).replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')),
    actorId: r.actor_id,
    actor: r.actor,
    action: r.action,
    venueId: r.venue_id,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Appends one row inside `tx` (which must be a transaction: the lock is held until it commits). */
async function appendIn(tx: AuditExecutor, event: AuditEvent): Promise<AuditRecord> {
  await tx.execute(sql.raw(`SELECT pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`));
  const [last] = await queryRows<{ seq: string | number; hash: string }>(tx, sql`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`);
  const seq = last ? Number(last.seq) + 1 : 1;
  const prevHash = last?.hash ?? GENESIS_HASH;
  // Millisecond precision: the hash is computed from the JavaScript time, which is what reads back.
  const at = new Date();
  const record = {
    seq,
    at,
    actorId: event.actorId,
    actor: event.actor,
    action: event.action,
    venueId: event.venueId,
    subjectType: event.subjectType,
    subjectId: event.subjectId,
    detail: JSON.parse(JSON.stringify(event.detail ?? {})) as Record<string, unknown>,
  };
  const hash = rowHash(prevHash, record);
  await tx.execute(sql`INSERT INTO audit_log (seq, at, actor_id, actor, action, venue_id, subject_type, subject_id, detail, prev_hash, hash)
    VALUES (${seq}, ${at.toISOString()}::timestamptz, ${record.actorId}, ${record.actor}, ${record.action}, ${record.venueId}, ${record.subjectType}, ${record.subjectId}, ${JSON.stringify(record.detail)}::jsonb, ${prevHash}, ${hash})`);
  return { ...record, prevHash, hash };
}

export type VerifyResult =
  | { ok: true; rows: number }
  | { ok: false; rows: number; firstBad: { seq: number; reason: string } };

export class AuditService {
  constructor(private readonly db: Database) {}

  /** Appends in the caller's transaction, or in a transaction of its own when given none. */
  async append(event: AuditEvent, tx?: Transactional): Promise<AuditRecord> {
    if (tx) return appendIn(tx, event);
    return this.db.transaction((t) => appendIn(t, event));
  }

  async list(filter: { subjectType?: string; subjectId?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const where = filter.subjectType && filter.subjectId ? sql`WHERE subject_type = ${filter.subjectType} AND subject_id = ${filter.subjectId}` : sql``;
    const rows = await queryRows<RawAuditRow>(this.db, sql`SELECT * FROM audit_log ${where} ORDER BY seq ASC LIMIT ${filter.limit ?? 10_000}`);
    return rows.map(fromRaw);
  }

  /** Walks the whole chain in order, in pages; the first row whose link or hash is wrong is reported. */
  async verify(pageSize = 5000): Promise<VerifyResult> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    for (;;) {
      const page = (await queryRows<RawAuditRow>(this.db, sql`SELECT * FROM audit_log WHERE seq >= ${expectedSeq} ORDER BY seq ASC LIMIT ${pageSize}`)).map(fromRaw);
      if (page.length === 0) return { ok: true, rows };
      for (const r of page) {
        if (r.seq !== expectedSeq) return { ok: false, rows, firstBad: { seq: expectedSeq, reason: `row ${expectedSeq} is missing (next row is ${r.seq})` } };
        if (r.prevHash !== prevHash) return { ok: false, rows, firstBad: { seq: r.seq, reason: `row ${r.seq} does not link to row ${r.seq - 1} (prev_hash differs)` } };
        if (rowHash(prevHash, r) !== r.hash) return { ok: false, rows, firstBad: { seq: r.seq, reason: `row ${r.seq} (${r.action} ${r.subjectType} ${r.subjectId}) was altered: its content no longer matches its hash` } };
        prevHash = r.hash;
        expectedSeq++;
        rows++;
      }
    }
  }
}
