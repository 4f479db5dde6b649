import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SegmentRecord } from '../../protocol/index.ts';
import { PlaylistWatcher } from './playlist-watcher.ts';
import { startRecording, type Codecs, type RecordingRun } from './ffmpeg.ts';

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
  /** Frame rate from ffmpeg's progress line, for health. */
  onFps?: (fps: number) => void;
}

const MAX_BACKOFF_MS = 60_000;

export class CameraRecorder {
  private run: RecordingRun | null = null;
  private watcher: PlaylistWatcher | null = null;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
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

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    const o = this.opts;
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
      o.onFps,
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
    });
    this.watcher = watcher;
    watcher.start();
    void run.codecs.then((c) => {
      if (!c.video) return;
      hasAudio = c.audio !== null;
      if (c.video === 'hevc' || c.video === 'h265') {
        log.warn({ videoCodec: c.video }, 'camera sends H.265 (HEVC): recorded as is, but browsers cannot play it; set the camera to H.264');
      }
      log.info({ videoCodec: c.video, audioCodec: c.audio }, 'stream codecs');
      o.onState({ recording: segments > 0, codecs: c });
    });

    // A camera that stops sending leaves ffmpeg waiting forever: restart it when no segment comes.
    const stallMs = Math.max(20_000, o.segmentSeconds * 8_000);
    this.stallTimer = setInterval(() => {
      if (Date.now() - watcher.lastSegmentAt > stallMs) {
        log.warn({ stallMs }, 'no new segment: restarting the recorder');
        void run.stop(3000);
      }
    }, 1000);

    const exit = await run.exited;
    if (this.stallTimer) clearInterval(this.stallTimer);
    await watcher.stop();
    this.run = null;
    this.watcher = null;
    if (this.stopped) {
      log.info({ segments }, 'recorder stopped');
      o.onState({ recording: false });
      return;
    }
    this.failures = segments > 0 ? 1 : this.failures + 1;
    const delay = Math.min(MAX_BACKOFF_MS, o.restartDelayMs * 2 ** (this.failures - 1));
    const error = exit.error ?? 'ffmpeg ended';
    log.warn({ err: error, segments, restartInMs: delay }, 'recorder ended; restarting');
    o.onState({ recording: false, error: describeFfmpegError(error) });
    await new Promise<void>((resolve) => {
      this.restartTimer = setTimeout(resolve, delay);
      this.wake = resolve;
    });
    this.restartTimer = null;
    this.wake = null;
    return this.runOnce();
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
  if (/401|unauthori[sz]ed/i.test(error)) return `RTSP authentication failed: check the camera's user name and password (${error})`;
  if (/connection refused/i.test(error)) return `RTSP connection refused: is the camera on and streaming? (${error})`;
  if (/404|not found/i.test(error)) return `RTSP stream not found: check the stream URI (${error})`;
  return error.slice(0, 900);
}
