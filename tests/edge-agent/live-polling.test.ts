import { afterEach, describe, expect, it, vi } from 'vitest';
import { LivePusher } from '../../edge-agent/live/live-pusher.ts';
import { PlaylistWatcher } from '../../edge-agent/recorder/playlist-watcher.ts';
import { scheduledJobs } from '../../edge-agent/schedule/shared-tick.ts';
import { quietLogger } from './agent-fixture.ts';

/**
 * A recording camera's playlist is read once a catalogue commit; while someone watches it live,
 * twice a second (camera-recorder.ts). The live pusher says when a lease starts and ends.
 */
describe('live view and the playlist poll', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the live pusher reports a lease starting, stopped by the centre, and expiring', async () => {
    const changes: [string, boolean][] = [];
    const live = new LivePusher({ centreUrl: 'http://127.0.0.1:9', token: 't', logger: quietLogger(), onLeaseChange: (id, on) => changes.push([id, on]) });
    live.lease('v.cam1', 30);
    live.lease('v.cam1', 30); // a renewal: no change
    live.lease('v.cam1', 0);
    live.lease('v.cam2', 0.05);
    await new Promise((r) => setTimeout(r, 100));
    expect(live.active('v.cam2')).toBe(false);
    // The expiry shows at the camera's next segment (nothing is pushed for it).
    live.segment({ id: 's1', cameraId: 'v.cam2', runId: 'r', start: new Date().toISOString(), end: new Date().toISOString(), bytes: 1, sha256: 'a'.repeat(64), hasAudio: false, path: '/nonexistent' });
    expect(changes).toEqual([['v.cam1', true], ['v.cam1', false], ['v.cam2', true], ['v.cam2', false]]);
    expect(live.pushed + live.failed).toBe(0);
  });

  it('the watcher polls at the period it is given, and changes it while running', async () => {
    vi.useFakeTimers();
    const watcher = new PlaylistWatcher({ playlist: '/nonexistent/index.m3u8', cameraId: 'v.cam1', runId: 'r', hasAudio: () => false, known: () => false, onSegment: () => {}, onError: () => {}, pollMs: 2000 });
    const polls = vi.spyOn(watcher, 'poll');
    watcher.start();
    vi.advanceTimersByTime(10_000);
    expect(polls).toHaveBeenCalledTimes(5);
    watcher.setPollMs(500);
    vi.advanceTimersByTime(10_000);
    expect(polls).toHaveBeenCalledTimes(5 + 20);
    expect(scheduledJobs()).toBe(1);
    vi.useRealTimers();
    await watcher.stop();
    expect(scheduledJobs()).toBe(0);
  });
});
