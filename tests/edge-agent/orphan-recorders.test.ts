import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../config/binaries.ts';
import { reapOrphanRecorders } from '../../edge-agent/recorder/orphan-recorders.ts';
import { hasCommand, need } from '../support/prerequisites.ts';
import { quietLogger, scratchDir } from './agent-fixture.ts';

const ffmpegReady = hasCommand('ffmpeg') ? { ok: true as const } : { ok: false as const, reason: 'ffmpeg missing: apt-get install ffmpeg' };

describe.runIf(need(ffmpegReady))('recorders left behind by a killed agent', () => {
  const scratch = scratchDir('orphans');
  afterEach(() => scratch.remove());

  it('are ended at start-up when they write into this agent’s recordings, and only those', async () => {
    const mine = join(scratch.dir, 'recordings/v.cam/run-1');
    const other = join(scratch.dir, 'elsewhere');
    mkdirSync(mine, { recursive: true });
    mkdirSync(other, { recursive: true });
    const record = (dir: string) =>
      spawn(ffmpegPath(), ['-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=5', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'hls', '-hls_time', '2', join(dir, 'index.m3u8')], { stdio: 'ignore' });
    const orphan = record(mine);
    const stranger = record(other);
    const orphanExit = new Promise<NodeJS.Signals | null>((r) => orphan.on('exit', (_code, signal) => r(signal)));
    try {
      await new Promise((r) => setTimeout(r, 500));
      const reaped = await reapOrphanRecorders(join(scratch.dir, 'recordings'), quietLogger());
      expect(reaped).toEqual([orphan.pid]);
      expect(await orphanExit).not.toBe('SIGKILL'); // SIGINT sufficed: ffmpeg closed its playlist
      expect(stranger.exitCode).toBeNull();
      expect(stranger.signalCode).toBeNull();
    } finally {
      orphan.kill('SIGKILL');
      stranger.kill('SIGKILL');
    }
  });
});
