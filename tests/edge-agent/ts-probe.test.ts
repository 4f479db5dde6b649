import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../config/binaries.ts';
import { hashSegmentFile } from '../../edge-agent/recorder/playlist-watcher.ts';
import { TsProbe } from '../../edge-agent/recorder/ts-probe.ts';
import { scratchDir } from './agent-fixture.ts';

/**
 * The probe reads the segment's bytes as they are hashed: audio or not, and the frame rate the
 * camera delivered (health takes it from here, not from ffmpeg's stats line). Real MPEG-TS from
 * ffmpeg's own muxer, as the recorder writes it.
 */
describe('TS probe', () => {
  const scratch = scratchDir('ts-probe');
  afterAll(() => scratch.remove());

  const segment = (name: string, fps: number, audio: boolean, video = 'libx264'): string => {
    const out = join(scratch.dir, name);
    const args = ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${fps}`];
    if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=800:sample_rate=8000');
    args.push('-t', '2', '-c:v', video, '-preset', 'ultrafast', '-g', String(fps));
    if (audio) args.push('-c:a', 'aac');
    args.push('-f', 'mpegts', out);
    const r = spawnSync(ffmpegPath(), args, { stdio: 'pipe' });
    if (r.status !== 0) throw new Error(`ffmpeg could not make a test segment: ${r.stderr.toString()}`);
    return out;
  };

  it('measures the frame rate from the video timestamps and sees the audio, in the one read for the hash', () => {
    for (const [fps, audio] of [[25, true], [10, false], [15, true]] as const) {
      const probe = new TsProbe();
      const file = hashSegmentFile(segment(`s-${fps}.ts`, fps, audio), probe.push);
      expect(file!.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(probe.fps()).toBeCloseTo(fps, 1);
      expect(probe.result()).toBe(audio);
    }
  });

  it('names the codecs from the PMT, as ffmpeg names them (the recorder no longer reads its stream listing)', () => {
    const read = (file: string) => {
      const probe = new TsProbe();
      hashSegmentFile(file, probe.push);
      return probe.codecs();
    };
    expect(read(segment('h264-aac.ts', 10, true))).toEqual({ video: 'h264', audio: 'aac' });
    expect(read(segment('h264.ts', 10, false))).toEqual({ video: 'h264', audio: null });
    expect(read(segment('hevc-aac.ts', 10, true, 'libx265'))).toEqual({ video: 'hevc', audio: 'aac' });
  });

  it('says nothing of bytes that are not MPEG-TS', () => {
    const probe = new TsProbe();
    probe.push(Buffer.alloc(188 * 4, 0x11));
    expect(probe.fps()).toBeNull();
    expect(probe.result()).toBeNull();
    expect(probe.codecs()).toBeNull();
  });
});
