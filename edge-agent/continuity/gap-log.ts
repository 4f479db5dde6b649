import { randomUUID } from 'node:crypto';
import { encodeMessage, topics, type GapCause, type GapKind, type GapRecord } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';

/**
 * The venue box's record of recording gaps, in the catalogue's SQLite file. A gap row and the
 * outbox message that tells the centre about it are written in one transaction, so a gap is never
 * known here and lost on the way (the outbox survives kill -9 and broker outages).
 */

const schema = `
CREATE TABLE IF NOT EXISTS gaps (
  id TEXT PRIMARY KEY,
  camera_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  cause TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
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
  end_ms: number;
  detail: string | null;
}

const toRecord = (r: GapRow): GapRecord => ({
  id: r.id,
  cameraId: r.camera_id,
  kind: r.kind as GapKind,
  cause: r.cause as GapCause,
  start: new Date(r.start_ms).toISOString(),
  end: new Date(r.end_ms).toISOString(),
  detail: r.detail,
});

export class GapLog {
  constructor(
    private readonly catalogue: Catalogue,
    private readonly venueId: string,
  ) {
    catalogue.db.exec(schema);
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
    const message = encodeMessage('gaps', { venueId: this.venueId, gaps: [record] });
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
      this.catalogue.enqueue({ id: message.id, topic: topics.gaps(this.venueId), payload: JSON.stringify(message) });
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
