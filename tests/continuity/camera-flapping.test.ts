import { readFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { freePort } from '../support/ports.ts';
import { agentConfig, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { MOSQUITTO_URL } from '../server/support.ts';

/**
 * Issue 5 fault test: "a camera flapping 100 times: no ffmpeg process leaked, every gap a row".
 * Real simulator camera (RTSP publisher ffmpeg powered off and on), real agent and recorder
 * ffmpeg. Times are shortened through settings and the simulator so a cycle takes about 2.5 s:
 * 0.4 s off, restart backoff 100 ms, keyframes every 0.2 s (a run's first 1 s segment closes
 * soon after it begins), playlist read every 100 ms, first segment of a run catalogued at once,
 * a gap threshold of 0.2 s. Each cycle waits until the new
 * recorder run has footage on disk (the next power-off makes ffmpeg close that segment), so every
 * outage is its own hole in the footage and must be its own row. VW_FLAP_CYCLES changes the count.
 */
const CYCLES = Number(process.env.VW_FLAP_CYCLES ?? 100);
/** Kept on this long once the new run's muxer has begun, so its first segment holds frames. */
const ON_AFTER_MUXING_MS = Number(process.env.VW_FLAP_ON_MS ?? 200);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (iso: string) => Date.parse(iso);

/** ffmpeg processes whose parent is this test process, read from /proc (recorders write into `dir`). */
function ffmpegChildren(dir: string): { recorders: number[]; others: number[] } {
  const out = { recorders: [] as number[], others: [] as number[] };
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so read after the last ")".
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid || comm !== 'ffmpeg') continue;
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z') continue; // exited, about to be reaped by node
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      (cmdline.includes(dir) ? out.recorders : out.others).push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe(`a camera flapping ${CYCLES} times`, () => {
  const venueId = uniqueVenue('flap');
  const scratch = scratchDir('flap');
  const cam = `${venueId}.cam-1`;
  let venue: VirtualVenue;
  let agent: Agent;

  beforeAll(async () => {
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Flapping', username: 'admin', password: 'pw-flap-1', width: 160, height: 120, fps: 10, bitrateKbps: 100, audio: false, keyframeSeconds: 0.2 }],
      logger: quietLogger(),
    });
    const c = venue.cameras[0]!;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Flapping venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [{ code: 'cam-1', name: 'Flapping', room: 'open-1', address: c.xaddr, username: c.username, password: c.password }],
        // No centre needed: gap messages wait in (or drain from) the outbox.
        mqtt: { url: MOSQUITTO_URL },
        centre: { url: `http://127.0.0.1:${await freePort()}`, token: 'x'.repeat(32) },
        dataDir: scratch.dir,
        recording: { segmentSeconds: 1, restartDelayMs: 100, rtspTransport: 'tcp', catalogueIntervalMs: 100, clockAnchorSegments: 1 },
        continuity: { watchdogSeconds: 3, maxRestartDelayMs: 100, gapThresholdSeconds: 0.2 },
      }),
      { logger: quietLogger() },
    );
    await waitFor('recording', () => agent.catalogue.segments(cam).length >= 2, 30_000, 100);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    scratch.remove();
  });

  it('leaks no ffmpeg and makes every outage one gap row with its bounds', async () => {
    const cam1 = venue.cameras[0]!;
    const began = Date.now();
    let maxRecorders = 0;
    let maxOthers = 0;
    const outages: number[] = [];
    const rec = agent.recorder(cam)!;
    const runDir = () => dirname(rec.lastArgs.at(-1)!);
    /** The recorder's current run has begun a segment (ffmpeg's muxer is writing). */
    const muxing = (dir: string) => {
      try {
        return readdirSync(dir).some((f) => /^seg_\d+\.ts(\.tmp)?$/.test(f));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < CYCLES; i++) {
      const before = runDir();
      await cam1.stop();
      outages.push(Date.now());
      await sleep(400);
      await cam1.start();
      // On again until the new run has footage on disk: the next power-off ends that run, and
      // ffmpeg closes the segment it was writing, so every outage has footage on both sides.
      // VW_FLAP_DEBUG=1 prints where each cycle's time goes (camera publishing again vs recorder muxing again).
      const tOn = Date.now();
      let publishing = 0;
      await waitFor(`cycle ${i + 1}: recording again`, () => { if (!publishing && cam1.isStreaming()) publishing = Date.now(); return runDir() !== before && muxing(runDir()); }, 20_000, 20);
      if (process.env.VW_FLAP_DEBUG) console.info(`DEBUG publishing after ${publishing - tOn} ms, muxing after ${Date.now() - tOn} ms, runs ${rec.runs}`);
      await sleep(ON_AFTER_MUXING_MS);
      const procs = ffmpegChildren(scratch.dir);
      maxRecorders = Math.max(maxRecorders, procs.recorders.length);
      maxOthers = Math.max(maxOthers, procs.others.length);
    }
    const lastRun = runDir();
    await waitFor('the last run catalogued', () => agent.catalogue.segments(cam).some((s) => lastRun.endsWith(s.runId)), 20_000, 50);
    const seconds = (Date.now() - began) / 1000;
    console.info(`flapping: ${CYCLES} power cycles in ${seconds.toFixed(1)} s (${(seconds / CYCLES).toFixed(2)} s each); at most ${maxRecorders} recorder and ${maxOthers} camera ffmpeg at a time`);
    // One recorder for the one camera, ever; the simulator's one publisher.
    expect(maxRecorders).toBeLessThanOrEqual(1);
    expect(maxOthers).toBeLessThanOrEqual(1);

    // Every hole in the footage is a row with exactly its bounds, one per outage.
    const segs = agent.catalogue.segments(cam);
    const holes: Array<[number, number]> = [];
    let end = ms(segs[0]!.end);
    for (const s of segs.slice(1)) {
      if (ms(s.start) - end > 200) holes.push([end, ms(s.start)]);
      end = Math.max(end, ms(s.end));
    }
    const rows = agent.gaps.log.list(cam).filter((g) => g.kind === 'video');
    expect(rows.every((g) => g.end !== null)).toBe(true);
    expect(rows.map((g) => [ms(g.start), ms(g.end!)])).toEqual(holes);
    expect(rows).toHaveLength(CYCLES);
    // Each outage lies inside its row.
    rows.forEach((g, i) => expect(ms(g.start)).toBeLessThanOrEqual(outages[i]! + 1000));
    expect(new Set(rows.map((g) => g.cause))).toEqual(new Set(['camera_offline']));

    // Stopping the agent ends its recorder: nothing left.
    await agent.stop();
    expect(ffmpegChildren(scratch.dir).recorders).toEqual([]);
  }, 30 * 60_000);
});
