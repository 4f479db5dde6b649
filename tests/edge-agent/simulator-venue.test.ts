import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, ffmpegChildren, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

/**
 * The whole venue box against the simulator's virtual cameras (real ONVIF SOAP and RTSP):
 * found by configured address with the onvif client, recorded; a wrong password is reported on
 * that camera, with a gap row of its cause, and does not stop the others.
 */
describe('edge agent against the simulated venue', () => {
  const venueId = uniqueVenue('sim');
  const scratch = scratchDir('sim');
  let venue: VirtualVenue;
  let agent: Agent;

  beforeAll(async () => {
    const small = { width: 320, height: 240, fps: 10, bitrateKbps: 200 };
    venue = await startVirtualVenue({
      cameras: [
        { code: 'cam-1', name: 'Opening room left', username: 'admin', password: 'right-pass-1', ...small },
        { code: 'cam-2', name: 'Opening room right', username: 'admin', password: 'right-pass-2', ...small },
      ],
      logger: quietLogger(),
    });
    const [c1, c2] = venue.cameras;
    const nowhere = await freePort();
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Simulated venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [
          { code: 'cam-1', name: 'Left', room: 'open-1', address: c1!.xaddr, username: c1!.username, password: c1!.password },
          { code: 'cam-2', name: 'Right', room: 'open-1', address: c2!.xaddr, username: c2!.username, password: 'wrong-password' },
        ],
        mqtt: { url: `mqtt://127.0.0.1:${nowhere}` },
        centre: { url: `http://127.0.0.1:${nowhere}`, token: 'x'.repeat(20) },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    scratch.remove();
  });

  it('finds the camera over ONVIF and records it', async () => {
    await waitFor('two segments of cam-1', () => agent.catalogue.segments(`${venueId}.cam-1`).length >= 2, 40_000);
    const cam = agent.cameras().find((c) => c.id === `${venueId}.cam-1`)!;
    expect(cam.streamUri).toMatch(/^rtsp:\/\//);
    expect(cam.streamUri).not.toContain('@');
    expect(cam.recording).toBe(true);
    expect(cam.videoCodec).toBeTruthy();
    expect(cam.lastError).toBeNull();
    expect(cam.videoCodec).toBe('h264');
    expect(cam.audioCodec).toBe('aac'); // the camera's G.711, as recorded
    expect(cam.manufacturer).toBeTruthy();
    expect(agent.recorder(cam.id)!.lastArgs.join(' ')).toContain('-c:v copy');
    // One recorder ffmpeg: the camera with the wrong password never got one.
    expect(ffmpegChildren(scratch.dir)).toHaveLength(1);
  });

  it('reports a wrong password on that camera only', async () => {
    const bad = await waitFor('cam-2 error', () => agent.cameras().find((c) => c.id === `${venueId}.cam-2` && c.lastError));
    expect(bad.lastError).toMatch(/auth/i);
    expect(bad.recording).toBe(false);
    expect(agent.catalogue.segments(`${venueId}.cam-2`)).toEqual([]);
    // It never recorded here, yet its missing footage is a gap row with the cause, open while it lasts.
    const gaps = agent.gaps.log.list(`${venueId}.cam-2`);
    expect(gaps.map((g) => [g.kind, g.cause, g.end])).toEqual([['video', 'auth_failed', null]]);
    expect(gaps[0]!.detail).toMatch(/auth/i);
    // The camera that records has none.
    expect(agent.gaps.log.list(`${venueId}.cam-1`)).toEqual([]);
  });

  it('restarts the recorder as a new run when the camera drops the stream', async () => {
    const id = `${venueId}.cam-1`;
    const firstRun = agent.catalogue.segments(id).at(-1)!.runId;
    venue.rtsp.kickReaders('cam-1');
    await waitFor('segments of a new run', () => agent.catalogue.segments(id).some((s) => s.runId !== firstRun), 40_000);
    expect(agent.recorder(id)!.runs).toBeGreaterThanOrEqual(2);
    expect(ffmpegChildren(scratch.dir)).toHaveLength(1);
  });

  it('stops every ffmpeg on stop', async () => {
    await agent.stop();
    expect(ffmpegChildren(scratch.dir)).toEqual([]);
  });
});
