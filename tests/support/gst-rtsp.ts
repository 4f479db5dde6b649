import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

/**
 * Starts GStreamer's RTSP server (tests/fixtures/gst-rtsp-server.py) on a free port: a camera we
 * did not write, serving H.264 + PCMU. Check `checks.gstRtspServer()` before calling.
 */
const script = fileURLToPath(new URL('../fixtures/gst-rtsp-server.py', import.meta.url));

export interface GstRtspServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}


export async function startGstRtspServer(path = '/cam', codec: 'h264' | 'h265' = 'h264'): Promise<GstRtspServer> {
  let lastError: Error | null = null;
  // The port is free when read but the server binds later: retry on the rare race.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn('/usr/bin/python3', [script, String(port), path, codec], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`GStreamer RTSP server did not start in 10 s: ${stderr}`)), 10_000);
        child.stdout!.on('data', (d: Buffer) => {
          const m = /READY (\S+)/.exec(d.toString());
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`GStreamer RTSP server exited with ${code}: ${stderr}`));
        });
      });
      const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      };
      return { url, port, process: child, stop };
    } catch (err) {
      lastError = err as Error;
      child.kill('SIGKILL');
    }
  }
  throw lastError!;
}
