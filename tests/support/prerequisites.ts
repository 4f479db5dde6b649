import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Tests that need something from the machine (ffmpeg, chromium, a PostgreSQL server, GStreamer)
 * ask here. On a developer's machine a missing prerequisite skips the test with the reason; under
 * CI=true it fails the run, because a green CI that skipped is a lie.
 */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export type Check = { ok: true } | { ok: false; reason: string };

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const checks = {
  chromium: (): Check =>
    existsSync('/usr/bin/chromium') ? { ok: true } : { ok: false, reason: 'Debian chromium missing: apt-get install chromium' },
  gstRtspServer: (): Check => {
    try {
      execFileSync('/usr/bin/python3', ['-c', "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"], { stdio: 'ignore' });
      return { ok: true };
    } catch {
      return { ok: false, reason: 'GStreamer RTSP server missing: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-x' };
    }
  },
  netns: (): Check => {
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
      return process.getuid?.() === 0 ? { ok: true } : { ok: false, reason: 'network namespaces need root' };
    } catch {
      return { ok: false, reason: 'ip netns unavailable: apt-get install iproute2 and run as root' };
    }
  },
};

/**
 * Returns true when the test may run. Use as `describe.runIf(need(checks.chromium()))`; under CI a
 * missing prerequisite throws at collection time so the file fails loudly.
 */
export function need(...results: Check[]): boolean {
  const missing = results.filter((r): r is { ok: false; reason: string } => !r.ok);
  if (missing.length === 0) return true;
  const why = missing.map((m) => m.reason).join('; ');
  if (inCI) throw new Error(`Missing prerequisite under CI=true: ${why}`);
  console.warn(`skipping: ${why}`);
  return false;
}
