import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ffmpegPath, ffprobePath } from '../../config/binaries.ts';
import { decodeBarcode } from '../../simulator/camera/clock-barcode.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';

const run = promisify(execFile);
const W = 320;
const H = 180;

function withCreds(url: string, user: string, pass: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = pass;
  return u.toString();
}

describe('virtual camera stream over RTSP/TCP', () => {
  let venue: VirtualVenue;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vwsim-'));
    venue = await startVirtualVenue({
      venueId: 'test-venue',
      cameras: [{ code: 'cam-a', name: 'Camera A', username: 'admin', password: 's3cret', width: W, height: H, fps: 10 }],
      logger: pino({ level: 'warn' }),
    });
  });

  afterAll(async () => {
    await venue?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ffprobe reads H.264 video and G.711 µ-law audio with the right credentials', async () => {
    const cam = venue.cameras[0]!;
    const { stdout } = await run(ffprobePath(), ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(cam.rtspUrl, cam.username, cam.password)], { timeout: 20_000 });
    const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; width?: number; sample_rate?: string; channels?: number }[] }).streams;
    const video = streams.find((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    expect(video?.codec_name).toBe('h264');
    expect(video?.width).toBe(W);
    expect(audio?.codec_name).toBe('pcm_mulaw');
    expect(audio?.sample_rate).toBe('8000');
    expect(audio?.channels).toBe(1);
  });

  it('refuses a wrong password with 401', async () => {
    const cam = venue.cameras[0]!;
    const err = await run(ffprobePath(), ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', withCreds(cam.rtspUrl, cam.username, 'wrong')], { timeout: 20_000 }).then(
      () => null,
      (e: { stderr?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(String(err!.stderr)).toMatch(/401/);
  });

  it('burns in a wall clock that a recording decodes to within 2 s', async () => {
    const cam = venue.cameras[0]!;
    const file = path.join(dir, 'rec.mkv');
    const started = Date.now();
    await run(ffmpegPath(), ['-nostdin', '-v', 'error', '-rtsp_transport', 'tcp', '-i', withCreds(cam.rtspUrl, cam.username, cam.password), '-t', '3', '-an', '-c', 'copy', '-y', file], { timeout: 20_000 });
    const ended = Date.now();
    // The server starts a new reader on a keyframe, so the recording's first packet is one.
    const { stdout: flags } = await run(ffprobePath(), ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=flags', '-read_intervals', '%+#1', '-of', 'csv=p=0', file]);
    expect(flags.trim().split('\n')[0]).toMatch(/^K/);
    const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
    const frameBytes = W * H * 4;
    const frames = Math.floor(stdout.length / frameBytes);
    expect(frames).toBeGreaterThanOrEqual(15);
    // The last frame was captured just before the recorder stopped; the first near its start.
    const last = decodeBarcode(stdout.subarray((frames - 1) * frameBytes, frames * frameBytes), W, H);
    const first = decodeBarcode(stdout.subarray(0, frameBytes), W, H);
    expect(last).not.toBeNull();
    expect(first).not.toBeNull();
    expect(Math.abs(last! - ended / 1000)).toBeLessThanOrEqual(2);
    expect(Math.abs(first! - started / 1000)).toBeLessThanOrEqual(2);
    expect(last!).toBeGreaterThanOrEqual(first!);
  });

  it('drops readers when the camera goes dark and serves them again when it returns', async () => {
    const cam = venue.cameras[0]!;
    await cam.pauseStream();
    expect(cam.isStreaming()).toBe(false);
    const err = await run(ffprobePath(), ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', withCreds(cam.rtspUrl, cam.username, cam.password)], { timeout: 20_000 }).then(
      () => null,
      (e: { stderr?: string }) => e,
    );
    expect(String(err?.stderr)).toMatch(/404/);
    cam.resumeStream();
    await expect.poll(() => cam.isStreaming(), { timeout: 15_000 }).toBe(true);
  });

  it('powers a camera off (no ONVIF, no stream) and on again at the same address', async () => {
    const cam = venue.cameras[0]!;
    await cam.stop();
    expect(cam.isStreaming()).toBe(false);
    await expect(fetch(cam.xaddr, { method: 'POST', body: '' })).rejects.toThrow();
    await cam.start();
    const res = await fetch(cam.xaddr, { method: 'POST', body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>' });
    expect(res.status).toBe(200);
    await expect.poll(() => cam.isStreaming(), { timeout: 15_000 }).toBe(true);
  });

  it('restarts ffmpeg that died on its own', async () => {
    const cam = venue.cameras[0]!;
    await expect.poll(() => cam.source.pid, { timeout: 10_000 }).not.toBeNull();
    const before = cam.source.starts;
    process.kill(cam.source.pid!, 'SIGKILL');
    await expect.poll(() => cam.source.starts, { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(() => cam.isStreaming(), { timeout: 15_000 }).toBe(true);
  });
});
