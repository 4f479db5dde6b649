import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { SessionDetail, type GapRecord } from '../../protocol/index.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, ffmpegChildren, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, serverConfig, silent } from '../server/support.ts';

/**
 * Issue 5, priority 1: gaps with causes. Real centre (PostgreSQL, embedded aedes), real edge agent,
 * the simulator's RTSP cameras powered off and on. A 20 s outage stands in for the 3 min.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (iso: string) => Date.parse(iso);

/**
 * Rows of holes the catalogue can show: those between segments. A row that ends where a camera's
 * first footage begins is the agent's start-up (a first connection that failed on a loaded
 * machine, seen in CI): a true gap, but not one between segments, and not what a test made.
 */
function afterFirstFootage(rows: GapRecord[], segs: { start: string }[]): GapRecord[] {
  const first = Math.min(...segs.map((x) => ms(x.start)));
  return rows.filter((g) => g.end === null || ms(g.end) > first);
}

/** Stretches longer than `thresholdMs` between consecutive catalogued segments of one camera. */
function gapsInCatalogue(segs: { start: string; end: string }[], thresholdMs: number): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (let i = 1; i < segs.length; i++) {
    const prevEnd = Math.max(...segs.slice(0, i).map((s) => ms(s.end)));
    const start = ms(segs[i]!.start);
    if (start - prevEnd > thresholdMs) out.push({ from: prevEnd, to: start });
  }
  return out;
}

