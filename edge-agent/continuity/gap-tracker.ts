import type { Logger } from 'pino';
import type { GapCause, GapRecord, SegmentRecord } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';
import type { RecorderFailure } from '../recorder/failure-cause.ts';
import { everyTick } from '../schedule/shared-tick.ts';
import { GapLog, type OpenGap } from './gap-log.ts';

/**
 * Turns the stream of catalogued segments and recorder failures into gap rows with their cause.
 * A gap is the time between one segment's end and the next segment's start of the same camera;
 * its cause is the last failure the recorder reported in between (ffmpeg's error or the
 * watchdog). Time the agent itself was not running is found at start-up: from the camera's last
 * segment (or the last heartbeat, when the camera was already failing) to the agent's start.
 * Audio that disappears from a camera that sent it is a gap of its own kind, measured in footage:
 * its row opens once the footage without audio is longer than the threshold, and it ends where the
 * footage does. A camera that goes offline has a video gap, not also an audio one: the last
 * segment of a run often ends before its audio does (ffmpeg's AAC encoder holds ~0.1 s), and
 * that was once taken for audio lost for the whole outage.
 * A gap is a row while it is still going on: once the recorder has failed and the footage has
 * stopped for longer than the threshold, the heartbeat opens it (no end) and the centre hears of it
 * at once; the next segment closes the same row with its exact end (or withdraws it, when the hole
 * turned out no longer than the threshold).
 */

interface CameraState {
  lastEndMs: number | null;
  pending: { cause: GapCause; detail: string | null } | null;
  audioExpected: boolean;
  audioLostSince: number | null;
  openVideo: OpenGap | null;
  openAudio: OpenGap | null;
  /** Taken on (watch()) but no footage yet: lastEndMs is when, and only a failure makes a gap of the wait. */
  noFootageYet: boolean;
}

interface SavedPending {
  [cameraId: string]: { cause: GapCause; detail: string | null; sinceMs: number | null };
}

