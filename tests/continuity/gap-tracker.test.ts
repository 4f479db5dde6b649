import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { GapTracker } from '../../edge-agent/continuity/gap-tracker.ts';
import { GapBatch, topics } from '../../protocol/index.ts';
import { quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';

/** The gap tracker over a real SQLite catalogue: causes, audio gaps, agent down, outbox. */
describe('gap tracker', () => {
  const scratch = scratchDir('gap-tracker');
  const venueId = 't-gaptrack';
  const cam = `${venueId}.cam-1`;
  const open: Catalogue[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(() => scratch.remove());
  const catalogue = (name: string) => {
    const c = new Catalogue(join(scratch.dir, `${name}.db`));
    open.push(c);
    return c;
  };
  const t0 = Date.parse('2026-11-01T08:00:00.000Z');
  const seg = (startMs: number, hasAudio = true) => ({
    id: randomUUID(),
    cameraId: cam,
    runId: randomUUID(),
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 2000).toISOString(),
    bytes: 1000,
    sha256: 'b'.repeat(64),
    hasAudio,
    path: join(scratch.dir, `${randomUUID()}.ts`),
  });
  const record = (c: Catalogue, t: GapTracker, s: ReturnType<typeof seg>) => {
    c.addSegment(s);
    t.onSegment(s);
  };

  it('names each gap by the last failure before it, ignores short ones, and finds lost audio', () => {
    const c = catalogue('causes');
    const t = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t.start(t0);
    record(c, t, seg(t0));
    record(c, t, seg(t0 + 2000));
    // 1.5 s hole: under the threshold, no row.
    record(c, t, seg(t0 + 5500));
    t.noteFailure(cam, { cause: 'camera_offline', detail: 'Connection refused' });
    t.noteFailure(cam, { cause: 'auth_failed', detail: '401 Unauthorized' });
    record(c, t, seg(t0 + 30_000));
    // Audio goes for 10 s, then comes back.
    record(c, t, seg(t0 + 32_000, false));
    record(c, t, seg(t0 + 34_000, false));
    record(c, t, seg(t0 + 36_000, false));
    record(c, t, seg(t0 + 38_000, false));
    record(c, t, seg(t0 + 40_000, false));
    record(c, t, seg(t0 + 42_000, true));
    t.stop();
    const gaps = t.log.list(cam);
    expect(gaps.map((g) => [g.kind, g.cause, g.start, g.end])).toEqual([
      ['video', 'auth_failed', new Date(t0 + 7500).toISOString(), new Date(t0 + 30_000).toISOString()],
      ['audio', 'audio_lost', new Date(t0 + 32_000).toISOString(), new Date(t0 + 42_000).toISOString()],
    ]);
    // Each gap is in the durable outbox for the centre: the video gap was opened (no end) at the
    // failure (the footage had stopped longer than the threshold) and closed under the same id; the
    // audio gap opened once the footage without audio was longer than the threshold (4 s, at the
    // segment from 34 s), and closed under its id.
    const out = c.pending().filter((m) => m.topic === topics.gaps(venueId));
    const sent = out.flatMap((m) => GapBatch.parse(JSON.parse(m.payload)).gaps);
    expect(sent.map((g) => [g.id, g.kind, g.cause, g.end])).toEqual([
      [gaps[0]!.id, 'video', 'camera_offline', null],
      [gaps[0]!.id, 'video', 'auth_failed', gaps[0]!.end],
      [gaps[1]!.id, 'audio', 'audio_lost', null],
      [gaps[1]!.id, 'audio', 'audio_lost', gaps[1]!.end],
    ]);
  });

  it('an outage is a video gap only: audio missing from the last footage ends with it, and the next footage decides again', async () => {
    const c = catalogue('outage-audio');
    const t = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger(), heartbeatMs: 50 });
    const b = Date.now() - 60_000;
    t.start(b - 10_000);
    record(c, t, seg(b));
    // The run's last segment ends before its audio does (a camera switched off): no audio in it.
    record(c, t, seg(b + 2000, false)); // ends at b + 4 s
    t.noteFailure(cam, { cause: 'camera_offline', detail: 'End of file' });
    await new Promise((r) => setTimeout(r, 300)); // a few heartbeats
    // The video row is open; nothing says the camera's audio was lost.
    const rows = () => t.log.list(cam).map((g) => [g.kind, Date.parse(g.start) - b, g.end === null ? null : Date.parse(g.end) - b]);
    expect(rows()).toEqual([['video', 4000, null]]);
    // Back with audio: the video row closes, and no audio row appears.
    record(c, t, seg(b + 10_000));
    expect(rows()).toEqual([['video', 4000, 10_000]]);

    // Audio lost for longer than the threshold of footage: its row opens with the segment that makes it so.
    record(c, t, seg(b + 12_000, false));
    expect(rows()).toEqual([['video', 4000, 10_000]]);
    record(c, t, seg(b + 14_000, false));
    expect(rows()).toEqual([['video', 4000, 10_000], ['audio', 12_000, null]]);
    // Then the camera goes: the audio row ends where the footage does, the video row takes over.
    t.noteFailure(cam, { cause: 'camera_offline', detail: 'End of file' });
    await new Promise((r) => setTimeout(r, 300));
    t.stop();
    expect(rows()).toEqual([['video', 4000, 10_000], ['audio', 12_000, 16_000], ['video', 16_000, null]]);
  });

  it('keeps a gap open while the camera is down, closes the same row, withdraws a hole within the threshold', async () => {
    const c = catalogue('open');
    const t = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger(), heartbeatMs: 50 });
    const now = Date.now();
    t.start(now - 10_000);
    record(c, t, seg(now - 1500)); // ends at now + 500
    t.noteFailure(cam, { cause: 'camera_offline', detail: 'End of file' });
    // Not yet longer than the threshold: no row; the heartbeat opens it once it is.
    expect(t.log.list(cam)).toEqual([]);
    await new Promise((r) => setTimeout(r, 3000));
    const open = t.log.list(cam);
    expect(open.map((g) => [g.kind, g.cause, Date.parse(g.start), g.end])).toEqual([['video', 'camera_offline', now + 500, null]]);
    // The footage comes back: the same row gets its exact end.
    const back = seg(now + 4000);
    record(c, t, back);
    expect(t.log.list(cam).map((g) => [g.id, g.start, g.end])).toEqual([[open[0]!.id, open[0]!.start, back.start]]);
    // A failure whose hole is no longer than the threshold once footage resumes is withdrawn.
    record(c, t, seg(now + 6000)); // ends at now + 8000
    t.noteFailure(cam, { cause: 'recorder_crashed', detail: 'ffmpeg ended' });
    await new Promise((r) => setTimeout(r, Math.max(0, now + 10_300 - Date.now())));
    expect(t.log.list(cam).filter((g) => g.end === null)).toHaveLength(1);
    const early = seg(now + 9500); // 1.5 s after the last end
    record(c, t, early);
    t.stop();
    expect(t.log.list(cam)).toHaveLength(1);
    const sent = c.pending().filter((m) => m.topic === topics.gaps(venueId)).flatMap((m) => GapBatch.parse(JSON.parse(m.payload)).gaps);
    expect(sent.map((g) => [g.cause, g.end === null, g.withdrawn ?? false])).toEqual([
      ['camera_offline', true, false],
      ['camera_offline', false, false],
      ['recorder_crashed', true, false],
      ['recorder_crashed', true, true],
    ]);
  }, 20_000);

  it('finds the time the agent was down at start-up, keeping the cause of a failure that came first', () => {
    const c = catalogue('down');
    const t1 = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t1.start(t0);
    record(c, t1, seg(t0));
    t1.stop(); // heartbeat at "now" (real clock, far after t0)
    const lastAlive = Number(c.getState('continuity:alive'));
    const restart = lastAlive + 60_000;
    // Second start (as after kill -9): from the last segment's end to the start is "agent down".
    const t2 = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t2.start(restart);
    t2.stop();
    expect(t2.log.list(cam).map((g) => [g.cause, Date.parse(g.start), Date.parse(g.end!)])).toEqual([['agent_down', t0 + 2000, restart]]);

    // The camera was offline when the agent died: that part keeps camera_offline.
    const c2 = catalogue('down-offline');
    const t3 = new GapTracker({ catalogue: c2, venueId, thresholdSeconds: 2, logger: quietLogger() });
    const now = Date.now();
    t3.start(now - 20_000);
    record(c2, t3, seg(now - 20_000));
    t3.noteFailure(cam, { cause: 'camera_offline', detail: 'End of file' });
    t3.stop();
    const alive = Number(c2.getState('continuity:alive'));
    const t4 = new GapTracker({ catalogue: c2, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t4.start(alive + 30_000);
    t4.stop();
    expect(t4.log.list(cam).map((g) => [g.cause, Date.parse(g.start), Date.parse(g.end!)])).toEqual([
      ['camera_offline', now - 18_000, alive],
      ['agent_down', alive, alive + 30_000],
    ]);
  });

  it('keeps a quick restart and the start-up after it as one hole, from where the footage ended', () => {
    const c = catalogue('quick-restart');
    const t1 = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t1.start(t0);
    record(c, t1, seg(t0));
    t1.stop();
    // Down 1.5 s, then 1.5 s until the first segment: each part is under the threshold, the hole is 3 s.
    const t2 = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t2.start(t0 + 3500);
    record(c, t2, seg(t0 + 5000));
    t2.stop();
    expect(t2.log.list(cam).map((g) => [g.cause, Date.parse(g.start), Date.parse(g.end!)])).toEqual([['agent_down', t0 + 2000, t0 + 5000]]);
  });

  it('measures a camera that never recorded here from when the box took it on: a failure from the start is a gap with its cause, a clean start-up is none', async () => {
    // A clean start-up: taken on, first footage 3 s later, no failure in between: no row.
    const c0 = catalogue('fresh-clean');
    const clean = new GapTracker({ catalogue: c0, venueId, thresholdSeconds: 2, logger: quietLogger() });
    clean.start(t0);
    clean.watch(cam, t0);
    record(c0, clean, seg(t0 + 3000));
    clean.stop();
    expect(clean.log.list(cam)).toEqual([]);

    // A wrong password from the first day: the row opens while it lasts and closes at the first footage.
    const c = catalogue('fresh-failing');
    const t1 = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger(), heartbeatMs: 50 });
    const now = Date.now();
    t1.start(now - 5000);
    t1.watch(cam, now - 5000);
    t1.noteFailure(cam, { cause: 'auth_failed', detail: '401 Unauthorized' });
    const open = t1.log.list(cam);
    expect(open.map((g) => [g.cause, Date.parse(g.start), g.end])).toEqual([['auth_failed', now - 5000, null]]);
    // Taken on again (a later discovery pass) moves nothing.
    t1.watch(cam, now);
    t1.stop();
    // The agent restarts while the camera still fails: the failure keeps its cause up to the last
    // heartbeat, the downtime is the agent's, and the failure after the restart runs to the first footage.
    const alive = Number(c.getState('continuity:alive'));
    const t2 = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger() });
    t2.start(alive + 20_000);
    t2.watch(cam, alive + 20_000);
    t2.noteFailure(cam, { cause: 'auth_failed', detail: '401 Unauthorized' });
    record(c, t2, seg(alive + 25_000));
    t2.stop();
    expect(t2.log.list(cam).map((g) => [g.cause, Date.parse(g.start), Date.parse(g.end!)])).toEqual([
      ['auth_failed', now - 5000, alive],
      ['agent_down', alive, alive + 20_000],
      ['auth_failed', alive + 20_000, alive + 25_000],
    ]);
  });

  it('writes the alive time only while a camera is failing (it dates nothing else), every beat while it is', async () => {
    const c = catalogue('alive');
    const t = new GapTracker({ catalogue: c, venueId, thresholdSeconds: 2, logger: quietLogger(), heartbeatMs: 50 });
    const now = Date.now();
    t.start(now - 10_000);
    record(c, t, seg(now - 2000));
    const atStart = Number(c.getState('continuity:alive'));
    await new Promise((r) => setTimeout(r, 300));
    // Every camera records: the beats leave the catalogue alone.
    expect(Number(c.getState('continuity:alive'))).toBe(atStart);
    t.noteFailure(cam, { cause: 'camera_offline', detail: 'End of file' });
    const atFailure = Number(c.getState('continuity:alive'));
    expect(atFailure).toBeGreaterThan(atStart);
    await new Promise((r) => setTimeout(r, 300));
    expect(Number(c.getState('continuity:alive'))).toBeGreaterThan(atFailure);
    t.stop();
  });
});
