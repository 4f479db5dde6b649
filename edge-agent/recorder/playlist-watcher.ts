import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SegmentRecord } from '../../protocol/index.ts';

/**
 * Follows one run's HLS playlist and turns each completed segment into a catalogue record once.
 * ffmpeg lists a segment only after closing it, and with temp_file the playlist itself appears by
 * rename, so every entry read is a complete file. Times come from EXT-X-PROGRAM-DATE-TIME (the
 * box's wall clock when the segment started) plus EXTINF.
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

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
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
}

export class PlaylistWatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly seen = new Set<string>();
  lastSegmentAt = Date.now();

  constructor(private readonly opts: WatcherOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 500);
  }

  /** One pass; passes never overlap. */
  poll(): Promise<void> {
    if (!this.running) {
      this.running = this.scan()
        .catch((err: Error) => this.opts.onError(err))
        .finally(() => (this.running = null));
    }
    return this.running;
  }

  /** Stops polling after a final pass (call once ffmpeg has exited and closed the playlist). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.poll();
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
      try {
        bytes = (await stat(path)).size;
      } catch {
        continue; // listed but gone (deleted by retention): nothing to catalogue
      }
      if (bytes === 0) continue;
      const sha256 = await sha256File(path);
      this.seen.add(path);
      this.lastSegmentAt = Date.now();
      this.opts.onSegment({
        id: randomUUID(),
        cameraId: this.opts.cameraId,
        runId: this.opts.runId,
        start: new Date(e.startMs).toISOString(),
        end: new Date(e.startMs + Math.max(1, Math.round(e.durationSeconds * 1000))).toISOString(),
        bytes,
        sha256,
        hasAudio: this.opts.hasAudio(),
        path,
      });
    }
  }
}
