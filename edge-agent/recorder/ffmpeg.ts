import ffmpeg from 'fluent-ffmpeg';
import { join } from 'node:path';
import { ffmpegPath, ffprobePath } from '../../config/binaries.ts';

/**
 * All ffmpeg handling of the venue box lives here (fluent-ffmpeg's upstream is archived: if it has
 * to go, only this file changes). One run = one ffmpeg process recording one camera's RTSP stream
 * into an HLS playlist of self-contained MPEG-TS segments. Video is copied, never re-encoded;
 * G.711 audio (which browsers cannot play) becomes AAC.
 */

export const PLAYLIST_NAME = 'index.m3u8';
export const SEGMENT_PATTERN = 'seg_%06d.ts';

/**
 * ffmpeg's RTSP demuxer gives the first keyframe no timestamps; this filter gives it 0 so the first
 * segment is not stretched and the muxer does not warn "Non-monotonous DTS" (see field notes).
 */
export const SETTS_FILTER = 'setts=pts=if(eq(PTS\\,NOPTS)\\,0\\,PTS):dts=if(eq(DTS\\,NOPTS)\\,0\\,DTS)';

export interface RecordingSpec {
  /** rtsp://host:port/path as the camera gave it; credentials are added here, url-encoded. */
  rtspUrl: string;
  username?: string;
  password?: string;
  transport: 'tcp' | 'udp';
  segmentSeconds: number;
  /** Folder of this run: the playlist and its segments go there. */
  dir: string;
}

export interface ExitInfo {
  /** True when we asked it to stop (SIGINT) and it did: the playlist is closed. */
  graceful: boolean;
  error: string | null;
}

export interface RecordingRun {
  /** ffmpeg's arguments with the credentials replaced by "***". */
  readonly args: string[];
  readonly playlist: string;
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  /** SIGINT (so the playlist gets #EXT-X-ENDLIST), then SIGKILL after `killAfterMs`. */
  stop(killAfterMs?: number): Promise<ExitInfo>;
}

/** Puts url-encoded credentials into an RTSP URL (replacing any it had). */
export function withCredentials(rtspUrl: string, username?: string, password?: string): string {
  const m = /^(rtsps?):\/\/(?:[^@/]*@)?(.*)$/i.exec(rtspUrl);
  if (!m) throw new Error(`not an RTSP URL: ${redact(rtspUrl)}`);
  if (!username) return `${m[1]}://${m[2]}`;
  return `${m[1]}://${encodeURIComponent(username)}:${encodeURIComponent(password ?? '')}@${m[2]}`;
}

/** Removes the user-info part of every URL in a string, for logs and errors. */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@');
}

export function recordingArgs(spec: RecordingSpec): { input: string; inputOptions: string[]; outputOptions: string[]; output: string } {
  return {
    input: withCredentials(spec.rtspUrl, spec.username, spec.password),
    // A short probe: ffmpeg buffers what it reads while probing, so a long probe only delays the
    // first segment (cameras announce their codecs in the SDP anyway).
    // No stats line: the camera's real frame rate comes from the segments' own timestamps
    // (ts-probe.ts), and each stats line was a wake-up of the agent per camera to parse it.
    // Warnings and errors only: at the info level the HLS muxer prints "Opening … for writing"
    // twice a segment, and reading those lines cost the agent a third of its CPU (docs/benchmarks.md).
    // The codecs, which ffmpeg lists only at info, come from the segments' PMT (ts-probe.ts).
    inputOptions: ['-nostdin', '-nostats', '-loglevel', 'warning', '-analyzeduration', '1000000', '-probesize', '1000000', '-rtsp_transport', spec.transport],
    outputOptions: [
      '-map', '0:v:0',
      '-map', '0:a:0?',
      '-c:v', 'copy',
      '-bsf:v', SETTS_FILTER,
      '-c:a', 'aac',
      // When the camera's audio stops mid-run, the muxer holds video back waiting for audio to
      // interleave with, by default up to 10 s: segments stall and the watchdog restarts a healthy
      // run. One second bounds that wait (live RTSP arrives interleaved well within it).
      '-max_interleave_delta', '1000000',
      '-f', 'hls',
      '-hls_time', String(spec.segmentSeconds),
      '-hls_list_size', '20',
      // temp_file: segments and playlist appear by rename, so the watcher never reads a half-written one.
      '-hls_flags', 'program_date_time+independent_segments+temp_file',
      '-hls_segment_type', 'mpegts',
      '-hls_segment_filename', join(spec.dir, SEGMENT_PATTERN),
    ],
    output: join(spec.dir, PLAYLIST_NAME),
  };
}

export function startRecording(spec: RecordingSpec, onStderr?: (line: string) => void): RecordingRun {
  const a = recordingArgs(spec);
  const command = ffmpeg(a.input)
    .setFfmpegPath(ffmpegPath())
    .inputOptions(a.inputOptions)
    .outputOptions(a.outputOptions)
    .output(a.output);

  let stopping = false;
  let resolveExit!: (e: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((r) => (resolveExit = r));

  if (onStderr) command.on('stderr', (line: string) => onStderr(redact(line)));
  command.on('end', () => {
    resolveExit({ graceful: true, error: null });
  });
  command.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
    // A SIGINT stop makes ffmpeg exit with 255 and fluent-ffmpeg call it an error: it is a normal end.
    if (stopping && /exited with code 255|killed with signal SIGINT/.test(err.message)) {
      resolveExit({ graceful: true, error: null });
      return;
    }
    const tail = redact(String(stderr ?? '')).trim().split('\n').slice(-3).join(' | ');
    resolveExit({ graceful: false, error: `${redact(err.message)}${tail ? `: ${tail}` : ''}` });
  });

  const proc = (): import('node:child_process').ChildProcess | undefined =>
    (command as unknown as { ffmpegProc?: import('node:child_process').ChildProcess }).ffmpegProc;

  command.run();

  return {
    args: [...a.inputOptions, '-i', redact(a.input), ...a.outputOptions, a.output],
    playlist: a.output,
    get pid() {
      return proc()?.pid;
    },
    exited,
    async stop(killAfterMs = 5000) {
      stopping = true;
      const p = proc();
      if (p && p.exitCode === null && p.signalCode === null) {
        p.kill('SIGINT');
        const timer = setTimeout(() => {
          if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        }, killAfterMs);
        const info = await exited;
        clearTimeout(timer);
        return info;
      }
      // Not spawned yet (fluent-ffmpeg checks capabilities first): wait for the spawn, then stop it.
      if (!p) {
        const spawned = await Promise.race([
          new Promise<boolean>((r) => command.once('start', () => r(true))),
          exited.then(() => false),
        ]);
        if (spawned) return this.stop(killAfterMs);
      }
      return exited;
    },
  };
}

export interface ProbeResult {
  streams: { type: string; codec: string }[];
  durationSeconds: number | null;
}

/** ffprobe of a file: codec of each stream (for checks and tests). */
export function probe(file: string): Promise<ProbeResult> {
  ffmpeg.setFfprobePath(ffprobePath());
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(file, (err: Error | null, data: ffmpeg.FfprobeData) => {
      if (err) return reject(err);
      resolve({
        streams: data.streams.map((s) => ({ type: s.codec_type ?? '', codec: s.codec_name ?? '' })),
        durationSeconds: typeof data.format.duration === 'number' ? data.format.duration : null,
      });
    });
  });
}
