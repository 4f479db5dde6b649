import { createHash, randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SegmentRecord } from '../../protocol/index.ts';
import { everyTick } from '../schedule/shared-tick.ts';
import { TsProbe, type Codecs } from './ts-probe.ts';

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
 * One small read buffer for hashing, reused: fresh buffers per segment kept V8's garbage collector
 * busier than the hashing itself, and a buffer the size of a segment (~1 MB of 1080p) stays
 * resident for nothing between segments. Reads of ~128 KB cost the same CPU (docs/benchmarks.md).
 */
const hashBuffer = Buffer.allocUnsafeSlow(700 * 188); // whole TS packets: the probe carries nothing over

/**
 * Size, mtime and SHA-256 of a finished segment; null when the file is gone (retention).
 *
 * Synchronous on purpose: the file was just written, so it is in the page cache and the calls are
 * a few microseconds each, while each fs/promises call is a round trip through libuv's thread pool
 * and back (two thread wake-ups) — with open, stat, reads and close per segment, that was most of
 * what the agent spent per camera after the hashing itself.
 */
export function hashSegmentFile(path: string, inspect?: (chunk: Buffer) => void): { bytes: number; mtimeMs: number; sha256: string } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { mtimeMs } = fstatSync(fd);
    const hash = createHash('sha256');
    let bytes = 0;
    for (;;) {
      const n = readSync(fd, hashBuffer, 0, hashBuffer.length, null);
      if (n === 0) break;
      const chunk = n === hashBuffer.length ? hashBuffer : hashBuffer.subarray(0, n);
      hash.update(chunk);
      // The same bytes, seen as they are hashed (the audio probe): no second read.
      inspect?.(chunk);
      bytes += n;
      // A short read of a regular file is its end: no extra read to see 0.
      if (n < hashBuffer.length) break;
    }
    return { bytes, mtimeMs, sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
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
  /** The frame rate of each new segment, from its own timestamps (for health). */
  onFps?: (fps: number) => void;
  /** The run's codecs, once: from its first segment that has a PMT. */
  onCodecs?: (codecs: Codecs) => void;
  pollMs?: number;
  /** Segments held back at the start of a run to settle its clock correction. */
  anchorSamples?: number;
  /** A pass found a segment written later than any before it (lastWrittenAt moved on). */
  onWritten?: () => void;
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
  private cancelTick: (() => void) | null = null;
  /** The playlist as last read (inode, size, mtime): ffmpeg replaces it once per segment, polls come more often. */
  private lastPlaylist = '';
  private running: Promise<void> | null = null;
  private again = false;
  /** URIs of playlist entries already handled (catalogued, held, or known to the catalogue). */
  private readonly seen = new Set<string>();
  /** The playlist has been read once: entries new since then are new files. */
  private passedOnce = false;
  /** ms to add to PDT times; null until the run's first segments have been seen. */
  private correctionMs: number | null = null;
  private bound = Infinity;
  private samples = 0;
  private held: Observed[] = [];
  private final = false;
  private stopping = false;
  private codecsKnown = false;
  /**
   * When the newest segment found was written (its file's mtime; the watcher's start until then).
   * The watchdog goes by this, not by when a pass saw it: then how seldom the playlist is read
   * does not make a stall look longer or shorter.
   */
  lastWrittenAt = Date.now();

  constructor(private readonly opts: WatcherOptions) {}

  start(): void {
    // Latency costs little here (times come from the playlist and file mtimes), so poll gently.
    this.setPollMs(this.opts.pollMs ?? 1000);
  }

  /** Polls every `ms` from now on (live view asks for sooner segments than the catalogue needs). */
  setPollMs(ms: number): void {
    if (this.stopping) return;
    this.cancelTick?.();
    this.cancelTick = everyTick(ms, () => void this.poll());
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
    this.stopping = true;
    this.cancelTick?.();
    this.cancelTick = null;
    await this.running;
    this.final = true;
    await this.poll();
  }

  /** The run's clock correction in ms (null while it is still being settled). */
  get correction(): number | null {
    return this.correctionMs;
  }

  private async scan(): Promise<void> {
    // Synchronous reads: see hashSegmentFile.
    const st = statSync(this.opts.playlist, { throwIfNoEntry: false });
    if (!st) return; // no segment finished yet
    const version = `${st.ino}:${st.size}:${st.mtimeMs}`;
    // Unchanged since the last pass: nothing new is listed (the final pass looks anyway).
    if (version === this.lastPlaylist && !this.final) return;
    let text: string;
    try {
      text = readFileSync(this.opts.playlist, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.lastPlaylist = version;
    const dir = dirname(this.opts.playlist);
    const { entries } = parsePlaylist(text);
    const writtenBefore = this.lastWrittenAt;
    for (const e of entries) {
      if (this.seen.has(e.uri)) continue;
      const path = join(dir, basename(e.uri));
      // Only what the playlist listed at the first pass can be known already (ffmpeg names each new
      // segment anew): a catalogue query per new segment would find nothing.
      if (!this.passedOnce && this.opts.known(path)) {
        this.seen.add(e.uri);
        continue;
      }
      // Audio per segment, from the bytes read for the hash: audio lost mid-run shows here.
      const probe = new TsProbe();
      const file = hashSegmentFile(path, probe.push);
      if (!file) continue; // listed but gone (deleted by retention): nothing to catalogue
      if (file.bytes === 0) {
        // Not expected with temp_file; look again when the playlist next changes.
        this.lastPlaylist = '';
        continue;
      }
      const { bytes, mtimeMs: writtenAt, sha256 } = file;
      this.seen.add(e.uri);
      if (writtenAt > this.lastWrittenAt) this.lastWrittenAt = writtenAt;
      const fps = probe.fps();
      if (fps !== null) this.opts.onFps?.(fps);
      if (!this.codecsKnown) {
        const codecs = probe.codecs();
        if (codecs) {
          this.codecsKnown = true;
          this.opts.onCodecs?.(codecs);
        }
      }
      const observed = { entry: e, path, bytes, sha256, audio: probe.result() };
      if (this.correctionMs !== null) {
        this.emit(observed);
        continue;
      }
      this.bound = Math.min(this.bound, writtenAt - (e.startMs + e.durationSeconds * 1000));
      this.samples++;
      this.held.push(observed);
    }
    this.passedOnce = true;
    if (this.lastWrittenAt > writtenBefore) this.opts.onWritten?.();
    // Only what the playlist still lists can come again (a sliding window): a run that records for
    // weeks keeps a few dozen names, not every segment it ever made.
    if (this.seen.size > 2 * entries.length) {
      const listed = new Set(entries.map((e) => e.uri));
      for (const uri of this.seen) if (!listed.has(uri)) this.seen.delete(uri);
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
