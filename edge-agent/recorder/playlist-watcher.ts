import { createHash, randomUUID } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SegmentRecord } from '../../protocol/index.ts';
import { TsProbe } from './ts-probe.ts';

/**
 * Follows one run's HLS playlist and turns each completed segment into a catalogue record once.
 * ffmpeg lists a segment only after closing it, and with temp_file the playlist itself appears by
 * rename, so every entry read is a complete file. Times come from EXT-X-PROGRAM-DATE-TIME plus
 * EXTINF, corrected per run: ffmpeg stamps the first segment when its muxer starts, after probing
 * the input, so its clock can run seconds late. ffmpeg writes a segment's last bytes when the frame
 * that starts the next one arrives, so (the file's mtime − its PDT end) bounds that error from above
 * to within milliseconds; the smallest bound over the run's first segments is the run's correction.
 * (fs.watch would tell us sooner but fires on every write ffmpeg makes: a measurable CPU cost.)
 */

export interface PlaylistEntry {
  uri: string;
  startMs: number;
  durationSeconds: number;
}

export function parsePlaylist(text: string): { entries: PlaylistEntry[]; ended: boolean } {
  const entries: PlaylistEntry[] = [];
  let pdt: number | null = null;
  let duration: number | null = null;
  let ended = false;
  // Only whole lines: a line without its newline may still be being written.
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop();
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      const t = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
      pdt = Number.isNaN(t) ? null : t;
    } else if (line.startsWith('#EXTINF:')) {
      const d = Number.parseFloat(line.slice('#EXTINF:'.length));
      duration = Number.isFinite(d) && d > 0 ? d : null;
    } else if (line === '#EXT-X-ENDLIST') {
      ended = true;
    } else if (line && !line.startsWith('#')) {
      if (pdt !== null && duration !== null) entries.push({ uri: line, startMs: pdt, durationSeconds: duration });
      else if (duration !== null && entries.length > 0) {
        // No PDT on this entry: it follows the previous one without a gap.
        const prev = entries[entries.length - 1]!;
        entries.push({ uri: line, startMs: prev.startMs + Math.round(prev.durationSeconds * 1000), durationSeconds: duration });
      }
      pdt = null;
      duration = null;
    }
  }
  return { entries, ended };
}

/**
 * Reusable read buffers for hashing. Each recorded second of 1080p is ~0.5 MB read back and
 * hashed; fresh buffers for it kept V8's garbage collector busier than the hashing itself, which
 * showed as the agent's largest cost per camera (docs/benchmarks.md).
 */
const HASH_BUFFER_BYTES = 1 << 20;
const idleBuffers: Buffer[] = [];

/** `inspect` sees the same bytes as they are hashed (audio probe), in order. */
export async function sha256File(path: string, inspect?: (chunk: Buffer) => void): Promise<string> {
  const hash = createHash('sha256');
  const buffer = idleBuffers.pop() ?? Buffer.allocUnsafe(HASH_BUFFER_BYTES);
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      inspect?.(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
    if (idleBuffers.length < 16) idleBuffers.push(buffer);
  }
  return hash.digest('hex');
}

export interface WatcherOptions {
  playlist: string;
  cameraId: string;
  runId: string;
  hasAudio: () => boolean;
  /** Already catalogued? (so a restart of the watcher never adds a file twice) */
  known: (path: string) => boolean;
  onSegment: (segment: SegmentRecord & { path: string }) => void;
  onError: (err: Error) => void;
  pollMs?: number;
  /** Segments held back at the start of a run to settle its clock correction. */
  anchorSamples?: number;
}

interface Observed {
  entry: PlaylistEntry;
  path: string;
  bytes: number;
  sha256: string;
  /** Audio packets in this segment (null: its bytes could not tell). */
  audio: boolean | null;
}

export class PlaylistWatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private readonly seen = new Set<string>();
  /** ms to add to PDT times; null until the run's first segments have been seen. */
  private correctionMs: number | null = null;
  private bound = Infinity;
  private samples = 0;
  private held: Observed[] = [];
  private final = false;
  lastSegmentAt = Date.now();

  constructor(private readonly opts: WatcherOptions) {}

  start(): void {
    // Latency costs nothing here (times come from the playlist and file mtimes), so poll gently.
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 1000);
  }

  /** One pass; passes never overlap, and a request during a pass runs another right after. */
  poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.scan()
      .catch((err: Error) => this.opts.onError(err))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          void this.poll();
        }
      });
    return this.running;
  }

  /** Stops polling after a final pass (call once ffmpeg has exited and closed the playlist). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    this.final = true;
    await this.poll();
  }

  /** The run's clock correction in ms (null while it is still being settled). */
  get correction(): number | null {
    return this.correctionMs;
  }

  private async scan(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.opts.playlist, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // no segment finished yet
      throw err;
    }
    const dir = dirname(this.opts.playlist);
    for (const e of parsePlaylist(text).entries) {
      const path = join(dir, basename(e.uri));
      if (this.seen.has(path)) continue;
      if (this.opts.known(path)) {
        this.seen.add(path);
        continue;
      }
      let bytes: number;
      let writtenAt: number;
      try {
        ({ size: bytes, mtimeMs: writtenAt } = await stat(path));
      } catch {
        continue; // listed but gone (deleted by retention): nothing to catalogue
      }
      if (bytes === 0) continue;
      // Audio per segment, from the bytes read for the hash: audio lost mid-run shows here.
      const probe = new TsProbe();
      const sha256 = await sha256File(path, probe.push);
      this.seen.add(path);
      this.lastSegmentAt = Date.now();
      const observed = { entry: e, path, bytes, sha256, audio: probe.result() };
      if (this.correctionMs !== null) {
        this.emit(observed);
        continue;
      }
      this.bound = Math.min(this.bound, writtenAt - (e.startMs + e.durationSeconds * 1000));
      this.samples++;
      this.held.push(observed);
    }
    if (this.correctionMs === null && this.held.length > 0 && (this.final || this.samples >= (this.opts.anchorSamples ?? 3))) {
      // Only ever move times earlier: a late bound (a busy box) must not push footage into the future.
      this.correctionMs = Math.min(0, Math.round(this.bound));
      for (const o of this.held.splice(0)) this.emit(o);
    }
  }

  private emit({ entry: e, path, bytes, sha256, audio }: Observed): void {
    const startMs = e.startMs + (this.correctionMs ?? 0);
    this.opts.onSegment({
      id: randomUUID(),
      cameraId: this.opts.cameraId,
      runId: this.opts.runId,
      start: new Date(startMs).toISOString(),
      end: new Date(startMs + Math.max(1, Math.round(e.durationSeconds * 1000))).toISOString(),
      bytes,
      sha256,
      hasAudio: audio ?? this.opts.hasAudio(),
      path,
    });
  }
}
