import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CameraId, type SegmentRecord } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';
import { PLAYLIST_NAME } from './ffmpeg.ts';
import { hashSegmentFile, parsePlaylist } from './playlist-watcher.ts';
import { ptsDeltaMs, TsProbe } from './ts-probe.ts';

/**
 * Footage on disk that the catalogue does not know: what a recorder left running by a killed agent
 * wrote until the next start reaped it (orphan-recorders.ts), and the last segments of a run whose
 * watcher died with the agent. At start-up, after the reaping and before any recorder runs, each
 * such segment is hashed and returned in recording order so the agent can chain and catalogue it
 * like any other: no footage on disk stays invisible to the catalogue, the centre or `verify`.
 *
 * Times: the playlist lists only the last 20 segments (hls_list_size), so a segment is dated from
 * its first video PTS relative to an anchor of the same run (same ffmpeg, one continuous 90 kHz
 * clock): a segment of the run the catalogue already dated, else a playlist entry (with the
 * watcher's mtime correction), else the file's mtime. Runs whose segment count matches the
 * catalogue are skipped after one directory read and one indexed count.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEGMENT = /^seg_(\d+)\.ts$/;

type Found = SegmentRecord & { path: string };

interface Probed {
  name: string;
  num: number;
  path: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
  probe: TsProbe;
}

function dirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** What the TS packets of a file say (video PTS, audio), without hashing it. */
function probeOnly(path: string): TsProbe {
  const probe = new TsProbe();
  probe.push(readFileSync(path));
  return probe;
}

/** Uncatalogued segments of one run folder, dated; [] when the catalogue knows them all. */
async function runOrphans(catalogue: Catalogue, cameraId: string, runId: string, dir: string, logger: Logger): Promise<Found[]> {
  const names = readdirSync(dir)
    .filter((n) => SEGMENT.test(n))
    .sort((a, b) => Number(SEGMENT.exec(a)![1]) - Number(SEGMENT.exec(b)![1]));
  if (names.length === 0) return [];
  const prefix = join(dir, '/');
  const { n: known } = catalogue.db.prepare('SELECT COUNT(*) AS n FROM segments WHERE path >= ? AND path < ?').get(prefix, `${prefix}\uffff`) as { n: number };
  if (known >= names.length) return [];
  const startOf = catalogue.db.prepare('SELECT start_ms AS startMs FROM segments WHERE path = ?');
  const unknown: Probed[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (catalogue.hasSegmentPath(path)) continue;
    // Hashed and probed in one read, as the watcher does.
    const probe = new TsProbe();
    const file = hashSegmentFile(path, probe.push);
    if (!file || file.bytes === 0) continue;
    unknown.push({ name, num: Number(SEGMENT.exec(name)![1]), path, bytes: file.bytes, mtimeMs: file.mtimeMs, sha256: file.sha256, probe });
  }
  const dated = unknown.filter((u) => u.probe.firstVideoPts !== null);
  for (const u of unknown.filter((x) => x.probe.firstVideoPts === null)) logger.warn({ cameraId, runId, file: u.path }, 'orphaned footage without a readable video timestamp: left uncatalogued; check the file');
  if (dated.length === 0) return [];

  let playlist = new Map<string, { startMs: number; durationSeconds: number }>();
  try {
    playlist = new Map(parsePlaylist(readFileSync(join(dir, PLAYLIST_NAME), 'utf8')).entries.map((e) => [e.uri.split('/').pop()!, e]));
  } catch {
    // no playlist (never written, or removed): other anchors below
  }

  // The anchor: (wall-clock ms, first video PTS) of one segment of this run.
  let anchor: { ms: number; pts: number } | null = null;
  const catalogued = names.filter((n) => !unknown.some((u) => u.name === n)).reverse();
  for (const name of catalogued) {
    const row = startOf.get(join(dir, name)) as { startMs: number } | undefined;
    if (!row) continue;
    try {
      const probe = probeOnly(join(dir, name));
      if (probe.firstVideoPts !== null) {
        anchor = { ms: row.startMs, pts: probe.firstVideoPts };
        break;
      }
    } catch {
      // removed by retention meanwhile
    }
  }
  if (!anchor) {
    const listed = dated.filter((u) => playlist.has(u.name));
    if (listed.length > 0) {
      // As the watcher does: ffmpeg stamps PDT late; mtime − PDT end bounds that from above.
      const bound = Math.min(...listed.map((u) => u.mtimeMs - (playlist.get(u.name)!.startMs + playlist.get(u.name)!.durationSeconds * 1000)));
      const first = listed[0]!;
      anchor = { ms: playlist.get(first.name)!.startMs + Math.min(0, Math.round(bound)), pts: first.probe.firstVideoPts! };
    } else {
      // ffmpeg writes a segment's last bytes when the next one starts: mtime ≈ its end.
      const last = dated.at(-1)!;
      anchor = { ms: Math.round(last.mtimeMs - spanMs(last.probe)), pts: last.probe.firstVideoPts! };
    }
  }
  const a = anchor;
  const startMs = (u: Probed) => Math.round(a.ms + ptsDeltaMs(a.pts, u.probe.firstVideoPts!));
  const out: Found[] = [];
  for (let i = 0; i < dated.length; i++) {
    const u = dated[i]!;
    const start = startMs(u);
    const next = dated[i + 1];
    const nextKnown = startOf.get(join(dir, `seg_${String(u.num + 1).padStart(6, '0')}.ts`)) as { startMs: number } | undefined;
    let end: number;
    if (next && next.num === u.num + 1) end = startMs(next);
    else if (nextKnown) end = nextKnown.startMs;
    else if (playlist.has(u.name)) end = start + Math.round(playlist.get(u.name)!.durationSeconds * 1000);
    else end = start + Math.round(spanMs(u.probe));
    out.push({
      id: randomUUID(),
      cameraId,
      runId,
      start: new Date(start).toISOString(),
      end: new Date(Math.max(start + 1, end)).toISOString(),
      bytes: u.bytes,
      sha256: u.sha256,
      hasAudio: u.probe.result() ?? false,
      path: u.path,
    });
  }
  return out;
}