const ALIVE_KEY = 'continuity:alive';
const AUDIO_LOST = "footage recorded without the camera's audio";
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
  private heartbeat: (() => void) | null = null;
  private started = false;

  constructor(private readonly opts: GapTrackerOptions) {
    this.log = new GapLog(opts.catalogue, opts.venueId);
    this.thresholdMs = opts.thresholdSeconds * 1000;
  }

  private state(cameraId: string): CameraState {
    let st = this.cameras.get(cameraId);
    if (!st) {
      st = { lastEndMs: null, pending: null, audioExpected: false, audioLostSince: null, openVideo: null, openAudio: null, noFootageYet: false };
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
        `SELECT s.camera_id AS cameraId, s.end_ms AS endMs,
                (SELECT MAX(has_audio) FROM segments a WHERE a.camera_id = s.camera_id) AS everAudio
         FROM segments s
         WHERE s.end_ms = (SELECT MAX(end_ms) FROM segments m WHERE m.camera_id = s.camera_id)`,
      )
      .all() as { cameraId: string; endMs: number; everAudio: number }[];
    // A camera that never recorded here but was failing when the agent went (saved with the time
    // the agent took it on): its failure ran from then, as if its footage had ended there.
    for (const [cameraId, p] of Object.entries(saved)) {
      if (p.sinceMs !== null && !rows.some((r) => r.cameraId === cameraId)) rows.push({ cameraId, endMs: p.sinceMs, everAudio: 0 });
    }
    const leftOpen = this.log.openGaps();
    const seen = new Set<string>();
    for (const r of rows) {
      const st = this.state(r.cameraId);
      seen.add(r.cameraId);
      let from = r.endMs;
      const before = saved[r.cameraId];
      const openVideo = leftOpen.find((g) => g.cameraId === r.cameraId && g.kind === 'video');
      if (openVideo) {
        // The gap the last run left open ends where the agent stopped; agent_down takes over.
        const end = Number.isFinite(alive) ? Math.max(alive, openVideo.startMs) : startedAtMs;
        this.finish(openVideo, end, before?.cause ?? openVideo.cause, before?.detail ?? openVideo.detail);
        from = Math.max(from, end);
      } else if (before && Number.isFinite(alive) && alive > from) {
        // The camera was already failing when the agent went: that part keeps its own cause.
        this.add({ cameraId: r.cameraId, kind: 'video', cause: before.cause, startMs: from, endMs: alive, detail: before.detail });
        from = alive;
      }
      const downTooShort = startedAtMs - from <= this.thresholdMs;
      this.add({ cameraId: r.cameraId, kind: 'video', cause: 'agent_down', startMs: from, endMs: startedAtMs, detail: 'the venue agent was not running' });
      // Until the recorder says otherwise, the wait for the first segment is start-up time. A
      // downtime too short to be a gap on its own is the same hole: it grows from where footage ended,
      // or a restart of 1.5 s plus a start-up of 1.5 s would be no gap at all.
      st.lastEndMs = downTooShort ? from : Math.max(r.endMs, startedAtMs);
      st.pending = { cause: 'agent_down', detail: downTooShort ? 'the venue agent was restarting' : 'the venue agent was starting' };
      st.audioExpected = r.everAudio === 1;
      // The footage ended with the agent: so did any footage without audio. The next footage tells
      // whether the audio is there.
      const openAudio = leftOpen.find((g) => g.cameraId === r.cameraId && g.kind === 'audio');
      if (openAudio) this.finish(openAudio, Math.max(r.endMs, openAudio.startMs), 'audio_lost', AUDIO_LOST);
      st.audioLostSince = null;
    }
    // Open rows of cameras without footage cannot be dated further: close them where the agent stopped.
    for (const g of leftOpen) {
      if (!seen.has(g.cameraId)) this.finish(g, Number.isFinite(alive) ? Math.max(alive, g.startMs) : startedAtMs, g.cause, g.detail);
    }
    this.persist();
    this.started = true;
    this.beat(true);
  }

  /**
   * The heartbeat runs only while some camera is failing: all it does is date that failure and open
   * its row once it is longer than the threshold (audio rows open as footage comes, onSegment). A box whose cameras
   * all record is then not woken by it at all (schedule/shared-tick.ts).
   */
  private pulse(): void {
    let failing = false;
    for (const st of this.cameras.values()) if (st.pending || st.openVideo) failing = true;
    if (failing && this.started && !this.heartbeat) this.heartbeat = everyTick(this.opts.heartbeatMs ?? 1000, () => this.beat());
    else if ((!failing || !this.started) && this.heartbeat) {
      this.heartbeat();
      this.heartbeat = null;
    }
  }

  /**
   * Opens rows of gaps that grew past the threshold, and notes the time the agent was alive. That
   * time dates only the end of a failure the agent was already in when it went (start() uses it
   * with a saved pending cause or an open row, nothing else), so it is written only while some
   * camera is failing: a box whose cameras all record writes nothing a second (each write is a
   * SQLite commit, with its locks and WAL pages).
   */
  private beat(always = false): void {
    const now = Date.now();
    try {
      let failing = false;
      for (const st of this.cameras.values()) if (st.pending || st.openVideo || st.openAudio) failing = true;
      if (failing || always) this.opts.catalogue.setState(ALIVE_KEY, String(now));
      for (const [cameraId, st] of this.cameras) this.openIfLong(cameraId, st, now);
    } catch {
      // Catalogue closed during shutdown.
    }
    this.pulse();
  }

  /** Opens the row of a gap that is already longer than the threshold and still going on. */
  private openIfLong(cameraId: string, st: CameraState, now: number): void {
    if (st.pending && !st.openVideo && st.lastEndMs !== null && now - st.lastEndMs > this.thresholdMs) {
      st.openVideo = this.log.open({ cameraId, kind: 'video', cause: st.pending.cause, startMs: st.lastEndMs, detail: st.pending.detail });
      this.opts.logger.warn({ cameraId, kind: 'video', cause: st.pending.cause, start: new Date(st.lastEndMs).toISOString() }, 'recording gap open: no footage from this camera');
      this.endAudio(cameraId, st, st.lastEndMs);
    }
  }

  /** Opens the audio row once the footage recorded without audio is longer than the threshold. */
  private openAudioIfLong(cameraId: string, st: CameraState): void {
    if (st.audioLostSince === null || st.openAudio || st.lastEndMs === null) return;
    if (st.lastEndMs - st.audioLostSince <= this.thresholdMs) return;
    st.openAudio = this.log.open({ cameraId, kind: 'audio', cause: 'audio_lost', startMs: st.audioLostSince, detail: AUDIO_LOST });
    this.opts.logger.warn({ cameraId, kind: 'audio', start: new Date(st.audioLostSince).toISOString() }, 'audio gap open: footage without the camera\'s audio');
  }

  /** The footage stopped at `endMs` (a video gap): footage without audio, if any, stopped there too. */
  private endAudio(cameraId: string, st: CameraState, endMs: number): void {
    if (st.openAudio) {
      this.finish(st.openAudio, Math.max(endMs, st.openAudio.startMs), 'audio_lost', AUDIO_LOST);
      st.openAudio = null;
    } else if (st.audioLostSince !== null) {
      this.add({ cameraId, kind: 'audio', cause: 'audio_lost', startMs: st.audioLostSince, endMs, detail: AUDIO_LOST });
    }
    st.audioLostSince = null;
  }

  /** Closes an open row at endMs, or withdraws it if it turned out no longer than the threshold. */
  private finish(open: OpenGap, endMs: number, cause: GapCause, detail: string | null): void {
    if (endMs - open.startMs <= this.thresholdMs) {
      this.log.withdraw(open);
      this.opts.logger.info({ cameraId: open.cameraId, kind: open.kind }, 'open gap withdrawn: footage resumed within the threshold');
      return;
    }
    const record = this.log.close(open, endMs, cause, detail);
    this.opts.logger.warn(
      { cameraId: open.cameraId, kind: open.kind, cause, start: record.start, end: record.end, seconds: (endMs - open.startMs) / 1000 },
      'recording gap closed',
    );
    this.opts.onGap?.(record);
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

  /**
   * The box takes on a camera (found or configured): from now on, footage it misses is a gap. A
   * camera with footage here is already covered by start(); one that never recorded here has no
   * footage to measure from, so its gaps are measured from this moment, or a camera that fails from
   * the first day (a wrong password, an unreachable address) would have no gap rows, only holes
   * without a cause at the centre. Its first footage after a start-up without failures is no gap.
   */
  watch(cameraId: string, atMs = Date.now()): void {
    const st = this.state(cameraId);
    if (st.lastEndMs !== null) return;
    st.lastEndMs = atMs;
    st.noFootageYet = true;
  }

  /** The recorder of a camera stopped producing footage; the newest reason is the gap's cause. */
  noteFailure(cameraId: string, failure: Pick<RecorderFailure, 'cause' | 'detail'>): void {
    const st = this.state(cameraId);
    st.pending = { cause: failure.cause, detail: failure.detail };
    this.persist();
    try {
      // The heartbeat has not been writing while every camera recorded: date the agent now.
      this.opts.catalogue.setState(ALIVE_KEY, String(Date.now()));
      this.openIfLong(cameraId, st, Date.now());
    } catch {
      // Catalogue closed during shutdown.
    }
    this.pulse();
  }

  /** A segment was catalogued (call in recording order per camera). */
  onSegment(seg: Pick<SegmentRecord, 'cameraId' | 'start' | 'end' | 'hasAudio'>): void {
    const st = this.state(seg.cameraId);
    const startMs = Date.parse(seg.start);
    const endMs = Date.parse(seg.end);
    if (st.openVideo) {
      // The footage is back: the open row ends where this segment starts (audio ended when it opened).
      this.finish(st.openVideo, Math.max(startMs, st.openVideo.startMs), st.pending?.cause ?? st.openVideo.cause, st.pending?.detail ?? st.openVideo.detail);
      st.openVideo = null;
    } else if (st.lastEndMs !== null && startMs > st.lastEndMs && !(st.noFootageYet && !st.pending)) {
      if (startMs - st.lastEndMs > this.thresholdMs) this.endAudio(seg.cameraId, st, st.lastEndMs);
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
    st.noFootageYet = false;
    st.lastEndMs = Math.max(st.lastEndMs ?? endMs, endMs);
    if (seg.hasAudio) {
      if (st.openAudio) {
        this.finish(st.openAudio, Math.max(startMs, st.openAudio.startMs), 'audio_lost', AUDIO_LOST);
        st.openAudio = null;
      } else if (st.audioLostSince !== null) {
        this.add({ cameraId: seg.cameraId, kind: 'audio', cause: 'audio_lost', startMs: st.audioLostSince, endMs: startMs, detail: AUDIO_LOST });
      }
      st.audioLostSince = null;
      st.audioExpected = true;
    } else if (st.audioExpected && st.audioLostSince === null) {
      st.audioLostSince = startMs;
    }
    this.openAudioIfLong(seg.cameraId, st);
    if (hadPending) this.persist();
    this.pulse();
  }

  stop(): void {
    this.started = false;
    this.beat(true);
  }
}
