import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PlaylistWatcher } from '../../edge-agent/recorder/playlist-watcher.ts';
import type { SegmentRecord } from '../../protocol/index.ts';
import { scratchDir } from './agent-fixture.ts';

describe('playlist watcher clock correction', () => {
  const scratch = scratchDir('watcher');
  afterEach(() => scratch.remove());

  function playlist(dir: string, startMs: number, count: number): void {
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2'];
    for (let i = 0; i < count; i++) {
      writeFileSync(join(dir, `seg_${i}.ts`), Buffer.alloc(188, i + 1));
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(startMs + i * 2000).toISOString()}`, '#EXTINF:2.000000,', `seg_${i}.ts`);
    }
    writeFileSync(join(dir, 'index.m3u8'), `${lines.join('\n')}\n`);
  }

  it('moves a run whose ffmpeg stamped it late back to when its segments were seen, keeping them contiguous', async () => {
    const dir = join(scratch.dir, 'run');
    mkdirSync(dir, { recursive: true });
    const got: SegmentRecord[] = [];
    const watcher = new PlaylistWatcher({
      playlist: join(dir, 'index.m3u8'),
      cameraId: 'v.cam',
      runId: crypto.randomUUID(),
      hasAudio: () => true,
      known: () => false,
      onSegment: (s) => got.push(s),
      onError: (err) => { throw err; },
      anchorSamples: 3,
    });
    // ffmpeg claims the three segments ended 2.5 s from now: impossible, they are listed already.
    const lateStart = Date.now() + 2500 - 3 * 2000;
    playlist(dir, lateStart, 3);
    await watcher.poll();
    expect(got).toHaveLength(3);
    expect(watcher.correction).toBeLessThanOrEqual(-2400);
    expect(watcher.correction).toBeGreaterThan(-3000);
    expect(Date.parse(got[2]!.end)).toBeLessThanOrEqual(Date.now());
    for (let i = 1; i < got.length; i++) expect(got[i]!.start).toBe(got[i - 1]!.end);
    await watcher.stop();
  });

  it('leaves honest times alone and holds nothing back once settled', async () => {
    const dir = join(scratch.dir, 'run2');
    mkdirSync(dir, { recursive: true });
    const got: SegmentRecord[] = [];
    const watcher = new PlaylistWatcher({
      playlist: join(dir, 'index.m3u8'), cameraId: 'v.cam', runId: crypto.randomUUID(), hasAudio: () => false,
      known: () => false, onSegment: (s) => got.push(s), onError: (err) => { throw err; }, anchorSamples: 2,
    });
    const start = Date.now() - 10_000;
    playlist(dir, start, 2);
    await watcher.poll();
    expect(watcher.correction).toBe(0);
    expect(got.map((s) => Date.parse(s.start))).toEqual([start, start + 2000]);
    playlist(dir, start, 3);
    await watcher.poll();
    expect(got).toHaveLength(3);
    expect(Date.parse(got[2]!.start)).toBe(start + 4000);
    await watcher.stop();
  });
});

describe('playlist watcher hashing', () => {
  const scratch = scratchDir('watcher-hash');
  afterEach(() => scratch.remove());

  it('reports the size and SHA-256 of segments larger than its read buffer, and picks up entries added later', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const dir = join(scratch.dir, 'run');
    mkdirSync(dir, { recursive: true });
    const got: (SegmentRecord & { path: string })[] = [];
    const watcher = new PlaylistWatcher({
      playlist: join(dir, 'index.m3u8'), cameraId: 'v.cam', runId: crypto.randomUUID(), hasAudio: () => true,
      known: () => false, onSegment: (s) => got.push(s), onError: (err) => { throw err; }, anchorSamples: 1,
    });
    // 1 MiB is the first read buffer: these are larger, and each larger than the one before.
    const bodies = [randomBytes(1.5 * 2 ** 20), randomBytes(3.2 * 2 ** 20)];
    const start = Date.now() - 10_000;
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2'];
    for (const [i, body] of bodies.entries()) {
      writeFileSync(join(dir, `seg_${i}.ts`), body);
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(start + i * 2000).toISOString()}`, '#EXTINF:2.000000,', `seg_${i}.ts`);
      writeFileSync(join(dir, 'index.m3u8'), `${lines.join('\n')}\n`);
      await watcher.poll();
      // A pass over an unchanged playlist finds nothing new.
      await watcher.poll();
    }
    await watcher.stop();
    expect(got.map((s) => s.bytes)).toEqual(bodies.map((b) => b.length));
    expect(got.map((s) => s.sha256)).toEqual(bodies.map((b) => createHash('sha256').update(b).digest('hex')));
  });

  it('catalogues each segment of a sliding playlist once, remembering only the names it still lists', async () => {
    const dir = join(scratch.dir, 'run');
    mkdirSync(dir, { recursive: true });
    const got: SegmentRecord[] = [];
    const watcher = new PlaylistWatcher({
      playlist: join(dir, 'index.m3u8'), cameraId: 'v.cam', runId: crypto.randomUUID(), hasAudio: () => true,
      known: () => false, onSegment: (s) => got.push(s), onError: (err) => { throw err; }, anchorSamples: 1,
    });
    const start = Date.now() - 200_000;
    const window = 5;
    for (let n = 0; n < 60; n++) {
      writeFileSync(join(dir, `seg_${n}.ts`), Buffer.alloc(188, n % 250));
      // As ffmpeg's -hls_list_size: the newest `window` entries, the oldest dropped.
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${Math.max(0, n - window + 1)}`];
      for (let i = Math.max(0, n - window + 1); i <= n; i++) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(start + i * 2000).toISOString()}`, '#EXTINF:2.000000,', `seg_${i}.ts`);
      writeFileSync(join(dir, 'index.m3u8'), `${lines.join('\n')}\n`);
      await watcher.poll();
    }
    await watcher.stop();
    expect(got.map((s) => s.start)).toEqual(Array.from({ length: 60 }, (_, i) => new Date(start + i * 2000).toISOString()));
    // A run records for weeks: what it remembers is bounded by the playlist, not by its age.
    expect((watcher as unknown as { seen: Set<string> }).seen.size).toBeLessThanOrEqual(2 * window);
  });
});
