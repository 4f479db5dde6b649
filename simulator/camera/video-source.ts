import { spawn, type ChildProcess } from 'node:child_process';
import pino, { type Logger } from 'pino';
import { ffmpegPath } from '../../config/binaries.ts';
import { barcodeFilters, clockTextFilter } from './clock-barcode.ts';

/**
 * The picture and sound of one virtual camera: an ffmpeg process that renders a test pattern with
 * the machine-readable clock (clock-barcode.ts) and a human-readable one, encodes H.264 (or H.265)
 * with a one-second GOP plus G.711 µ-law audio like real cameras, and publishes it into the
 * simulator's RTSP server over TCP. If ffmpeg dies on its own it is started again; stop()/pause()
 * make the camera go dark on purpose.
 */

export interface VideoSourceOptions {
  /** rtsp://127.0.0.1:<port>/<path> to publish to. */
  publishUrl: string;
  width?: number;
  height?: number;
  fps?: number;
  codec?: 'h264' | 'h265';
  /** G.711 µ-law 8 kHz mono sine tone (default true). */
  audio?: boolean;
  /** Video bitrate in kbit/s (default 400). */
  bitrateKbps?: number;
  /** Seconds between keyframes (default 1): shorter lets a reconnecting recorder start sooner. */
  keyframeSeconds?: number;
  /** Shifts the burned-in clock (barcode and text) against the machine clock, for drift tests. */
  clockOffsetMs?: number;
  /** Text drawn before the clock (ASCII only; others are dropped). */
  label?: string;
  /** Delay before restarting a crashed ffmpeg (default 1000 ms). */
  restartDelayMs?: number;
  logger?: Logger;
}

export interface VideoSource {
  start(): void;
  /** Stops ffmpeg (SIGINT, SIGKILL after 3 s) and resolves when it has exited. No restart follows. */
  stop(): Promise<void>;
  /** Same as stop(): the camera stops sending until resume(). */
  pause(): Promise<void>;
  resume(): void;
  readonly running: boolean;
  /** Process id of the running ffmpeg, if any. */
  readonly pid: number | null;
  /** Number of times ffmpeg was (re)started. */
  readonly starts: number;
  /** Wall-clock time (ms, with the clock offset) the current ffmpeg run was started at; its barcode reads the clock frame by frame. */
  readonly epochStartMs: number | null;
  /** Resolves once the process is spawned and has published for `ms` milliseconds without dying. */
  waitRunning(ms?: number): Promise<void>;
}

export function buildFfmpegArgs(o: Required<Pick<VideoSourceOptions, 'publishUrl' | 'width' | 'height' | 'fps' | 'codec' | 'audio' | 'bitrateKbps'>> & { label?: string; keyframeSeconds?: number }, epochStartSeconds: number, clockOffsetSeconds = 0): string[] {
  const size = { width: o.width, height: o.height };
  const filters = [...barcodeFilters(clockOffsetSeconds, size)];
  const text = clockTextFilter(epochStartSeconds, size, o.label);
  if (text) filters.push(text);
  filters.push('format=yuv420p');
  const gop = String(Math.max(1, Math.round(o.fps * (o.keyframeSeconds ?? 1))));
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`];
  if (o.audio) args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=1000:beep_factor=2:sample_rate=8000:samples_per_frame=320');
  args.push('-map', '0:v');
  if (o.audio) args.push('-map', '1:a');
  args.push('-vf', filters.join(','));
  const rate = `${o.bitrateKbps}k`;
  if (o.codec === 'h265') {
    args.push('-c:v', 'libx265', '-preset', 'ultrafast', '-tune', 'zerolatency', '-x265-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0:repeat-headers=1:log-level=error`);
  } else {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-x264-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0`);
  }
  args.push('-g', gop, '-b:v', rate, '-maxrate', rate, '-bufsize', `${o.bitrateKbps * 2}k`);
  if (o.audio) args.push('-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1');
  args.push('-f', 'rtsp', '-rtsp_transport', 'tcp', o.publishUrl);
  return args;
}

export function startVideoSource(options: VideoSourceOptions): VideoSource {
  const o = {
    keyframeSeconds: options.keyframeSeconds,
    publishUrl: options.publishUrl,
    width: options.width ?? 640,
    height: options.height ?? 360,
    fps: options.fps ?? 15,
    codec: options.codec ?? 'h264',
    audio: options.audio ?? true,
    bitrateKbps: options.bitrateKbps ?? 400,
    label: options.label,
  } as const;
  const log = (options.logger ?? pino({ name: 'video-source' })).child({ component: 'video-source', url: o.publishUrl });
  const restartDelay = options.restartDelayMs ?? 1000;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let wanted = false;
  let restartTimer: NodeJS.Timeout | null = null;
  let starts = 0;
  let epochStartMs: number | null = null;
  let spawnedAt = 0;

  function spawnOnce(): void {
    restartTimer = null;
    if (!wanted || child) return;
    // Only the human-readable clock counts from here (it lags by ffmpeg's start-up, which is fine
    // for people); the barcode that tests read takes the wall clock as each frame is drawn.
    epochStartMs = Date.now() + (options.clockOffsetMs ?? 0);
    const args = buildFfmpegArgs(o, epochStartMs / 1000, (options.clockOffsetMs ?? 0) / 1000);
    const proc = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    starts++;
    spawnedAt = Date.now();
    let stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        if (child === proc) child = null;
        if (wanted) {
          log.warn({ code, signal, stderr: stderr.trim().split('\n').slice(-5).join('\n') }, 'ffmpeg exited unexpectedly: restarting');
          restartTimer = setTimeout(spawnOnce, restartDelay);
        } else {
          log.debug({ code, signal }, 'ffmpeg stopped');
        }
        resolve();
      });
    });
    proc.once('error', (err) => log.error({ err: err.message }, 'ffmpeg failed to start'));
    log.info({ pid: proc.pid, codec: o.codec, size: `${o.width}x${o.height}`, fps: o.fps, audio: o.audio }, 'ffmpeg started');
  }

  async function stop(): Promise<void> {
    wanted = false;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = null;
    const proc = child;
    if (!proc) return exited;
    proc.kill('SIGINT');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
  }

  function start(): void {
    if (wanted) return;
    wanted = true;
    spawnOnce();
  }

  start();
  return {
    start,
    stop,
    pause: stop,
    resume: start,
    get running() {
      return child !== null;
    },
    get starts() {
      return starts;
    },
    get pid() {
      return child?.pid ?? null;
    },
    get epochStartMs() {
      return epochStartMs;
    },
    async waitRunning(ms = 500) {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if (child && Date.now() - spawnedAt >= ms) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`ffmpeg publishing to ${o.publishUrl} did not stay up`);
    },
  };
}
