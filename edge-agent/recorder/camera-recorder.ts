import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SegmentRecord } from '../../protocol/index.ts';
import { PlaylistWatcher } from './playlist-watcher.ts';
import { StallWatchdog } from './stall-watchdog.ts';
import { startRecording, type RecordingRun } from './ffmpeg.ts';
import type { Codecs } from './ts-probe.ts';
import { classifyFailure, type RecorderFailure } from './failure-cause.ts';

/**
 * Records one camera continuously: one ffmpeg run after another (each a new runId, so a restart is
 * a visible discontinuity), restarting after a crash or a stalled stream with a capped backoff.
 */

export interface CameraRecorderOptions {
  cameraId: string;
  rtspUrl: string;
  username?: string;
  password?: string;
  transport: 'tcp' | 'udp';
  segmentSeconds: number;
  restartDelayMs: number;
  recordingsDir: string;
  logger: Logger;
  known: (path: string) => boolean;
  onSegment: (segment: SegmentRecord & { path: string }) => void;
  onState: (state: { recording: boolean; codecs?: Codecs; error?: string | null }) => void;
  /** Frame rate of each new segment (from its video timestamps), for health. */
  onFps?: (fps: number) => void;
  /** No new segment for this long restarts the run (default 20 s or 8 segments). */
  watchdogMs?: number;
  /** Ceiling of the restart backoff (default 60 s). */
  maxRestartDelayMs?: number;
  /** A run ended badly or was restarted by the watchdog: the footage stops here, and why. */
  onFailure?: (failure: RecorderFailure) => void;
  /**
   * Playlist poll interval (default one segment duration; the agent reads once a catalogue commit)
   * and clock-anchor segments of each run (watcher default when absent).
   */
  catalogueIntervalMs?: number;
  clockAnchorSegments?: number;
}

const MAX_BACKOFF_MS = 60_000;
/**
 * Playlist poll while someone watches the camera live: each segment goes to the centre as it is
 * seen, so the poll adds up to its period to what the viewer waits (≤ 4 s in all, issue 5). Two
 * wake-ups a second cost ~0.1 % of a core here, for as long as someone watches.
 */
const LIVE_POLL_MS = 500;
/** The playlist lists 20 segments (ffmpeg.ts): a pass every 10 s still sees each 1 s segment. */
const MAX_POLL_MS = 10_000;

export class CameraRecorder {
  private run: RecordingRun | null = null;
  private watcher: PlaylistWatcher | null = null;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private paused = false;
  private live = false;
  /** Runs the watchdog restarted because no segment came. */
  watchdogRestarts = 0;
  /** ffmpeg arguments of the current run, credentials redacted. */
  lastArgs: string[] = [];
  runs = 0;

  constructor(private readonly opts: CameraRecorderOptions) {}

  get rtspUrl(): string {
    return this.opts.rtspUrl;
  }

  start(): void {
    this.loop = this.runOnce();
  }

  /**
   * Recording alone needs a segment once it is closed, not at once (it is catalogued every few
   * segments): the agent has the playlist read once a catalogue commit, on the box's grid with
   * every other camera's and the commit itself, which then carries what the pass found. On a box
   * that pays milliseconds for each wake-up, a pass every segment was most of what an agent with
   * one camera cost (docs/benchmarks.md). Live view wants each segment within half a second.
   */
  private pollMs(): number {
    const normal = Math.min(this.opts.catalogueIntervalMs ?? this.opts.segmentSeconds * 1000, MAX_POLL_MS);
    return this.live ? Math.min(normal, LIVE_POLL_MS) : normal;
  }

