import type { Logger } from 'pino';
import type { GapCause, GapRecord, SegmentRecord } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';
import type { RecorderFailure } from '../recorder/failure-cause.ts';
import { GapLog } from './gap-log.ts';

/**
 * Turns the stream of catalogued segments and recorder failures into gap rows with their cause.
 * A gap is the time between one segment's end and the next segment's start of the same camera;
 * its cause is the last failure the recorder reported in between (ffmpeg's error or the
 * watchdog). Time the agent itself was not running is found at start-up: from the camera's last
 * segment (or the last heartbeat, when the camera was already failing) to the agent's start.
 * Audio that disappears from a camera that sent it is a gap of its own kind.
 */

interface CameraState {
  lastEndMs: number | null;
  pending: { cause: GapCause; detail: string | null } | null;
  audioExpected: boolean;
  audioLostSince: number | null;
}

interface SavedPending {
  [cameraId: string]: { cause: GapCause; detail: string | null; sinceMs: number | null };
}

const ALIVE_KEY = 'continuity:alive';
const PENDING_KEY = 'continuity:pending';

export interface GapTrackerOptions {
  catalogue: Catalogue;
  venueId: string;
  thresholdSeconds: number;
  logger: Logger;
  heartbeatMs?: number;
  onGap?: (gap: GapRecord) => void;
}

export class GapTracker {
  readonly log: GapLog;
  private readonly cameras = new Map<string, CameraState>();
  private readonly thresholdMs: number;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly opts: GapTrackerOptions) {
    this.log = new GapLog(opts.catalogue, opts.venueId);
    this.thresholdMs = opts.thresholdSeconds * 1000;
  }

  private state(cameraId: string): CameraState {
    let st = this.cameras.get(cameraId);
    if (!st) {
      st = { lastEndMs: null, pending: null, audioExpected: false, audioLostSince: null };
      this.cameras.set(cameraId, st);
    }
    return st;
  }

  private add(gap: Parameters<GapLog['add']>[0]): void {
    if (gap.endMs - gap.startMs <= this.thresholdMs) return;
    const record = this.log.add(gap);
    this.opts.logger.warn(
      { cameraId: gap.cameraId, kind: gap.kind, cause: gap.cause, start: record.start, end: record.end, seconds: (gap.endMs - gap.startMs) / 1000 },
      'recording gap',
    );
    this.opts.onGap?.(record);
  }

  /**
   * Call once at start-up, before any recorder runs: records the time the agent was down for every
   * camera that had footage, and starts the heartbeat that dates the next such gap.
   */
  start(startedAtMs = Date.now()): void {
    const db = this.opts.catalogue.db;
    const alive = Number(this.opts.catalogue.getState(ALIVE_KEY) ?? NaN);
    let saved: SavedPending = {};
    try {
      saved = JSON.parse(this.opts.catalogue.getState(PENDING_KEY) ?? '{}') as SavedPending;
    } catch {
      saved = {};
    }
    const rows = db
      .prepare(
        `SELECT s.camera_id AS cameraId, s.end_ms AS endMs, s.has_audio AS hasAudio,
                (SELECT MAX(has_audio) FROM segments a WHERE a.camera_id = s.camera_id) AS everAudio
         FROM segments s
         WHERE s.end_ms = (SELECT MAX(end_ms) FROM segments m WHERE m.camera_id = s.camera_id)`,
      )
      .all() as { cameraId: string; endMs: number; hasAudio: number; everAudio: number }[];
    for (const r of rows) {
      const st = this.state(r.cameraId);
      let from = r.endMs;
      const before = saved[r.cameraId];
      // The camera was already failing when the agent went: that part keeps its own cause.
      if (before && Number.isFinite(alive) && alive > from) {
        this.add({ cameraId: r.cameraId, kind: 'video', cause: before.cause, startMs: from, endMs: alive, detail: before.detail });
        from = alive;
      }
      this.add({ cameraId: r.cameraId, kind: 'video', cause: 'agent_down', startMs: from, endMs: startedAtMs, detail: 'the venue agent was not running' });
      st.lastEndMs = Math.max(r.endMs, startedAtMs);
      // Until the recorder says otherwise, the wait for the first segment is start-up time.
      st.pending = { cause: 'agent_down', detail: 'the venue agent was starting' };
      st.audioExpected = r.everAudio === 1;
      st.audioLostSince = r.everAudio === 1 && r.hasAudio === 0 ? r.endMs : null;
    }
    this.persist();
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs ?? 1000);
  }

  private beat(): void {
    try {
      this.opts.catalogue.setState(ALIVE_KEY, String(Date.now()));
    } catch {
      // Catalogue closed during shutdown.
    }
  }

  private persist(): void {
    const out: SavedPending = {};
    for (const [id, st] of this.cameras) if (st.pending) out[id] = { ...st.pending, sinceMs: st.lastEndMs };
    try {
      this.opts.catalogue.setState(PENDING_KEY, JSON.stringify(out));
    } catch {
      // Catalogue closed during shutdown.
    }
  }

  /** The recorder of a camera stopped producing footage; the newest reason is the gap's cause. */
  noteFailure(cameraId: string, failure: Pick<RecorderFailure, 'cause' | 'detail'>): void {
    const st = this.state(cameraId);
    st.pending = { cause: failure.cause, detail: failure.detail };
    this.persist();
  }

  /** A segment was catalogued (call in recording order per camera). */
  onSegment(seg: Pick<SegmentRecord, 'cameraId' | 'start' | 'end' | 'hasAudio'>): void {
    const st = this.state(seg.cameraId);
    const startMs = Date.parse(seg.start);
    const endMs = Date.parse(seg.end);
    if (st.lastEndMs !== null && startMs > st.lastEndMs) {
      this.add({
        cameraId: seg.cameraId,
        kind: 'video',
        cause: st.pending?.cause ?? 'camera_offline',
        startMs: st.lastEndMs,
        endMs: startMs,
        detail: st.pending?.detail ?? 'the stream paused without the recorder failing',
      });
    }
    const hadPending = st.pending !== null;
    st.pending = null;
    st.lastEndMs = Math.max(st.lastEndMs ?? endMs, endMs);
    if (seg.hasAudio) {
      if (st.audioLostSince !== null) {
        this.add({ cameraId: seg.cameraId, kind: 'audio', cause: 'audio_lost', startMs: st.audioLostSince, endMs: startMs, detail: 'footage recorded without the camera\'s audio' });
      }
      st.audioLostSince = null;
      st.audioExpected = true;
    } else if (st.audioExpected && st.audioLostSince === null) {
      st.audioLostSince = startMs;
    }
    if (hadPending) this.persist();
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.beat();
  }
}
