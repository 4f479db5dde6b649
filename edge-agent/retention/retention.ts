import { randomUUID } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { encodeMessage, topics } from '../../protocol/index.ts';
import { limitSql, type Catalogue } from '../catalogue/catalogue.ts';
import type { HoldBook } from './holds.ts';
import { everyTick } from '../schedule/shared-tick.ts';

/**
 * Keeps the venue disk from filling without ever touching held footage:
 * 1. unheld footage older than the rolling window (retention.windowDays) is removed;
 * 2. while free space is below the watermark (retention.minFreeMB), the oldest unheld segment of
 *    any camera is removed first;
 * 3. when only held footage is left and space is still short, recording of cameras whose footage
 *    is not held right now pauses (held rooms keep recording) and a disk_full alarm goes to the
 *    centre; both end once space is back above the watermark plus a margin.
 * Every removal is a row: which segment (camera, time, bytes, SHA-256, file), when, and why.
 */

export type RemovalReason = 'retention_window' | 'disk_watermark';

export interface Removal {
  segmentId: string;
  cameraId: string;
  start: string;
  end: string;
  bytes: number;
  sha256: string;
  path: string;
  removedAt: string;
  reason: RemovalReason;
  freeBytesBefore: number;
}

export interface PausableCamera {
  cameraId: string;
  roomId: string | null;
  recorder: { pause(reason: string): Promise<void>; resume(): void; readonly isPaused: boolean } | null;
}

export interface RetentionOptions {
  config: EdgeAgentConfig;
  catalogue: Catalogue;
  holds: HoldBook;
  logger: Logger;
  /** A path on the disk that holds the footage (the data folder). */
  diskPath: string;
  cameras: () => PausableCamera[];
  /** A camera was paused for lack of space (its coming gap's cause is disk_full). */
  onPaused?: (cameraId: string, reason: string) => void;
}

const schema = `
CREATE TABLE IF NOT EXISTS removals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  segment_id TEXT NOT NULL,
  camera_id TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  path TEXT NOT NULL,
  removed_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  free_bytes_before INTEGER NOT NULL
);
`;

interface Candidate {
  id: string;
  camera_id: string;
  room_id: string | null;
  path: string;
  start_ms: number;
  end_ms: number;
  bytes: number;
  sha256: string;
}

const MB = 1024 * 1024;
const ALARM_KEY = 'retention:alarm';

export class Retention {
  /** Stops its periodic run (on the box's shared timer, schedule/shared-tick.ts). */
  private timer: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private readonly paused = new Set<string>();
  private alarm: { alarmId: string; raisedAt: string } | null = null;
  private readonly log: Logger;
  /** Checks run (tests wait on it). */
  checks = 0;

  constructor(private readonly opts: RetentionOptions) {
    opts.catalogue.db.exec(schema);
    this.log = opts.logger.child({ part: 'retention' });
    const saved = opts.catalogue.getState(ALARM_KEY);
    if (saved) this.alarm = JSON.parse(saved) as { alarmId: string; raisedAt: string };
  }

  start(): void {
    // Up to half a period late, to share the commit's wake-up (shared-tick.ts): the watermark is
    // gigabytes, a few seconds of recording are megabytes, and a disk-full failure checks at once.
    const periodMs = this.opts.config.retention.checkSeconds * 1000;
    this.timer = everyTick(periodMs, () => void this.check(), { slackMs: periodMs / 2 });
    void this.check();
  }

  freeBytes(): number {
    const s = statfsSync(this.opts.diskPath);
    return Number(s.bavail) * Number(s.bsize);
  }

  /** One pass; passes never overlap. */
  check(): Promise<void> {
    this.running ??= this.pass()
      .catch((err: Error) => this.log.error({ err: err.message }, 'retention pass failed'))
      .finally(() => {
        this.running = null;
        this.checks++;
      });
    return this.running;
  }

  get pausedCameras(): string[] {
    return [...this.paused];
  }

  get alarmActive(): boolean {
    return this.alarm !== null;
  }

  removals(): Removal[] {
    return (this.opts.catalogue.db.prepare('SELECT * FROM removals ORDER BY seq').all() as {
      segment_id: string;
      camera_id: string;
      start_ms: number;
      end_ms: number;
      bytes: number;
      sha256: string;
      path: string;
      removed_at: string;
      reason: RemovalReason;
      free_bytes_before: number;
    }[]).map((r) => ({
      segmentId: r.segment_id,
      cameraId: r.camera_id,
      start: new Date(r.start_ms).toISOString(),
      end: new Date(r.end_ms).toISOString(),
      bytes: r.bytes,
      sha256: r.sha256,
      path: r.path,
      removedAt: r.removed_at,
      reason: r.reason,
      freeBytesBefore: r.free_bytes_before,
    }));
  }

  /** Oldest segments first, a page at a time, with their camera's room. */
  private page(afterStartMs: number, afterId: string, endBeforeMs: number, limit = 200): Candidate[] {
    return this.opts.catalogue.db
      .prepare(
        `SELECT s.id, s.camera_id, c.room_id, s.path, s.start_ms, s.end_ms, s.bytes, s.sha256
         FROM segments s LEFT JOIN cameras c ON c.id = s.camera_id
         WHERE (s.start_ms > ? OR (s.start_ms = ? AND s.id > ?)) AND s.end_ms <= ?
         ORDER BY s.start_ms, s.id ${limitSql(limit)}`,
      )
      .all(afterStartMs, afterStartMs, afterId, endBeforeMs) as Candidate[];
  }