describe('recording gaps with causes (camera offline, flapping, watchdog)', () => {
  const venueId = uniqueVenue('gaps');
  const scratch = scratchDir('gaps');
  const serverScratch = scratchDir('gaps-centre');
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let cookie: string;
  let sessionId: string;
  const cam1 = `${venueId}.cam-1`;
  const cam2 = `${venueId}.cam-2`;
  const cam3 = `${venueId}.cam-3`;

  beforeAll(async () => {
    pg = await createPgDatabase();
    const token = randomToken();
    server = await startServer(
      serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'demo-password-1' } }),
      { logger: silent },
    );
    const small = { width: 320, height: 240, fps: 10, bitrateKbps: 150 };
    venue = await startVirtualVenue({
      cameras: [
        { code: 'cam-1', name: 'Opening left', username: 'admin', password: 'pw-gap-1', ...small },
        { code: 'cam-2', name: 'Opening right', username: 'admin', password: 'pw-gap-2', ...small, audio: false },
        { code: 'cam-3', name: 'Hall', username: 'admin', password: 'pw-gap-3', ...small, audio: false },
      ],
      logger: quietLogger(),
    });
    const [c1, c2, c3] = venue.cameras;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Gap venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [
          { code: 'cam-1', name: 'Left', room: 'open-1', address: c1!.xaddr, username: c1!.username, password: c1!.password },
          { code: 'cam-2', name: 'Right', room: 'open-1', address: c2!.xaddr, username: c2!.username, password: c2!.password },
          { code: 'cam-3', name: 'Hall', room: null, address: c3!.xaddr, username: c3!.username, password: c3!.password },
        ],
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: scratch.dir,
        recording: { segmentSeconds: 1, restartDelayMs: 300, rtspTransport: 'tcp' },
        continuity: { watchdogSeconds: 5, maxRestartDelayMs: 1000, gapThresholdSeconds: 2 },
      }),
      { logger: quietLogger() },
    );
    cookie = await login(server.url, 'admin', 'demo-password-1');
    await waitFor('room in the centre inventory', async () => {
      const res = await fetch(`${server.url}/api/venues`, { headers: { cookie } });
      const body = (await res.json()) as { venues: { id: string; rooms: unknown[] }[] };
      return body.venues.find((v) => v.id === venueId)?.rooms.length;
    });
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({
        projectCode: 'GAP-1',
        projectName: 'Gap test',
        kind: 'bid_opening',
        roomId: `${venueId}.open-1`,
        plannedStart: new Date(Date.now() - 60_000).toISOString(),
        plannedEnd: new Date(Date.now() + 30 * 60_000).toISOString(),
      }),
    });
    expect(res.status).toBe(201);
    sessionId = ((await res.json()) as { id: string }).id;
    await waitFor('all three cameras recording', () => [cam1, cam2, cam3].every((c) => agent.catalogue.segments(c).length >= 2), 40_000);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('a camera off for 20 s during a session: one camera_offline gap at the edge, at the centre, in playback; recording back within 10 s', async () => {
    const before = agent.catalogue.segments(cam1).at(-1)!;
    await venue.cameras[0]!.stop();
    await sleep(3000); // the recorder catalogues the last segments of its run
    const offAt = Date.now();
    // While the camera is down the gap is already a row, at the edge and at the centre: open (no
    // end), cause camera_offline, and the session report shows it as ongoing.
    const openRow = await waitFor('an open gap row at the edge', () => agent.gaps.log.list(cam1).find((g) => g.kind === 'video' && g.end === null), 10_000, 100);
    expect(openRow.cause).toBe('camera_offline');
    expect(ms(openRow.start)).toBe(agent.catalogue.segments(cam1).reduce((a, s) => Math.max(a, ms(s.end)), 0));
    const atCentre = await waitFor('the open gap at the centre', async () => (await server.services.gaps.reported(cam1, new Date(0), new Date(Date.now() + 60_000))).find((g) => g.id === openRow.id), 10_000, 200);
    expect(atCentre).toMatchObject({ cause: 'camera_offline', kind: 'video', span: { from: new Date(openRow.start), to: null } });
    const ongoing = await waitFor('the report shows the gap ongoing', async () => {
      const d = SessionDetail.parse(await (await fetch(`${server.url}/api/sessions/${sessionId}`, { headers: { cookie } })).json());
      const cam = d.cameras.find((c) => c.cameraId === cam1)!;
      const g = cam.gaps.find((x) => x.ongoing);
      return g ? { g, cam } : null;
    }, 10_000, 250);
    expect(ongoing.g).toMatchObject({ from: openRow.start, kind: 'video', cause: 'camera_offline', ongoing: true });
    // Recorded vs expected: the ongoing hole is missing from what was recorded.
    expect(ongoing.cam.expectedSeconds - ongoing.cam.recordedSeconds).toBeGreaterThanOrEqual((ms(ongoing.g.to) - ms(ongoing.g.from)) / 1000 - 0.01);
    await sleep(Math.max(0, offAt + 17_000 - Date.now()));
    await venue.cameras[0]!.start();
    const backAt = Date.now();
    // The first segment of a new recorder run (the old run ended when the camera went).
    const first = await waitFor('a segment after the camera came back', () => agent.catalogue.segments(cam1).find((s) => s.runId !== before.runId && ms(s.start) > offAt), 15_000, 100);
    // Recording resumes within 10 s of the camera's return (the segment has started by then).
    expect(ms(first.start) - backAt).toBeLessThan(10_000);

    const edgeGaps = afterFirstFootage(agent.gaps.log.list(cam1).filter((g) => g.kind === 'video'), agent.catalogue.segments(cam1));
    expect(edgeGaps).toHaveLength(1);
    const gap = edgeGaps[0]!;
    expect(gap.cause).toBe('camera_offline');
    // The open row was closed, not joined by a second one.
    expect(gap.id).toBe(openRow.id);
    expect(gap.start).toBe(openRow.start);
    // Exact bounds: from the last segment before to the first segment after.
    const lastBefore = agent.catalogue.segments(cam1).filter((s) => ms(s.end) <= ms(first.start)).reduce((a, s) => Math.max(a, ms(s.end)), 0);
    expect(ms(gap.start)).toBe(lastBefore);
    expect(gap.end).toBe(first.start);
    expect(ms(gap.end!) - ms(gap.start)).toBeGreaterThan(19_000);
    expect(ms(gap.start)).toBeGreaterThanOrEqual(ms(before.end));

    // The centre stores it and the completeness report names the cause, with the same bounds.
    const detail = await waitFor(
      'the session report shows the gap with its cause',
      async () => {
        const res = await fetch(`${server.url}/api/sessions/${sessionId}`, { headers: { cookie } });
        const d = SessionDetail.parse(await res.json());
        const cam = d.cameras.find((c) => c.cameraId === cam1)!;
        // Closed, not the ongoing row the centre showed while the camera was off, and the footage
        // after it indexed at the centre too (the gap message can arrive before those segments).
        return cam.gaps.some((g) => g.cause === 'camera_offline' && !g.ongoing && g.to === gap.end) ? d : null;
      },
      20_000,
      250,
    );
    // (The session was booked a minute before the agent started: that first stretch is a gap too,
    // shown, not hidden; no venue reports a cause for time before it recorded the camera, so the
    // centre says what it is.)
    const all = detail.cameras.find((c) => c.cameraId === cam1)!.gaps;
    expect(all[0]).toMatchObject({ from: detail.session.plannedStart, cause: 'before_first_footage' });
    const reported = all.filter((g) => g.kind === 'video' && g.from !== detail.session.plannedStart);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ from: gap.start, to: gap.end, cause: 'camera_offline', kind: 'video' });
    expect(reported[0]!.ongoing).toBeUndefined();
    // At the centre: the same row, now closed at the exact end; no second row for this outage.
    const rows = await waitFor('the gap closed at the centre', async () => {
      const r = (await server.services.gaps.reported(cam1, new Date(offAt - 10_000), new Date(Date.now()))).filter((g) => g.kind === 'video');
      return r.every((g) => g.span.to !== null) ? r : null;
    }, 10_000, 200);
    expect(rows.map((r) => r.id)).toEqual([openRow.id]);
    expect(rows[0]!.span).toEqual({ from: new Date(gap.start), to: new Date(gap.end!) });

    // Playback marks it: a discontinuity between the segment before and the one after.
    await waitFor('footage on both sides uploaded', () => {
      const segs = agent.catalogue.segments(cam1);
      return segs.find((s) => s.end === gap.start)?.uploadedAt && segs.find((s) => s.start === gap.end)?.uploadedAt;
    }, 20_000);
    const q = `from=${encodeURIComponent(new Date(ms(gap.start) - 5000).toISOString())}&to=${encodeURIComponent(new Date(ms(gap.end!) + 2000).toISOString())}`;
    const playlist = await (await fetch(`${server.url}/api/cameras/${cam1}/vod.m3u8?${q}`, { headers: { cookie } })).text();
    const lines = playlist.split('\n');
    const after = lines.indexOf(`#EXT-X-PROGRAM-DATE-TIME:${gap.end}`);
    expect(after).toBeGreaterThan(0);
    expect(lines[after - 1]).toBe('#EXT-X-DISCONTINUITY');
  }, 90_000);

  it('audio lost mid-run while video continues: an audio gap row, open then closed, without a recorder restart', async () => {
    const cam = venue.cameras[0]!;
    const runBefore = agent.catalogue.segments(cam1).at(-1)!.runId;
    expect(agent.catalogue.segments(cam1).at(-1)!.hasAudio).toBe(true);
    const audioRowsBefore = agent.gaps.log.list(cam1).filter((g) => g.kind === 'audio').length;
    const droppedAt = Date.now();
    cam.dropAudio();
    let restoredAt = 0;
    try {
      // The segments say it: video keeps coming, without audio packets.
      const silent = await waitFor('a segment without audio', () => agent.catalogue.segments(cam1).find((s) => !s.hasAudio && ms(s.start) > droppedAt - 2000), 15_000, 100);
      const open = await waitFor('an open audio gap at the edge', () => agent.gaps.log.list(cam1).find((g) => g.kind === 'audio' && g.end === null), 10_000, 100);
      expect(open).toMatchObject({ cause: 'audio_lost', start: silent.start });
      await waitFor('the open audio gap at the centre', async () => (await server.services.gaps.reported(cam1, new Date(0), new Date(Date.now() + 60_000))).some((g) => g.id === open.id && g.span.to === null), 10_000, 200);
      await sleep(Math.max(0, droppedAt + 8000 - Date.now()));
    } finally {
      cam.restoreAudio();
      restoredAt = Date.now();
    }
    const back = await waitFor('a segment with audio again', () => agent.catalogue.segments(cam1).find((s) => s.hasAudio && ms(s.start) > restoredAt - 1000), 15_000, 100);
    const rows = agent.gaps.log.list(cam1).filter((g) => g.kind === 'audio');
    expect(rows).toHaveLength(audioRowsBefore + 1);
    const gap = rows.at(-1)!;
    // Start: the first segment without audio; end: the first segment with audio again.
    expect(gap.end).toBe(back.start);
    expect(ms(gap.end!) - ms(gap.start)).toBeGreaterThan(5000);
    // Video never stopped: same ffmpeg run, no video gap for it.
    const during = agent.catalogue.segments(cam1).filter((s) => ms(s.start) >= ms(gap.start) && ms(s.start) < ms(gap.end!));
    expect(during.length).toBeGreaterThan(3);
    expect(new Set(during.map((s) => s.runId))).toEqual(new Set([runBefore]));
    expect(back.runId).toBe(runBefore);
    expect(during.every((s) => !s.hasAudio)).toBe(true);
    expect(agent.gaps.log.list(cam1).filter((g) => g.kind === 'video' && ms(g.end ?? '9999') > droppedAt)).toEqual([]);
    // The centre has the same row, closed; the session report lists it as an audio gap.
    await waitFor('the audio gap closed at the centre', async () => {
      const r = await server.services.gaps.reported(cam1, new Date(gap.start), new Date(gap.end!));
      return r.some((g) => g.id === gap.id && g.span.to?.toISOString() === gap.end);
    }, 10_000, 200);
    const d = SessionDetail.parse(await (await fetch(`${server.url}/api/sessions/${sessionId}`, { headers: { cookie } })).json());
    expect(d.cameras.find((c) => c.cameraId === cam1)!.gaps).toContainEqual({ from: gap.start, to: gap.end, kind: 'audio', cause: 'audio_lost' });
  }, 60_000);

  it('a camera flapping: every gap a row, no ffmpeg leaked', async () => {
    const cam = venue.cameras[1]!;
    // Three flaps with a centre and a session: their rows reach the centre, none twice. The 100
    // flaps the issue asks for are camera-flapping.test.ts (no centre there, a cycle in ~2.5 s).
    const FLAPS = 3;
    let flaps = 0;
    let maxRecorders = 0;
    while (flaps < FLAPS) {
      const runsBefore = new Set(agent.catalogue.segments(cam2).map((s) => s.runId));
      await cam.stop();
      await sleep(2600);
      await cam.start();
      flaps++;
      // Let it record again so that this outage is its own gap.
      await waitFor('cam-2 recording again', () => agent.catalogue.segments(cam2).some((s) => !runsBefore.has(s.runId)), 20_000, 100);
      maxRecorders = Math.max(maxRecorders, ffmpegChildren(scratch.dir).length);
    }
    // One recorder per camera at most, ever.
    expect(maxRecorders).toBeLessThanOrEqual(3);
    const segs = agent.catalogue.segments(cam2);
    const derived = gapsInCatalogue(segs, 2000);
    const allRows = agent.gaps.log.list(cam2).filter((g) => g.kind === 'video');
    const rows = afterFirstFootage(allRows, segs);
    expect(derived.length).toBeGreaterThanOrEqual(flaps);
    // Every hole in the footage longer than the threshold is a row with exactly its bounds.
    expect(rows.map((g) => [ms(g.start), ms(g.end!)])).toEqual(derived.map((g) => [g.from, g.to]));
    expect(new Set(rows.map((g) => g.cause))).toEqual(new Set(['camera_offline']));
    console.info(`flapping: ${flaps} power cycles, ${rows.length} gap rows, at most ${maxRecorders} recorder ffmpeg processes`);
    // The centre got every row (outbox → MQTT → recording_gaps), none twice.
    await waitFor('every cam-2 gap at the centre', async () => {
      const got = await server.services.gaps.reported(cam2, new Date(0), new Date(Date.now() + 60_000));
      return got.length === allRows.length;
    }, 20_000, 250);
  }, 120_000);

  it('the watchdog restarts a recorder whose camera hangs without hanging up', async () => {
    const rec = agent.recorder(cam3)!;
    const restartsBefore = rec.watchdogRestarts;
    const pid = venue.cameras[2]!.source.pid!;
    const runBefore = agent.catalogue.segments(cam3).at(-1)!.runId;
    process.kill(pid, 'SIGSTOP');
    const hungAt = Date.now();
    try {
      await waitFor('watchdog restart', () => rec.watchdogRestarts > restartsBefore, 20_000, 100);
      // 5 s (the test's watchdog) after the last segment was written, a second or two before the
      // hang: not a playlist pass later (passes come every 3 s here, once a commit).
      expect(Date.now() - hungAt).toBeLessThan(9000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor('cam-3 recording again', () => agent.catalogue.segments(cam3).some((s) => s.runId !== runBefore && ms(s.start) > hungAt), 30_000, 100);
    const rows: GapRecord[] = agent.gaps.log.list(cam3).filter((g) => g.kind === 'video');
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.at(-1)!.cause).toBe('camera_offline');
    expect(rows.at(-1)!.detail).toMatch(/watchdog|End of file|ffmpeg/i);
    expect(ffmpegChildren(scratch.dir).length).toBeLessThanOrEqual(3);
  }, 60_000);

  it('leaves no ffmpeg behind', async () => {
    await agent.stop();
    expect(ffmpegChildren(scratch.dir)).toEqual([]);
  });
});
