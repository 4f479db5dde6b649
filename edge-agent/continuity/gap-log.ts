import { randomUUID } from 'node:crypto';
import { encodeMessage, topics, type GapCause, type GapKind, type GapRecord } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';

/**
 * The venue box's record of recording gaps, in the catalogue's SQLite file. A gap row and the
 * outbox message that tells the centre about it are written in one transaction, so a gap is never
 * known here and lost on the way (the outbox survives kill -9 and broker outages). A gap is a row
 * from the moment it is known to be one (`end_ms` NULL while the camera is still down); closing
 * it updates that row and tells the centre again under the same id.
 */

const schema = `
CREATE TABLE IF NOT EXISTS gaps (
  id TEXT PRIMARY KEY,
  camera_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  cause TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER,
  detail TEXT,
  recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gaps_camera_time ON gaps (camera_id, start_ms);
`;

interface GapRow {
  id: string;
  camera_id: string;
  kind: string;
  cause: string;
  start_ms: number;
  end_ms: number | null;
  detail: string | null;
}

const toRecord = (r: GapRow): GapRecord => ({
  id: r.id,
  cameraId: r.camera_id,
  kind: r.kind as GapKind,
  cause: r.cause as GapCause,
  start: new Date(r.start_ms).toISOString(),
  end: r.end_ms === null ? null : new Date(r.end_ms).toISOString(),
  detail: r.detail,
});

export interface OpenGap {
  id: string;
  cameraId: string;
  kind: GapKind;
  cause: GapCause;
  startMs: number;
  detail: string | null;
}

export class GapLog {
  constructor(
    private readonly catalogue: Catalogue,
    private readonly venueId: string,
  ) {
    catalogue.db.exec(schema);
    // Catalogues made before open gaps had end_ms NOT NULL: rebuild the table once (SQLite cannot
    // drop a constraint in place).
    const cols = catalogue.db.prepare('PRAGMA table_info(gaps)').all() as { name: string; notnull: number }[];
    if (cols.find((c) => c.name === 'end_ms')?.notnull === 1) {
      catalogue.db.transaction(() => {
        catalogue.db.exec('ALTER TABLE gaps RENAME TO gaps_closed_only');
        catalogue.db.exec('DROP INDEX IF EXISTS gaps_camera_time');
        catalogue.db.exec(schema);
        catalogue.db.exec('INSERT INTO gaps SELECT id, camera_id, kind, cause, start_ms, end_ms, detail, recorded_at FROM gaps_closed_only');
        catalogue.db.exec('DROP TABLE gaps_closed_only');
      })();
    }
  }

  /** Queues a gap message for the centre (call inside the transaction that changes the row). */
  private send(record: GapRecord): void {
    const message = encodeMessage('gaps', { venueId: this.venueId, gaps: [record] });
    this.catalogue.enqueue({ id: message.id, topic: topics.gaps(this.venueId), payload: JSON.stringify(message) });
  }

  /** A gap still going on (the camera is down now): a row without end, sent to the centre at once. */
  open(gap: { cameraId: string; kind: GapKind; cause: GapCause; startMs: number; detail?: string | null }): OpenGap {
    const open: OpenGap = { id: randomUUID(), cameraId: gap.cameraId, kind: gap.kind, cause: gap.cause, startMs: gap.startMs, detail: gap.detail ? gap.detail.slice(0, 500) : null };
    const db = this.catalogue.db;
    db.transaction(() => {
      db.prepare('INSERT INTO gaps (id, camera_id, kind, cause, start_ms, end_ms, detail, recorded_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)').run(
        open.id, open.cameraId, open.kind, open.cause, open.startMs, open.detail, new Date().toISOString(),
      );
      this.send({ id: open.id, cameraId: open.cameraId, kind: open.kind, cause: open.cause, start: new Date(open.startMs).toISOString(), end: null, detail: open.detail });
    })();
    return open;
  }

  /** Closes an open gap with its exact end and final cause (same row, same id at the centre). */
  close(open: OpenGap, endMs: number, cause: GapCause, detail?: string | null): GapRecord {
    const record: GapRecord = {
      id: open.id,
      cameraId: open.cameraId,
      kind: open.kind,
      cause,
      start: new Date(open.startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      detail: detail ? detail.slice(0, 500) : open.detail,
    };
    const db = this.catalogue.db;
    db.transaction(() => {
      db.prepare('UPDATE gaps SET end_ms = ?, cause = ?, detail = ? WHERE id = ?').run(endMs, cause, record.detail, open.id);
      this.send(record);
    })();
    return record;
  }

  /** An open gap that closed within the threshold was no gap: delete it here and at the centre. */
  withdraw(open: OpenGap): void {
    const db = this.catalogue.db;
    db.transaction(() => {
      db.prepare('DELETE FROM gaps WHERE id = ?').run(open.id);
      this.send({ id: open.id, cameraId: open.cameraId, kind: open.kind, cause: open.cause, start: new Date(open.startMs).toISOString(), end: null, detail: open.detail, withdrawn: true });
    })();
  }

  /** Gaps left open (by a previous run of the agent). */
  openGaps(): OpenGap[] {
    const rows = this.catalogue.db.prepare('SELECT * FROM gaps WHERE end_ms IS NULL ORDER BY start_ms').all() as GapRow[];
    return rows.map((r) => ({ id: r.id, cameraId: r.camera_id, kind: r.kind as GapKind, cause: r.cause as GapCause, startMs: r.start_ms, detail: r.detail }));
  }

  /** Records one gap and queues it for the centre; returns the record. */
  add(gap: { cameraId: string; kind: GapKind; cause: GapCause; startMs: number; endMs: number; detail?: string | null }): GapRecord {
    const record: GapRecord = {
      id: randomUUID(),
      cameraId: gap.cameraId,
      kind: gap.kind,
      cause: gap.cause,
      start: new Date(gap.startMs).toISOString(),
      end: new Date(gap.endMs).toISOString(),
      detail: gap.detail ? gap.detail.slice(0, 500) : null,
    };
    const db = this.catalogue.db;
    db.transaction(() => {
      db.prepare('INSERT INTO gaps (id, camera_id, kind, cause, start_ms, end_ms, detail, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        record.id,
        record.cameraId,
        record.kind,
        record.cause,
        gap.startMs,
        gap.endMs,
        record.detail,
        new Date().toISOString(),
      );
      this.send(record);
    })();
    return record;
  }

  list(cameraId?: string): GapRecord[] {
    const rows = (
      cameraId
        ? this.catalogue.db.prepare('SELECT * FROM gaps WHERE camera_id = ? ORDER BY start_ms').all(cameraId)
        : this.catalogue.db.prepare('SELECT * FROM gaps ORDER BY camera_id, start_ms').all()
    ) as GapRow[];
    return rows.map(toRecord);
  }
}
