import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import { recordHash, signManifest, type SigningKey } from '../../protocol/integrity.ts';
import { encodeMessage, topics, type FootageManifest, type ManifestSegment } from '../../protocol/index.ts';
import type { Catalogue, SegmentRow } from '../catalogue/catalogue.ts';
import { everyTick } from '../schedule/shared-tick.ts';

/**
 * Signs a manifest of every camera's footage per period (an hour by default) once the period is
 * over: all segment records in chain order with their hashes, the chain head, the agent's Ed25519
 * signature. Each manifest is written beside the footage (<recordings>/<camera>/manifests/) for
 * offline `npm run verify`, kept in the catalogue, and sent to the centre through the outbox.
 * Manifests follow the chain (catalogue order), not the clock: each pass signs the segments
 * catalogued since the last manifest, up to the first one of a period still running, one manifest
 * per run of consecutive segments of the same period. A segment catalogued after its period was
 * signed (a late one) goes into a supplementary manifest of that period, which continues the chain
 * from the manifest signed just before it; nothing is left out and no link is broken.
 */

const schema = `
CREATE TABLE IF NOT EXISTS manifests (
  camera_id TEXT NOT NULL,
  period_start_ms INTEGER NOT NULL,
  -- 0: the period's first manifest; n: its n-th supplementary manifest (late segments).
  part INTEGER NOT NULL DEFAULT 0,
  file TEXT NOT NULL,
  chain_head TEXT NOT NULL,
  segments INTEGER NOT NULL,
  signed_at TEXT NOT NULL,
  -- rowid of the last segment signed: the next manifest starts after it, in chain order.
  last_rowid INTEGER,
  PRIMARY KEY (camera_id, period_start_ms, part)
);
`;

export interface ManifestSignerOptions {
  catalogue: Catalogue;
  key: SigningKey;
  venueId: string;
  recordingsDir: string;
  periodSeconds: number;
  /** How long after a period ends its last segments may still arrive. */
  graceMs: number;
  logger: Logger;
}

export const manifestFileName = (periodStartMs: number, part = 0): string =>
  `${new Date(periodStartMs).toISOString().replace(/[:.]/g, '-')}${part > 0 ? `.supplement-${part}` : ''}.json`;

export class ManifestSigner {
  /** Stops its periodic run (on the box's shared timer, schedule/shared-tick.ts). */
  private timer: (() => void) | null = null;
  signed = 0;

  constructor(private readonly opts: ManifestSignerOptions) {
    const db = opts.catalogue.db;
    const cols = db.prepare('PRAGMA table_info(manifests)').all() as { name: string }[];
    if (cols.length > 0 && !cols.some((c) => c.name === 'part')) {
      // A catalogue from before supplementary manifests: one manifest per period, keyed by it.
      db.transaction(() => {
        db.exec('ALTER TABLE manifests RENAME TO manifests_by_period');
        db.exec(schema);
        db.exec('INSERT INTO manifests (camera_id, period_start_ms, part, file, chain_head, segments, signed_at) SELECT camera_id, period_start_ms, 0, file, chain_head, segments, signed_at FROM manifests_by_period ORDER BY camera_id, period_start_ms');
        db.exec('DROP TABLE manifests_by_period');
      })();
    } else db.exec(schema);
  }

  /** rowid of the camera's last signed segment (catalogues from before last_rowid: by period). */
  private lastSignedRowid(cameraId: string, periodMs: number): number {
    const db = this.opts.catalogue.db;
    const r = db.prepare('SELECT MAX(last_rowid) AS rid, MAX(period_start_ms) AS p FROM manifests WHERE camera_id = ?').get(cameraId) as { rid: number | null; p: number | null };
    if (r.rid !== null) return r.rid;
    if (r.p === null) return 0;
    const legacy = db.prepare('SELECT MAX(rowid) AS rid FROM segments WHERE camera_id = ? AND start_ms < ?').get(cameraId, r.p + periodMs) as { rid: number | null };
    return legacy.rid ?? 0;
  }

  start(): void {
    const every = Math.min(30_000, Math.max(500, (this.opts.periodSeconds * 1000) / 4));
    this.timer = everyTick(every, () => this.run());
  }

