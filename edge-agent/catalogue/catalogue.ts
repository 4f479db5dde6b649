import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CameraInfo, SegmentRecord, UploadWindow } from '../../protocol/index.ts';

/**
 * The venue box's own record, in SQLite (WAL): every segment recorded, every camera seen, and the
 * durable outbox. A message to the centre is written to the outbox first and deleted only when the
 * broker acknowledges it, so a crash or a broker outage loses nothing and a redelivery carries the
 * same message id (the centre drops duplicates by id).
 */

export interface CataloguedSegment extends SegmentRecord {
  path: string;
  uploadedAt: string | null;
}

export interface OutboxMessage {
  id: string;
  topic: string;
  payload: string;
  retain: boolean;
  createdAt: string;
}

/** Builds the outbox message that announces a batch of segments. */
export type BuildSegmentBatch = (segments: SegmentRecord[]) => { id: string; topic: string; payload: string };

/** A row of the segments table, as SQLite returns it. */
export interface SegmentRow {
  id: string;
  camera_id: string;
  run_id: string;
  path: string;
  start_ms: number;
  end_ms: number;
  bytes: number;
  sha256: string;
  has_audio: number;
  uploaded_at: string | null;
  prev_hash: string | null;
}

const schema = `
CREATE TABLE IF NOT EXISTS segments (
  id TEXT PRIMARY KEY,
  camera_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  path TEXT NOT NULL UNIQUE,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  has_audio INTEGER NOT NULL,
  uploaded_at TEXT,
  -- 1 once the segment is in an outbox message (or delivered): the batcher picks the rest.
  announced INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS segments_camera_time ON segments (camera_id, start_ms);
CREATE INDEX IF NOT EXISTS segments_unannounced ON segments (announced) WHERE announced = 0;
CREATE INDEX IF NOT EXISTS segments_not_uploaded ON segments (camera_id, start_ms) WHERE uploaded_at IS NULL;
CREATE TABLE IF NOT EXISTS cameras (
  id TEXT PRIMARY KEY,
  room_id TEXT,
  info TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  retain INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * `LIMIT n` written into the SQL text, never bound. The SQLite in better-sqlite3 (3.53) reads a
 * bound LIMIT's value when it plans the query, so every new binding expires the statement and its
 * next run parses and plans it again: twice the cost of the query, on the batcher's path every
 * tick (docs/benchmarks.md). The catalogue compiles each text once, so a literal costs that once.
 */
export function limitSql(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a LIMIT must be a whole number ≥ 0, not ${n}`);
  return `LIMIT ${n}`;
}

const toRecord = (r: SegmentRow): CataloguedSegment => ({
  id: r.id,
  cameraId: r.camera_id,
  runId: r.run_id,
  start: new Date(r.start_ms).toISOString(),
  end: new Date(r.end_ms).toISOString(),
  bytes: r.bytes,
  sha256: r.sha256,
  hasAudio: r.has_audio === 1,
  ...(r.prev_hash ? { prevHash: r.prev_hash } : {}),
  path: r.path,
  uploadedAt: r.uploaded_at,
});

export class Catalogue {
  readonly db: Database.Database;
  /** The highest rowid handed out or signed; the next segment's rowid is above it. */
  private rowidFloor: number;
  /**
   * Rows added since the catalogue was opened: the outbox batcher compares them with what it saw
   * last, so a tick with nothing new runs no query at all.
   */
  readonly added = { segments: 0, outbox: 0 };
  private announceTx: ((max: number, build: BuildSegmentBatch) => number) | null = null;
  private writeTx: ((fn: () => unknown) => unknown) | null = null;
  /** Outbox ids the broker acknowledged whose rows wait for the next write (acknowledge()). */
  private readonly acknowledged = new Set<string>();
  private acknowledgedSince = 0;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode (only a power cut may lose the last commit).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(schema);
    // Every part of the agent calls db.prepare(sql) where it queries. Compiling SQL is what those
    // calls cost (a segment's insert, the batcher and the heartbeat each second): compile each text
    // once and hand back the same statement. Safe while nothing keeps a statement busy between
    // calls (no .iterate(), no .raw()/.pluck() modes in the agent).
    const compile = this.db.prepare.bind(this.db);
    const compiled = new Map<string, Database.Statement>();
    this.db.prepare = ((sql: string) => {
      let st = compiled.get(sql);
      if (!st) {
        // Here, where every text is compiled once, so no caller can bring the recompiling back.
        if (/\bLIMIT\s+\?/i.test(sql)) throw new Error(`bind no LIMIT, it recompiles the statement each run: write it with limitSql() (${sql})`);
        compiled.set(sql, (st = compile(sql)));
      }
      return st;
    }) as Database.Database['prepare'];
    // Issue 5: the hash chain link (older catalogues gain the column).
    const columns = this.db.prepare('PRAGMA table_info(segments)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'prev_hash')) this.db.exec('ALTER TABLE segments ADD COLUMN prev_hash TEXT');
    // Rowids only grow. The manifest signer (integrity/) signs each camera's rows after the last
    // rowid it signed; SQLite alone would hand the rowid of a removed newest row out again, and the
    // segment given it would never be signed. So: above every rowid used here or already signed.
    const signedCols = this.db.prepare('PRAGMA table_info(manifests)').all() as { name: string }[];
    const signed = signedCols.some((c) => c.name === 'last_rowid') ? ((this.db.prepare('SELECT MAX(last_rowid) AS n FROM manifests').get() as { n: number | null }).n ?? 0) : 0;
    this.rowidFloor = signed;
  }

