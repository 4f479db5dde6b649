import { spawn } from 'node:child_process';
import { ffmpegPath } from '../../config/binaries.ts';
import { redact, withCredentials } from './ffmpeg.ts';

/** Largest snapshot sent to the centre (it travels in one MQTT reply). */
export const MAX_SNAPSHOT_BYTES = 500 * 1024;

/** One JPEG frame of a camera's RTSP stream, with a timeout and a size cap; ffmpeg never outlives it. */
export function grabSnapshot(rtspUrl: string, username: string, password: string, transport: 'tcp' | 'udp', timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-rtsp_transport', transport, '-i', withCredentials(rtspUrl, username, password), '-frames:v', '1', '-an', '-vf', 'scale=640:-2', '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '7', 'pipe:1'];
    const proc = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    proc.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_SNAPSHOT_BYTES) proc.kill('SIGKILL');
      else out.push(d);
    });
    proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const jpeg = Buffer.concat(out);
      if (size > MAX_SNAPSHOT_BYTES) return reject(new Error(`snapshot larger than ${MAX_SNAPSHOT_BYTES} bytes`));
      if (code === 0 && jpeg.length > 0) return resolve(jpeg);
      reject(new Error(signal ? `snapshot timed out after ${timeoutMs} ms` : `snapshot failed: ${redact(err.trim()) || `ffmpeg exit ${code}`}`));
    });
  });
}