  /** Someone watches the camera live (a lease from the centre) or no longer does. */
  setLive(on: boolean): void {
    if (on === this.live) return;
    this.live = on;
    this.watcher?.setPollMs(this.pollMs());
  }

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    const o = this.opts;
    if (this.paused) {
      o.onState({ recording: false, error: this.pauseReason });
      const waiting = new Promise<void>((resolve) => (this.wake = resolve));
      // The last run's final segments are catalogued by now: pause() may return.
      this.pauseReached?.();
      this.pauseReached = null;
      await waiting;
      this.wake = null;
      return this.runOnce();
    }
    const runId = randomUUID();
    const dir = join(o.recordingsDir, o.cameraId, runId);
    mkdirSync(dir, { recursive: true });
    const log = o.logger.child({ runId });
    let hasAudio = false;
    let segments = 0;
    const run = startRecording(
      { rtspUrl: o.rtspUrl, username: o.username, password: o.password, transport: o.transport, segmentSeconds: o.segmentSeconds, dir },
      (line) => {
        if (/error|failed|unauthori[sz]ed|401/i.test(line)) log.debug({ ffmpeg: line }, 'ffmpeg says');
      },
    );
    this.run = run;
    this.runs++;
    this.lastArgs = run.args;
    log.info({ args: run.args.join(' ') }, 'recorder started');
    const watcher = new PlaylistWatcher({
      playlist: run.playlist,
      cameraId: o.cameraId,
      runId,
      hasAudio: () => hasAudio,
      known: o.known,
      onSegment: (s) => {
        segments++;
        if (segments === 1) {
          this.failures = 0;
          o.onState({ recording: true, error: null });
        }
        o.onSegment(s);
      },
      onError: (err) => log.warn({ err: err.message }, 'playlist watcher failed'),
      onFps: o.onFps,
      // Before the run's first onSegment, so that segment already knows whether the camera sends audio.
      onCodecs: (c) => {
        hasAudio = c.audio !== null;
        if (c.video === 'hevc') {
          log.warn({ videoCodec: c.video }, 'camera sends H.265 (HEVC): recorded as is, but browsers cannot play it; set the camera to H.264');
        }
        log.info({ videoCodec: c.video, audioCodec: c.audio }, 'stream codecs');
        o.onState({ recording: segments > 0, codecs: c });
      },
      pollMs: this.pollMs(),
      anchorSamples: o.clockAnchorSegments,
      onWritten: () => watchdog.arm(),
    });
    this.watcher = watcher;
    const watchdog = new StallWatchdog(watcher, this.stallMs, () => {
      this.watchdogRestarts++;
      log.warn({ stallMs: this.stallMs }, 'watchdog: no new segment; restarting the recorder');
      void run.stop(2000);
    });
    watcher.start();
    watchdog.arm();

    const exit = await run.exited;
    watchdog.stop();
    const stalled = watchdog.fired;
    await watcher.stop();
    this.run = null;
    this.watcher = null;
    if (this.stopped) {
      log.info({ segments }, 'recorder stopped');
      o.onState({ recording: false });
      return;
    }
    if (this.paused) {
      log.warn({ segments, reason: this.pauseReason }, 'recorder paused');
      return this.runOnce();
    }
    // After a run that recorded, reconnect at once (a reconnect loses at most the segment being
    // written); a run that recorded nothing backs off, doubling up to the ceiling.
    this.failures = segments > 0 ? 0 : this.failures + 1;
    const ceiling = o.maxRestartDelayMs ?? MAX_BACKOFF_MS;
    const delay = this.failures === 0 ? 0 : Math.min(ceiling, o.restartDelayMs * 2 ** (this.failures - 1));
    const error = stalled ? `watchdog: no segment for ${Math.round(this.stallMs / 1000)} s` : (exit.error ?? 'ffmpeg ended');
    log.warn({ err: error, segments, restartInMs: delay }, 'recorder ended; restarting');
    o.onFailure?.(classifyFailure(error, { stalled, at: new Date() }));
    o.onState({ recording: false, error: describeFfmpegError(error) });
    await new Promise<void>((resolve) => {
      this.restartTimer = setTimeout(resolve, delay);
      this.wake = resolve;
    });
    this.restartTimer = null;
    this.wake = null;
    return this.runOnce();
  }

  /** No new segment for this long restarts the run. */
  private get stallMs(): number {
    return this.opts.watchdogMs ?? Math.max(20_000, this.opts.segmentSeconds * 8_000);
  }

  private pauseReason: string | null = null;
  private pauseReached: (() => void) | null = null;

  /** True while paused on purpose (disk pressure): no ffmpeg runs until resume(). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** pid of the running ffmpeg, if any (tests count processes). */
  get pid(): number | undefined {
    return this.run?.pid;
  }

  /** Stops recording (SIGINT, playlist closed) until resume(); no restart in between. */
  async pause(reason: string): Promise<void> {
    if (this.paused || this.stopped) return;
    this.paused = true;
    this.pauseReason = reason;
    const reached = new Promise<void>((resolve) => (this.pauseReached = resolve));
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.run) await this.run.stop(3000);
    else this.wake?.();
    // Resolve once the recorder is idle (last segments catalogued), or give up waiting after 10 s.
    await Promise.race([reached, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pauseReason = null;
    this.wake?.();
  }

  private wake: (() => void) | null = null;

  /** Graceful stop: SIGINT so the playlist closes, final catalogue pass, SIGKILL if it hangs. */
  async stop(killAfterMs = 5000): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.wake?.();
    if (this.run) await this.run.stop(killAfterMs);
    await this.loop;
  }
}

/** Turns ffmpeg's last words into something an operator can act on. */
export function describeFfmpegError(error: string): string {
  if (/\b401 unauthori[sz]ed|unauthori[sz]ed/i.test(error)) return `RTSP authentication failed: check the camera's user name and password (${error})`;
  if (/connection refused/i.test(error)) return `RTSP connection refused: is the camera on and streaming? (${error})`;
  if (/\b404 not found|not found/i.test(error)) return `RTSP stream not found: check the stream URI (${error})`;
  return error.slice(0, 900);
}
