import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../edge-agent/recorder/failure-cause.ts';

// The words ffmpeg 5.1 prints for RTSP failures (copied from real runs against the simulator).
describe('cause of a recorder failure', () => {
  it('reads ffmpeg’s phrases, not numbers inside hex addresses', () => {
    const notFound =
      'ffmpeg exited with code 1: rtsp://***@127.0.0.1:34899/cam-1: Server returned 404 Not Found | [rtsp @ 0x5641fcd6f401] method DESCRIBE failed: 404 Not Found';
    expect(classifyFailure(notFound, { stalled: false }).cause).toBe('camera_offline');
    expect(classifyFailure('ffmpeg exited with code 1: [rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized', { stalled: false }).cause).toBe('auth_failed');
    expect(classifyFailure('ffmpeg exited with code 1: Connection refused', { stalled: false }).cause).toBe('camera_offline');
    expect(classifyFailure('ffmpeg ended', { stalled: false }).cause).toBe('camera_offline');
    expect(classifyFailure('watchdog: no segment for 10 s', { stalled: true }).cause).toBe('camera_offline');
    expect(classifyFailure('ffmpeg exited with code 1: seg_000012.ts: No space left on device', { stalled: false }).cause).toBe('disk_full');
    expect(classifyFailure('ffmpeg was killed with signal SIGSEGV', { stalled: false }).cause).toBe('recorder_crashed');
  });
});