  /** Signs every finished period not yet signed; returns how many manifests it wrote. */
  run(now = Date.now()): number {
    const { catalogue, periodSeconds, graceMs } = this.opts;
    const periodMs = periodSeconds * 1000;
    const db = catalogue.db;
    let count = 0;
    try {
      const cameras = db.prepare('SELECT DISTINCT camera_id AS id FROM segments WHERE prev_hash IS NOT NULL').all() as { id: string }[];
      const cutoff = Math.floor((now - graceMs) / periodMs) * periodMs;
      for (const { id: cameraId } of cameras) {
        const rows = db
          .prepare('SELECT rowid AS rid, * FROM segments WHERE camera_id = ? AND prev_hash IS NOT NULL AND rowid > ? ORDER BY rowid')
          .all(cameraId, this.lastSignedRowid(cameraId, periodMs)) as (SegmentRow & { rid: number })[];
        // Chain order up to the first segment of a period that is not over yet.
        const ready: (SegmentRow & { rid: number })[] = [];
        for (const r of rows) {
          if (r.start_ms >= cutoff) break;
          ready.push(r);
        }
        let i = 0;
        while (i < ready.length) {
          const period = Math.floor(ready[i]!.start_ms / periodMs) * periodMs;
          let j = i;
          while (j < ready.length && Math.floor(ready[j]!.start_ms / periodMs) * periodMs === period) j++;
          const segs = ready.slice(i, j);
          const { n } = db.prepare('SELECT COUNT(*) AS n FROM manifests WHERE camera_id = ? AND period_start_ms = ?').get(cameraId, period) as { n: number };
          this.sign(cameraId, period, n, segs, segs.at(-1)!.rid);
          count++;
          i = j;
        }
      }
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'could not sign footage manifests; will retry');
    }
    this.signed += count;
    return count;
  }

  private sign(cameraId: string, periodStart: number, part: number, rows: SegmentRow[], lastRowid: number): FootageManifest {
    const { catalogue, key, venueId, recordingsDir, periodSeconds } = this.opts;
    const file = join(recordingsDir, cameraId, 'manifests', manifestFileName(periodStart, part));
    const segments: ManifestSegment[] = rows.map((r) => {
      const rec = {
        id: r.id,
        cameraId,
        runId: r.run_id,
        start: new Date(r.start_ms).toISOString(),
        end: new Date(r.end_ms).toISOString(),
        bytes: r.bytes,
        sha256: r.sha256,
        hasAudio: r.has_audio === 1,
        prevHash: r.prev_hash!,
      };
      return { id: rec.id, runId: rec.runId, start: rec.start, end: rec.end, bytes: rec.bytes, sha256: rec.sha256, hasAudio: rec.hasAudio, prevHash: rec.prevHash, recordHash: recordHash(rec), file: relative(dirname(file), r.path) };
    });
    const manifest = signManifest({ venueId, cameraId, periodStart: new Date(periodStart).toISOString(), periodSeconds, supplement: part || undefined, segments }, key, 'agent');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.part`, `${JSON.stringify(manifest, null, 1)}\n`);
    renameSync(`${file}.part`, file);
    const message = encodeMessage('manifest', { venueId, manifest });
    catalogue.db.transaction(() => {
      catalogue.db
        .prepare('INSERT INTO manifests (camera_id, period_start_ms, part, file, chain_head, segments, signed_at, last_rowid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(cameraId, periodStart, part, file, manifest.chainHead, segments.length, manifest.signedAt, lastRowid);
      catalogue.enqueue({ id: message.id, topic: topics.manifest(venueId), payload: JSON.stringify(message) });
    })();
    this.opts.logger.info({ cameraId, periodStart: manifest.periodStart, supplement: part || undefined, segments: segments.length, file }, part ? 'signed supplementary footage manifest (late segments)' : 'signed footage manifest');
    return manifest;
  }

  /** Signed manifests in signing (= chain) order per camera. */
  list(cameraId?: string): { cameraId: string; periodStart: string; supplement: number; file: string; chainHead: string; segments: number }[] {
    const rows = (
      cameraId
        ? this.opts.catalogue.db.prepare('SELECT * FROM manifests WHERE camera_id = ? ORDER BY rowid').all(cameraId)
        : this.opts.catalogue.db.prepare('SELECT * FROM manifests ORDER BY camera_id, rowid').all()
    ) as { camera_id: string; period_start_ms: number; part: number; file: string; chain_head: string; segments: number }[];
    return rows.map((r) => ({ cameraId: r.camera_id, periodStart: new Date(r.period_start_ms).toISOString(), supplement: r.part, file: r.file, chainHead: r.chain_head, segments: r.segments }));
  }

  stop(): void {
    this.timer?.();
    this.timer = null;
  }
}
