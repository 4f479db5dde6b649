import type { CameraHealth, CameraInfo, CameraState } from '../../protocol/index.ts';
import type { FoundCamera } from '../discovery/discovery.ts';

/**
 * Per-camera health as the box sees it: derived from what discovery and the recorder report
 * (segments, restarts, ffmpeg's frame rate, the ONVIF clock). Pure bookkeeping, no I/O, so the
 * agent can ask for a snapshot whenever it publishes.
 */

interface Track {
  /** Recent segments (last hour) for bitrate and the recording rate. */
  segments: Array<{ endMs: number; seconds: number; bytes: number }>;
  reconnects: number[];
  fps: number | null;
  clockOffsetMs: number | null;
  hasAudio: boolean | null;
  /** When the current recorder run started (a fresh recorder is "starting", not "no stream"). */
  runStartedAt: number | null;
}

const HOUR = 3600_000;

export class CameraHealthTracker {
  private readonly tracks = new Map<string, Track>();

  constructor(
    private readonly opts: {
      /** |clock offset| above this is clock drift. */
      clockDriftMs: number;
      /** A segment older than this means the camera is not recording now. */
      staleSegmentMs: number;
    },
  ) {}

  private track(id: string): Track {
    let t = this.tracks.get(id);
    if (!t) {
      t = { segments: [], reconnects: [], fps: null, clockOffsetMs: null, hasAudio: null, runStartedAt: null };
      this.tracks.set(id, t);
    }
    return t;
  }

  segment(id: string, s: { start: string; end: string; bytes: number; hasAudio: boolean }): void {
    const t = this.track(id);
    const endMs = Date.parse(s.end);
    t.segments.push({ endMs, seconds: Math.max(0.001, (endMs - Date.parse(s.start)) / 1000), bytes: s.bytes });
    t.hasAudio = s.hasAudio;
    const cut = Date.now() - HOUR;
    while (t.segments.length && t.segments[0]!.endMs < cut) t.segments.shift();
  }

  /** A recorder (re)started: until its first segment or staleSegmentMs the camera is "starting". */
  recorderStarted(id: string): void {
    this.track(id).runStartedAt = Date.now();
  }

  reconnect(id: string): void {
    this.track(id).reconnects.push(Date.now());
  }

  fps(id: string, fps: number): void {
    if (Number.isFinite(fps) && fps >= 0) this.track(id).fps = Math.round(fps * 10) / 10;
  }

  clock(id: string, offsetMs: number): void {
    this.track(id).clockOffsetMs = Math.round(offsetMs);
  }

  clockOffset(id: string): number | null {
    return this.tracks.get(id)?.clockOffsetMs ?? null;
  }

  /** Bytes of footage per day at the rate of the last hour, over every camera. */
  bytesPerDay(): number {
    const cut = Date.now() - HOUR;
    let bytes = 0;
    let oldest = Date.now();
    for (const t of this.tracks.values()) {
      for (const s of t.segments) {
        if (s.endMs < cut) continue;
        bytes += s.bytes;
        oldest = Math.min(oldest, s.endMs - s.seconds * 1000);
      }
    }
    const spanMs = Math.max(60_000, Date.now() - oldest);
    return bytes === 0 ? 0 : (bytes / spanMs) * 24 * HOUR;
  }

  snapshot(info: CameraInfo, found: FoundCamera | null, now = Date.now()): CameraHealth {
    const t = this.track(info.id);
    t.reconnects = t.reconnects.filter((at) => at > now - HOUR);
    const last = t.segments.at(-1);
    const ageMs = last ? Math.max(0, now - last.endMs) : null;
    const recent = t.segments.filter((s) => s.endMs > now - 60_000);
    const seconds = recent.reduce((n, s) => n + s.seconds, 0);
    const bitrateKbps = seconds > 0 ? Math.round((recent.reduce((n, s) => n + s.bytes, 0) * 8) / seconds / 1000) : null;
    const recordingNow = info.recording && ageMs !== null && ageMs < this.opts.staleSegmentMs;
    const starting = !recordingNow && t.runStartedAt !== null && now - t.runStartedAt < this.opts.staleSegmentMs && (!last || last.endMs < t.runStartedAt);
    const state = starting && found?.description && !found.error ? 'starting' : this.state(info, found, recordingNow, t.clockOffsetMs);
    return {
      id: info.id,
      roomId: info.roomId,
      name: info.name,
      online: state === 'ok' || state === 'clock_drift',
      state,
      recording: recordingNow,
      fps: recordingNow ? t.fps : null,
      bitrateKbps: recordingNow ? bitrateKbps : null,
      lastSegmentAgeSeconds: ageMs === null ? null : Math.round(ageMs / 100) / 10,
      reconnectsLastHour: t.reconnects.length,
      clockOffsetMs: t.clockOffsetMs,
      hasAudio: t.hasAudio,
      lastError: info.lastError,
    };
  }

  private state(info: CameraInfo, found: FoundCamera | null, recordingNow: boolean, offset: number | null): CameraState {
    const err = info.lastError ?? '';
    if (found?.errorKind === 'auth' || /authentication failed/i.test(err)) return 'auth_failed';
    if (recordingNow) return offset !== null && Math.abs(offset) > this.opts.clockDriftMs ? 'clock_drift' : 'ok';
    if (found?.errorKind === 'unreachable' || found?.errorKind === 'timeout' || /connection refused|not reachable|cannot reach|timed out/i.test(err)) {
      return 'unreachable';
    }
    if (found?.description) return 'no_stream';
    return err ? 'error' : 'unknown';
  }
}
