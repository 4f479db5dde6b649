import { readFileSync, readdirSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Logger } from 'pino';

/**
 * Recorders left running by an agent that was killed (kill -9, a crash, the OOM killer) keep
 * writing segments nobody catalogues and hold the camera's RTSP session. At start-up the agent
 * ends every ffmpeg whose output lies in its own recordings folder. Linux only (/proc); elsewhere a
 * no-op.
 */
export async function reapOrphanRecorders(recordingsDir: string, logger: Logger, graceMs = 3000): Promise<number[]> {
  const prefix = resolve(recordingsDir) + sep;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const reaped: number[] = [];
  for (const d of entries) {
    const pid = Number(d);
    if (pid === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!/(^|\/)ffmpeg$/.test(args[0] ?? '')) continue;
    if (!args.some((a) => a.startsWith(prefix))) continue;
    try {
      // SIGINT first, so ffmpeg closes its segment and playlist as a normal stop would.
      process.kill(pid, 'SIGINT');
      reaped.push(pid);
    } catch {
      // already exited
    }
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const until = Date.now() + graceMs; reaped.some(alive) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
  for (const pid of reaped.filter(alive)) process.kill(pid, 'SIGKILL');
  if (reaped.length) logger.warn({ pids: reaped, recordingsDir }, 'ended recorders left running by a previous agent (killed or crashed)');
  return reaped;
}
