import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import { recordHash, signManifest, type SigningKey } from '../../protocol/integrity.ts';
import { encodeMessage, topics, type FootageManifest, type ManifestSegment } from '../../protocol/index.ts';
import type { Catalogue, SegmentRow } from '../catalogue/catalogue.ts';

/**
 * Signs a manifest of every camera's footage per period (an hour by default) once the period is
 * over: all segment records in chain order with their hashes, the chain head, the agent's Ed25519
 * signature. Each manifest is written beside the footage (<recordings>/<camera>/manifests/) for
 * offline `npm run verify`, kept in the catalogue, and sent to the centre through the outbox.
 */

const schema = `
CREATE TABLE IF NOT EXISTS manifests (
  camera_id TEXT NOT NULL,
  period_start_ms INTEGER NOT NULL,
  file TEXT NOT NULL,
  chain_head TEXT NOT NULL,
  segments INTEGER NOT NULL,
  signed_at TEXT NOT NULL,
  PRIMARY KEY (camera_id, period_start_ms)
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

export const manifestFileName = (periodStartMs: number): string => `${new Date(periodStartMs).toISOString().replace(/[:.]/g, '-')}.json`;

export class ManifestSigner {
  private timer: NodeJS.Timeout | null = null;
  signed = 0;

  constructor(private readonly opts: ManifestSignerOptions) {
    opts.catalogue.db.exec(schema);
  }

  start(): void {
    const every = Math.min(30_000, Math.max(500, (this.opts.periodSeconds * 1000) / 4));
    this.timer = setInterval(() => this.run(), every);
  }

  /** Signs every finished period not yet signed; returns how many manifests it wrote. */
  run(now = Date.now()): number {
    const { catalogue, periodSeconds, graceMs } = this.opts;
    const periodMs = periodSeconds * 1000;
    const db = catalogue.db;
    let count = 0;
    try {
      const cameras = db.prepare('SELECT DISTINCT camera_id AS id FROM segments WHERE prev_hash IS NOT NULL').all() as { id: string }[];
      for (const { id: cameraId } of cameras) {
        const last = db.prepare('SELECT MAX(period_start_ms) AS p FROM manifests WHERE camera_id = ?').get(cameraId) as { p: number | null };
        const from = last.p === null ? 0 : last.p + periodMs;
        const rows = db
          .prepare('SELECT * FROM segments WHERE camera_id = ? AND prev_hash IS NOT NULL AND start_ms >= ? AND start_ms < ? ORDER BY rowid')
          .all(cameraId, from, Math.floor((now - graceMs) / periodMs) * periodMs) as SegmentRow[];
        const byPeriod = new Map<number, SegmentRow[]>();
        for (const r of rows) {
          const p = Math.floor(r.start_ms / periodMs) * periodMs;
          byPeriod.set(p, [...(byPeriod.get(p) ?? []), r]);
        }
        for (const [periodStart, segs] of [...byPeriod].sort((a, b) => a[0] - b[0])) {
          this.sign(cameraId, periodStart, segs);
          count++;
        }
      }
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'could not sign footage manifests; will retry');
    }
    this.signed += count;
    return count;
  }

  private sign(cameraId: string, periodStart: number, rows: SegmentRow[]): FootageManifest {
    const { catalogue, key, venueId, recordingsDir, periodSeconds } = this.opts;
    const file = join(recordingsDir, cameraId, 'manifests', manifestFileName(periodStart));
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
    const manifest = signManifest({ venueId, cameraId, periodStart: new Date(periodStart).toISOString(), periodSeconds, segments }, key, 'agent');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.part`, `${JSON.stringify(manifest, null, 1)}\n`);
    renameSync(`${file}.part`, file);
    const message = encodeMessage('manifest', { venueId, manifest });
    catalogue.db.transaction(() => {
      catalogue.db
        .prepare('INSERT INTO manifests (camera_id, period_start_ms, file, chain_head, segments, signed_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(cameraId, periodStart, file, manifest.chainHead, segments.length, manifest.signedAt);
      catalogue.enqueue({ id: message.id, topic: topics.manifest(venueId), payload: JSON.stringify(message) });
    })();
    this.opts.logger.info({ cameraId, periodStart: manifest.periodStart, segments: segments.length, file }, 'signed footage manifest');
    return manifest;
  }

  list(cameraId?: string): { cameraId: string; periodStart: string; file: string; chainHead: string; segments: number }[] {
    const rows = (
      cameraId
        ? this.opts.catalogue.db.prepare('SELECT * FROM manifests WHERE camera_id = ? ORDER BY period_start_ms').all(cameraId)
        : this.opts.catalogue.db.prepare('SELECT * FROM manifests ORDER BY camera_id, period_start_ms').all()
    ) as { camera_id: string; period_start_ms: number; file: string; chain_head: string; segments: number }[];
    return rows.map((r) => ({ cameraId: r.camera_id, periodStart: new Date(r.period_start_ms).toISOString(), file: r.file, chainHead: r.chain_head, segments: r.segments }));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
