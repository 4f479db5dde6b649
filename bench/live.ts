import { rmSync } from 'node:fs';
import { launchBrowser } from '../tests/support/browser.ts';
import { buildDashboard } from '../tests/support/dashboard-build.ts';
import { LIVE_CAMERA_ID, openLiveInDashboard, percentile, sampleLiveLatency, startLiveChain } from '../tests/support/live-chain.ts';

/**
 * Live latency through the centre (issue 5 benchmark): virtual camera → edge agent (recording,
 * live push) → centre (live buffer) → the dashboard's live mode in Debian's Chromium. One sample
 * of Date.now() − hls.js playingDate per second once playback has settled.
 */
export async function benchLive(opts: { samples?: number; everyMs?: number; settleMs?: number; log?: (line: string) => void } = {}): Promise<string> {
  const samplesWanted = opts.samples ?? 20;
  const log = opts.log ?? ((line: string) => console.log(line));
  const dashboardDir = await buildDashboard();
  const chain = await startLiveChain({ idleSeconds: 60, dashboardDir });
  try {
    const browser = await launchBrowser({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    try {
      const page = await browser.context.newPage();
      const startupMs = await openLiveInDashboard(chain, page);
      log(`live: first frame ${startupMs} ms after the click`);
      const settleMs = opts.settleMs ?? 4000;
      const samples = await sampleLiveLatency(page, LIVE_CAMERA_ID, samplesWanted, opts.everyMs ?? 1000, settleMs);
      const median = percentile(samples, 50);
      const p95 = percentile(samples, 95);
      log(`live: median ${median} ms, p95 ${p95} ms over ${samples.length} samples`);
      const segmentSeconds = chain.agent.config.recording.segmentSeconds;
      return [
        '### Live latency through the centre',
        '',
        `Virtual camera (640×360, 15 fps, H.264) → edge agent → centre → dashboard live mode in Chromium; `
          + `recording.segmentSeconds = ${segmentSeconds}, hls.js one segment behind live (liveSyncDurationCount 1, blocking playlist reload). `
          + `Latency = Date.now() − hls.js playingDate, ${samples.length} samples, one every ${(opts.everyMs ?? 1000) / 1000} s, `
          + `from ${settleMs / 1000} s after the first frame. Target ≤ 4 s.`,
        '',
        '| measure | value |',
        '| --- | --- |',
        `| median latency | ${(median / 1000).toFixed(2)} s |`,
        `| p95 latency | ${(p95 / 1000).toFixed(2)} s |`,
        `| min / max | ${(Math.min(...samples) / 1000).toFixed(2)} / ${(Math.max(...samples) / 1000).toFixed(2)} s |`,
        `| click to first frame | ${(startupMs / 1000).toFixed(2)} s |`,
        '',
        `Samples (ms): ${samples.join(', ')}`,
      ].join('\n');
    } finally {
      await browser.close();
    }
  } finally {
    await chain.stop();
    rmSync(dashboardDir, { recursive: true, force: true });
  }
}
