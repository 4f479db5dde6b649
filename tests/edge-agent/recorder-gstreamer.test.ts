import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { CameraRecorder } from '../../edge-agent/recorder/camera-recorder.ts';
import { probe } from '../../edge-agent/recorder/ffmpeg.ts';
import { checks, need } from '../support/prerequisites.ts';
import { startGstRtspServer, type GstRtspServer } from '../support/gst-rtsp.ts';
import { ffmpegChildren, quietLogger, scratchDir, waitFor } from './agent-fixture.ts';

// A camera we did not write (GStreamer's RTSP server, H.264 + G.711) recorded by real ffmpeg.
describe.runIf(need(checks.gstRtspServer()))('recorder against the GStreamer RTSP server', () => {
  let gst: GstRtspServer;
  const scratch = scratchDir('gst');
  let catalogue: Catalogue;
  let recorder: CameraRecorder;
  const states: { recording: boolean; codecs?: { video: string | null; audio: string | null } }[] = [];

  beforeAll(async () => {
    gst = await startGstRtspServer();
    catalogue = new Catalogue(join(scratch.dir, 'catalogue.db'));
    recorder = new CameraRecorder({
      cameraId: 'gst-venue.cam-1',
      rtspUrl: gst.url,
      // GStreamer asks for none; they must still be url-encoded into the URL and never logged.
      username: 'op',
      password: 'p@ss:w/rd',
      transport: 'tcp',
      segmentSeconds: 2,
      restartDelayMs: 500,
      recordingsDir: join(scratch.dir, 'recordings'),
      logger: quietLogger(),
      known: (p) => catalogue.hasSegmentPath(p),
      onSegment: (s) => catalogue.addSegment(s),
      onState: (s) => states.push(s),
    });
    recorder.start();
    await waitFor('three segments', () => catalogue.segments().length >= 3, 30_000);
    await recorder.stop();
  });

  afterAll(async () => {
    await recorder?.stop();
    catalogue?.close();
    await gst?.stop();
    scratch.remove();
  });

  it('copies the video (no re-encode), converts audio to AAC, and hides the credentials', () => {
    const args = recorder.lastArgs.join(' ');
    expect(args).toContain('-c:v copy');
    expect(args).toContain('-c:a aac');
    expect(args).toContain('-rtsp_transport tcp');
    expect(args).toContain('-hls_segment_type mpegts');
    expect(args).toContain('setts=pts=');
    expect(args).not.toContain('p@ss');
    expect(args).not.toContain(encodeURIComponent('p@ss:w/rd'));
    expect(states.some((s) => s.codecs?.video === 'h264' && s.codecs.audio === 'aac')).toBe(true);
  });

  it('catalogues each segment once with its real SHA-256, ≤ 4 s long, contiguous in time', () => {
    const segs = catalogue.segments();
    expect(segs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(segs.map((s) => s.path)).size).toBe(segs.length);
    for (const s of segs) {
      const data = readFileSync(s.path);
      expect(s.bytes).toBe(data.length);
      expect(s.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      const ms = Date.parse(s.end) - Date.parse(s.start);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(4000);
      expect(s.hasAudio).toBe(true);
    }
    for (let i = 1; i < segs.length; i++) {
      expect(segs[i]!.runId).toBe(segs[0]!.runId);
      expect(Math.abs(Date.parse(segs[i]!.start) - Date.parse(segs[i - 1]!.end))).toBeLessThanOrEqual(50);
    }
    // The graceful stop (SIGINT) closed the playlist.
    expect(readFileSync(join(dirname(segs[0]!.path), 'index.m3u8'), 'utf8')).toContain('#EXT-X-ENDLIST');
  });

  it('writes segments that play on their own: H.264 video and AAC audio', async () => {
    const seg = catalogue.segments()[1]!;
    const info = await probe(seg.path);
    expect(info.streams.find((s) => s.type === 'video')?.codec).toBe('h264');
    expect(info.streams.find((s) => s.type === 'audio')?.codec).toBe('aac');
  });

  it('leaves no ffmpeg running', () => {
    expect(ffmpegChildren()).toEqual([]);
  });
});

// Many recent cameras default to H.265: it is recorded as is (copied) and reported as such.
describe.runIf(need(checks.gstRtspServer()))('recorder with an H.265 camera (GStreamer)', () => {
  it('keeps HEVC untouched and reports it on the camera', async () => {
    const gst = await startGstRtspServer('/hevc', 'h265');
    const scratch = scratchDir('gst265');
    const catalogue = new Catalogue(join(scratch.dir, 'catalogue.db'));
    const states: { codecs?: { video: string | null; audio: string | null } }[] = [];
    const recorder = new CameraRecorder({
      cameraId: 'gst-venue.cam-265',
      rtspUrl: gst.url,
      transport: 'tcp',
      segmentSeconds: 2,
      restartDelayMs: 500,
      recordingsDir: join(scratch.dir, 'recordings'),
      logger: quietLogger(),
      known: (p) => catalogue.hasSegmentPath(p),
      onSegment: (s) => catalogue.addSegment(s),
      onState: (s) => states.push(s),
    });
    try {
      recorder.start();
      await waitFor('two H.265 segments', () => catalogue.segments().length >= 2, 30_000);
      await recorder.stop();
      expect(states.find((s) => s.codecs?.video)?.codecs?.video).toBe('hevc');
      const info = await probe(catalogue.segments()[0]!.path);
      expect(info.streams.find((s) => s.type === 'video')?.codec).toBe('hevc');
      expect(recorder.lastArgs.join(' ')).toContain('-c:v copy');
    } finally {
      await recorder.stop();
      catalogue.close();
      await gst.stop();
      scratch.remove();
    }
    expect(ffmpegChildren()).toEqual([]);
  });
});