/** A segment's duration from its video: first to last frame, plus one frame. */
function spanMs(p: TsProbe): number {
  const span = p.videoSpanTicks / 90;
  return p.videoFrames > 1 ? span + span / (p.videoFrames - 1) : 1000;
}

/**
 * Finds every uncatalogued segment under the recordings folder and hands each camera's to
 * `catalogue` in recording order (which chains and stores it). Returns how many were catalogued.
 */
export async function catalogueOrphanFootage(opts: {
  recordingsDir: string;
  catalogue: Catalogue;
  add: (segment: Found) => boolean;
  logger: Logger;
}): Promise<number> {
  const { recordingsDir, catalogue, logger } = opts;
  let total = 0;
  for (const cameraId of dirs(recordingsDir)) {
    if (!CameraId.safeParse(cameraId).success) continue;
    const found: Found[] = [];
    for (const runId of dirs(join(recordingsDir, cameraId))) {
      if (!UUID.test(runId)) continue; // manifests/ and anything not a recorder run
      try {
        const segs = await runOrphans(catalogue, cameraId, runId, join(recordingsDir, cameraId, runId), logger);
        if (segs.length === 0) continue;
        found.push(...segs);
        catalogue.setState(`orphan-footage:${runId}`, JSON.stringify({ cameraId, segments: segs.length, from: segs[0]!.start, to: segs.at(-1)!.end, cataloguedAt: new Date().toISOString() }));
        logger.warn({ cameraId, runId, segments: segs.length, from: segs[0]!.start, to: segs.at(-1)!.end }, 'catalogued footage the catalogue did not know (written by a recorder the previous agent left running)');
      } catch (err) {
        logger.error({ cameraId, runId, err: (err as Error).message }, 'could not read a recordings folder for uncatalogued footage; it stays on disk, check the folder');
      }
    }
    found.sort((x, y) => Date.parse(x.start) - Date.parse(y.start));
    for (const s of found) if (opts.add(s)) total++;
  }
  return total;
}