  private async remove(c: Candidate, reason: RemovalReason, freeBefore: number): Promise<void> {
    const db = this.opts.catalogue.db;
    // Record first: a crash between the two leaves an orphan file, never an unexplained loss.
    db.transaction(() => {
      db.prepare(
        'INSERT INTO removals (segment_id, camera_id, start_ms, end_ms, bytes, sha256, path, removed_at, reason, free_bytes_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(c.id, c.camera_id, c.start_ms, c.end_ms, c.bytes, c.sha256, c.path, new Date().toISOString(), reason, freeBefore);
      db.prepare('DELETE FROM segments WHERE id = ?').run(c.id);
    })();
    await unlink(c.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.log.warn({ path: c.path, err: err.message }, 'could not delete a removed segment file');
    });
  }

  private async pass(): Promise<void> {
    const { retention } = this.opts.config;
    const held = this.opts.holds.matcher();
    const isHeld = (c: Candidate) => held({ cameraId: c.camera_id, roomId: c.room_id, startMs: c.start_ms, endMs: c.end_ms });

    // 1. Rolling window.
    const cutoff = Date.now() - retention.windowDays * 86_400_000;
    let cursor = { start: -Infinity, id: '' };
    let windowRemoved = 0;
    for (;;) {
      const page = this.page(cursor.start === -Infinity ? Number.MIN_SAFE_INTEGER : cursor.start, cursor.id, cutoff);
      if (page.length === 0) break;
      for (const c of page) {
        if (!isHeld(c)) {
          await this.remove(c, 'retention_window', this.freeBytes());
          windowRemoved++;
        }
      }
      const last = page.at(-1)!;
      cursor = { start: last.start_ms, id: last.id };
    }
    if (windowRemoved > 0) this.log.info({ removed: windowRemoved, windowDays: retention.windowDays }, 'removed unheld footage older than the retention window');

    // 2. Watermark: oldest unheld first.
    const minFree = retention.minFreeMB * MB;
    let free = this.freeBytes();
    if (free < minFree) {
      let removed = 0;
      let bytes = 0;
      cursor = { start: Number.MIN_SAFE_INTEGER, id: '' };
      outer: for (;;) {
        const page = this.page(cursor.start, cursor.id, Number.MAX_SAFE_INTEGER);
        if (page.length === 0) break;
        for (const c of page) {
          if (isHeld(c)) continue;
          await this.remove(c, 'disk_watermark', free);
          removed++;
          bytes += c.bytes;
          free = this.freeBytes();
          if (free >= minFree) break outer;
        }
        const last = page.at(-1)!;
        cursor = { start: last.start_ms, id: last.id };
      }
      if (removed > 0) this.log.warn({ removed, bytes, freeBytes: free, minFreeBytes: minFree }, 'disk below the watermark: removed the oldest unheld footage');
    }

    // 3. Only held footage left and still short: pause unheld rooms, raise the alarm.
    if (free < minFree) {
      const newlyPaused: string[] = [];
      for (const cam of this.opts.cameras()) {
        if (!cam.recorder || cam.recorder.isPaused) continue;
        if (this.opts.holds.heldNow(cam.cameraId, cam.roomId)) continue;
        const reason = `recording paused: free space ${(free / MB).toFixed(1)} MB is below the ${retention.minFreeMB} MB watermark and only held footage is left`;
        await cam.recorder.pause(reason);
        // After the pause: the run's last segments are catalogued, so the next gap starts there.
        this.opts.onPaused?.(cam.cameraId, reason);
        this.paused.add(cam.cameraId);
        newlyPaused.push(cam.cameraId);
      }
      if (newlyPaused.length > 0 || !this.alarm) {
        this.alarm ??= { alarmId: randomUUID(), raisedAt: new Date().toISOString() };
        this.opts.catalogue.setState(ALARM_KEY, JSON.stringify(this.alarm));
        this.sendAlarm(true, free, `venue disk below the ${retention.minFreeMB} MB watermark with only held footage left: recording of ${this.paused.size} unheld camera(s) paused; free space or add disk`);
        this.log.error({ freeBytes: free, paused: [...this.paused] }, 'disk full of held footage: recording of unheld rooms paused');
      }
    } else if (this.alarm && free >= minFree + retention.resumeMarginMB * MB) {
      for (const cam of this.opts.cameras()) {
        if (this.paused.has(cam.cameraId)) cam.recorder?.resume();
      }
      this.paused.clear();
      this.sendAlarm(false, free, 'free space is back above the watermark: recording resumed');
      this.log.info({ freeBytes: free }, 'disk space recovered: recording resumed');
      this.alarm = null;
      this.opts.catalogue.setState(ALARM_KEY, '');
      this.opts.catalogue.db.prepare('DELETE FROM state WHERE key = ?').run(ALARM_KEY);
    }
  }

  private sendAlarm(active: boolean, free: number, detail: string): void {
    const venueId = this.opts.config.venue.id;
    const message = encodeMessage('alarm', {
      venueId,
      alarmId: this.alarm!.alarmId,
      kind: 'disk_full',
      active,
      raisedAt: this.alarm!.raisedAt,
      detail,
      pausedCameras: [...this.paused],
      freeBytes: Math.max(0, Math.floor(free)),
    });
    this.opts.catalogue.enqueue({ id: message.id, topic: topics.alarm(venueId), payload: JSON.stringify(message) });
  }

  async stop(): Promise<void> {
    this.timer?.();
    this.timer = null;
    await this.running;
  }
}