  /** Adds a segment once; returns false when that file was already catalogued. */
  addSegment(s: SegmentRecord & { path: string }): boolean {
    const res = this.db
      .prepare(
        `INSERT OR IGNORE INTO segments (rowid, id, camera_id, run_id, path, start_ms, end_ms, bytes, sha256, has_audio, prev_hash)
         VALUES (MAX(?, IFNULL((SELECT MAX(rowid) FROM segments), 0)) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(this.rowidFloor, s.id, s.cameraId, s.runId, s.path, Date.parse(s.start), Date.parse(s.end), s.bytes, s.sha256, s.hasAudio ? 1 : 0, s.prevHash ?? null);
    if (res.changes === 1) {
      this.rowidFloor = Number(res.lastInsertRowid);
      this.added.segments++;
    }
    return res.changes === 1;
  }

  hasSegmentPath(path: string): boolean {
    return this.db.prepare('SELECT 1 FROM segments WHERE path = ?').get(path) !== undefined;
  }

  segment(id: string): CataloguedSegment | null {
    const row = this.db.prepare('SELECT * FROM segments WHERE id = ?').get(id) as SegmentRow | undefined;
    return row ? toRecord(row) : null;
  }

  segments(cameraId?: string): CataloguedSegment[] {
    const rows = (
      cameraId
        ? this.db.prepare('SELECT * FROM segments WHERE camera_id = ? ORDER BY start_ms').all(cameraId)
        : this.db.prepare('SELECT * FROM segments ORDER BY camera_id, start_ms').all()
    ) as SegmentRow[];
    return rows.map(toRecord);
  }

  lastSegmentEnd(cameraId: string): string | null {
    const row = this.db.prepare('SELECT MAX(end_ms) AS end_ms FROM segments WHERE camera_id = ?').get(cameraId) as { end_ms: number | null };
    return row.end_ms === null ? null : new Date(row.end_ms).toISOString();
  }

  markUploaded(id: string, at = new Date()): void {
    this.db.prepare('UPDATE segments SET uploaded_at = ? WHERE id = ? AND uploaded_at IS NULL').run(at.toISOString(), id);
  }

  /**
   * Segments not yet uploaded whose camera is in the window's room and whose time overlaps it.
   * Room membership comes from the cameras table (the inventory the agent last saw).
   */
  segmentsToUpload(window: Pick<UploadWindow, 'roomId' | 'from' | 'to'>, limit = 500): CataloguedSegment[] {
    const from = Date.parse(window.from);
    const to = window.to === null ? Number.MAX_SAFE_INTEGER : Date.parse(window.to);
    const rows = this.db
      .prepare(
        `SELECT s.* FROM segments s JOIN cameras c ON c.id = s.camera_id
         WHERE c.room_id = ? AND s.uploaded_at IS NULL AND s.start_ms < ? AND s.end_ms > ?
         ORDER BY s.start_ms ${limitSql(limit)}`,
      )
      .all(window.roomId, to, from) as SegmentRow[];
    return rows.map(toRecord);
  }

  upsertCamera(info: CameraInfo, now = new Date()): void {
    this.db
      .prepare(
        `INSERT INTO cameras (id, room_id, info, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET room_id = excluded.room_id, info = excluded.info, last_seen = excluded.last_seen`,
      )
      .run(info.id, info.roomId, JSON.stringify(info), now.toISOString(), now.toISOString());
  }

  cameras(): CameraInfo[] {
    return (this.db.prepare('SELECT info FROM cameras ORDER BY id').all() as { info: string }[]).map((r) => JSON.parse(r.info) as CameraInfo);
  }

  // ---- outbox ---------------------------------------------------------------------------------

  enqueue(msg: { id: string; topic: string; payload: string; retain?: boolean }): void {
    const res = this.db
      .prepare('INSERT OR IGNORE INTO outbox (id, topic, payload, retain, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(msg.id, msg.topic, msg.payload, msg.retain ? 1 : 0, new Date().toISOString());
    if (res.changes === 1) this.added.outbox++;
  }

  /**
   * Moves up to `max` not yet announced segments into one outbox message built by `build`, in one
   * transaction: either the segments are marked and the message exists, or neither.
   */
  announceSegments(max: number, build: BuildSegmentBatch): number {
    // Most ticks find nothing to announce: look before opening a transaction.
    if (this.db.prepare('SELECT 1 FROM segments WHERE announced = 0 LIMIT 1').get() === undefined) return 0;
    // One transaction function for the catalogue's life (db.transaction builds a new wrapper).
    this.announceTx ??= this.db.transaction((max: number, build: BuildSegmentBatch) => {
      const rows = this.db.prepare(`SELECT * FROM segments WHERE announced = 0 ORDER BY start_ms ${limitSql(max)}`).all() as SegmentRow[];
      if (rows.length === 0) return 0;
      const records: SegmentRecord[] = rows.map((r) => {
        const { path: _path, uploadedAt: _u, ...rec } = toRecord(r);
        return rec;
      });
      this.enqueue(build(records));
      const mark = this.db.prepare('UPDATE segments SET announced = 1 WHERE id = ?');
      for (const r of rows) mark.run(r.id);
      return rows.length;
    });
    return this.announceTx(max, build);
  }

  /**
   * The outbox in order, without what the broker has acknowledged but is not deleted yet.
   */
  pending(limit = 100): OutboxMessage[] {
    // Acknowledged rows still in the table are skipped below; rounding their count to a power of
    // two keeps the texts (and so the compiled statements, see limitSql) few.
    const skipped = this.acknowledged.size === 0 ? 0 : 2 ** Math.ceil(Math.log2(this.acknowledged.size));
    const rows = this.db.prepare(`SELECT id, topic, payload, retain, created_at FROM outbox ORDER BY seq ${limitSql(limit + skipped)}`).all() as {
      id: string;
      topic: string;
      payload: string;
      retain: number;
      created_at: string;
    }[];
    const out: OutboxMessage[] = [];
    for (const r of rows) {
      if (this.acknowledged.has(r.id)) continue;
      if (out.length === limit) break;
      out.push({ id: r.id, topic: r.topic, payload: r.payload, retain: r.retain === 1, createdAt: r.created_at });
    }
    return out;
  }

  /** Messages waiting for the broker. */
  outboxSize(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n - this.acknowledged.size;
  }

  /**
   * The broker has the message. Its row goes with the next write of the catalogue (write()), not in
   * a commit of its own: at one camera that was a third of the box's SQLite commits, each a WAL
   * append and a round of file locks. Until then it is left out of pending(); a crash in between
   * sends it once more, and the centre drops the duplicate by its id.
   */
  acknowledge(id: string): void {
    if (this.acknowledged.size === 0) this.acknowledgedSince = Date.now();
    this.acknowledged.add(id);
  }

  /** Acknowledged messages whose rows are still in the outbox, and since when the oldest waits. */
  get acknowledgedWaiting(): { count: number; sinceMs: number } {
    return { count: this.acknowledged.size, sinceMs: this.acknowledgedSince };
  }

  /**
   * One transaction for a batch of writes (the outbox batcher's: new segments, their announcement,
   * the acknowledged rows), so they cost one commit; the acknowledged rows are deleted in it.
   */
  write<T>(fn: () => T): T {
    this.writeTx ??= this.db.transaction((f: () => unknown) => {
      const result = f();
      if (this.acknowledged.size > 0) {
        const del = this.db.prepare('DELETE FROM outbox WHERE id = ?');
        for (const id of this.acknowledged) del.run(id);
      }
      return result;
    });
    const result = this.writeTx(fn) as T;
    // Committed: the rows are gone.
    this.acknowledged.clear();
    return result;
  }

  // ---- small durable state (last upload windows) ------------------------------------------------

  getState(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setState(key: string, value: string): void {
    this.db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    if (!this.db.open) return;
    if (this.acknowledged.size > 0) this.write(() => undefined);
    this.db.close();
  }
}
