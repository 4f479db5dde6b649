import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { ReconcileResponse, type UploadWindow } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';
import { httpRequest } from '../http/http-request.ts';

/**
 * After an outage (and every footageTransfer.reconcileSeconds) the box and the centre compare
 * notes: every segment of the current windows that the box believes uploaded is sent as (id,
 * SHA-256) and the centre answers which it does not hold intact. Those are marked not uploaded, so
 * the uploader sends them again (idempotent by id at the centre). The centre thus ends with every
 * held segment, checked by hash, even if it lost files or a database restore rolled it back.
 */

const BATCH = 2000;

export interface ReconcilerOptions {
  config: EdgeAgentConfig;
  catalogue: Catalogue;
  logger: Logger;
  windows: () => UploadWindow[];
  /** Called when segments were marked for upload again. */
  onRequeued: () => void;
}

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  /** Passes completed and segments requeued (tests, health). */
  passes = 0;
  requeued = 0;

  constructor(private readonly opts: ReconcilerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.opts.config.footageTransfer.reconcileSeconds * 1000);
  }

  /** One pass; returns how many segments were requeued (passes never overlap). */
  run(): Promise<number> {
    this.running ??= this.pass()
      .catch((err: Error) => {
        this.opts.logger.warn({ err: err.message }, 'reconcile with the centre failed; will retry');
        return 0;
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<number> {
    const { catalogue, config } = this.opts;
    const ids = new Map<string, string>();
    for (const w of this.opts.windows()) {
      const rows = catalogue.db
        .prepare(
          `SELECT s.id, s.sha256 FROM segments s JOIN cameras c ON c.id = s.camera_id
           WHERE c.room_id = ? AND s.uploaded_at IS NOT NULL AND s.start_ms < ? AND s.end_ms > ?`,
        )
        .all(w.roomId, w.to === null ? Number.MAX_SAFE_INTEGER : Date.parse(w.to), Date.parse(w.from)) as { id: string; sha256: string }[];
      for (const r of rows) ids.set(r.id, r.sha256);
    }
    const all = [...ids].map(([id, sha256]) => ({ id, sha256 }));
    let requeued = 0;
    for (let i = 0; i < all.length; i += BATCH) {
      const res = await httpRequest(new URL('/api/ingest/reconcile', config.centre.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${config.centre.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ segments: all.slice(i, i + BATCH) }),
        timeoutMs: 60_000,
      });
      if (!res.ok) throw new Error(`centre answered ${res.status} to reconcile: ${res.text().slice(0, 200)}`);
      const { missing } = ReconcileResponse.parse(res.json());
      const mark = catalogue.db.prepare('UPDATE segments SET uploaded_at = NULL WHERE id = ?');
      catalogue.db.transaction(() => {
        for (const id of missing) mark.run(id);
      })();
      requeued += missing.length;
    }
    this.passes++;
    this.requeued += requeued;
    if (requeued > 0) {
      this.opts.logger.warn({ requeued, checked: all.length }, 'reconcile: the centre lacks segments it was sent; uploading them again');
      this.opts.onRequeued();
    }
    return requeued;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
