import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobePath } from '../../config/binaries.ts';
import { login, waitFor } from '../server/support.ts';
import { checks, hasCommand, need } from '../support/prerequisites.ts';
import { launchBrowser } from '../support/browser.ts';
import { buildDashboard } from '../support/dashboard-build.ts';
import { LIVE_CAMERA_ID, LIVE_PASSWORD, LIVE_VENUE, openLiveInDashboard, openSessionInDashboard, percentile, sampleLiveLatency, startLiveChain, type LiveChain } from '../support/live-chain.ts';

/**
 * Live view through the centre on real parts: virtual camera (RTSP) → edge agent (ffmpeg recording,
 * MQTT `live` command, HTTP push) → centre (in-memory live buffer, sliding playlist) → ffprobe and
 * Chromium (hls.js). The idle time is shortened to 3 s through the settings.
 */
const run = promisify(execFile);
const IDLE_SECONDS = 3;
/** Live is seconds behind the camera; 20 s behind would be a replay, whatever the load on the machine. */
const LIVE_NOT_STORED_MS = 20_000;
const ffmpegReady = hasCommand('ffmpeg') ? { ok: true as const } : { ok: false as const, reason: 'ffmpeg missing: apt-get install ffmpeg' };

async function livePlaylist(chain: LiveChain, cookie = chain.cookie): Promise<Response> {
  return fetch(`${chain.server.url}/api/cameras/${LIVE_CAMERA_ID}/live.m3u8`, { headers: { cookie } });
}

/** The first answer may be 503 "starting" (with Retry-After); then the playlist. */
async function waitForPlaylist(chain: LiveChain): Promise<{ text: string; starting: string[] }> {
  const starting: string[] = [];
  const text = await waitFor('the live playlist', async () => {
    const res = await livePlaylist(chain);
    if (res.status === 200) return res.text();
    const body = (await res.json()) as { error: { message: string } };
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    starting.push(body.error.message);
    return null;
  }, 30_000);
  return { text, starting };
}

describe.runIf(need(checks.chromium(), ffmpegReady))('live view through the centre', () => {
  let chain: LiveChain;
  let dashboardDir = '';

  beforeAll(async () => {
    dashboardDir = await buildDashboard();
    chain = await startLiveChain({ idleSeconds: IDLE_SECONDS, dashboardDir });
  }, 120_000);

  afterAll(async () => {
    await chain?.stop();
    if (dashboardDir) rmSync(dashboardDir, { recursive: true, force: true });
  });

  it('starts on demand, slides, and ffprobe reads the live playlist', async () => {
    expect(chain.agent.live.active(LIVE_CAMERA_ID)).toBe(false);
    expect(chain.server.services.live.activeCameras()).toEqual([]);
    const { text, starting } = await waitForPlaylist(chain);
    for (const m of starting) expect(m).toMatch(/starting/);
    expect(chain.agent.live.active(LIVE_CAMERA_ID)).toBe(true);
    expect(text).toMatch(/#EXT-X-PROGRAM-DATE-TIME:/);
    expect(text).not.toContain('#EXT-X-ENDLIST');
    expect(text).toMatch(/^live\/\d+\.ts$/m);
    const seq = (t: string) => Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(t)![1]);
    const last = (t: string) => Number([...t.matchAll(/^live\/(\d+)\.ts$/gm)].at(-1)![1]);
    // The newest segment is recent: live, not footage from the store.
    const pdts = [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/g)].map((m) => Date.parse(m[1]!));
    expect(Date.now() - pdts.at(-1)!).toBeLessThan(LIVE_NOT_STORED_MS);

    const url = `${chain.server.url}/api/cameras/${LIVE_CAMERA_ID}/live.m3u8`;
    const { stdout } = await run(ffprobePath(), ['-v', 'error', '-headers', `Cookie: ${chain.cookie}\r\n`, '-show_entries', 'stream=codec_name,codec_type', '-of', 'json', url], { timeout: 30_000 });
    const probe = JSON.parse(stdout) as { streams: { codec_name: string; codec_type: string }[] };
    expect(probe.streams.find((s) => s.codec_type === 'video')?.codec_name).toBe('h264');

    // A segment is the camera's MPEG-TS as recorded (sync byte 0x47 every 188 bytes).
    const segRes = await fetch(`${chain.server.url}/api/cameras/${LIVE_CAMERA_ID}/live/${last(text)}.ts`, { headers: { cookie: chain.cookie } });
    expect(segRes.status).toBe(200);
    const seg = Buffer.from(await segRes.arrayBuffer());
    expect(seg.length).toBeGreaterThan(188 * 10);
    expect(seg[0]).toBe(0x47);
    expect(seg[188]).toBe(0x47);

    // It slides; a blocking reload (_HLS_msn) answers once the next segment is in, not before.
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
    const current = await (await livePlaylist(chain)).text();
    const blocked = await fetch(`${url}?_HLS_msn=${last(current) + 1}`, { headers: { cookie: chain.cookie } });
    expect(blocked.status).toBe(200);
    const later = await blocked.text();
    expect(last(later)).toBeGreaterThanOrEqual(last(current) + 1);
    expect(seq(later)).toBeGreaterThanOrEqual(seq(text));

    // Watching live is in the audit trail like footage playback.
    const audit = await chain.server.services.audit.list({ subjectType: 'camera', subjectId: LIVE_CAMERA_ID });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['footage.live', 'footage.live_segment']));
  }, 60_000);

  it('another venue’s user gets 404; the box only pushes its own cameras', async () => {
    await chain.server.services.auth.createUser({ username: 'othercounty', password: LIVE_PASSWORD, displayName: 'Other', role: 'supervisor', venueIds: ['other-venue'] });
    const other = await login(chain.server.url, 'othercounty', LIVE_PASSWORD);
    const res = await livePlaylist(chain, other);
    expect(res.status).toBe(404);
    const seg = await fetch(`${chain.server.url}/api/cameras/${LIVE_CAMERA_ID}/live/0.ts`, { headers: { cookie: other } });
    expect(seg.status).toBe(404);
    // A box token pushing another venue's camera is refused.
    const push = await fetch(`${chain.server.url}/api/live/other-venue.cam/segments`, {
      method: 'PUT',
      headers: { authorization: 'Bearer live-agent-token-0123456789', 'x-vw-live-segment': JSON.stringify({ runId: crypto.randomUUID(), start: new Date().toISOString(), durationSeconds: 2 }) },
      body: Buffer.alloc(188, 0x47),
    });
    expect(push.status).toBe(403);
  });

  // The ≤ 4 s latency target is a benchmark (bench/live.ts, docs/benchmarks.md), not a timed test: a
  // loaded CI machine must not fail the build on speed. Here: Chromium plays what the camera sees now
  // (seconds behind, not the minutes-old footage of the store) and keeps playing.
  it('Chromium plays live in the dashboard and keeps up with the wall clock', async () => {
    const browser = await launchBrowser({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    try {
      const page = await browser.context.newPage();
      const startupMs = await openLiveInDashboard(chain, page);
      expect(await page.getByTestId('live-badge').count()).toBe(1);
      const playingAt = () => page.evaluate((cid) => ((globalThis as any).__vwPlayers[cid].hls?.playingDate as Date | null)?.getTime() ?? null, LIVE_CAMERA_ID);
      const samples = await sampleLiveLatency(page, LIVE_CAMERA_ID, 8);
      const first = await playingAt();
      await page.waitForTimeout(3000);
      const second = await playingAt();
      const median = percentile(samples, 50);
      console.log(`live view in Chromium: first frame ${startupMs} ms after the click; latency median ${median} ms, samples ${samples.join(', ')}`);
      expect(samples.length).toBe(8);
      for (const ms of samples) expect(ms).toBeGreaterThan(0);
      expect(median).toBeLessThan(LIVE_NOT_STORED_MS);
      // Still playing: the picture's wall-clock time moved on with the real one.
      expect(first).not.toBeNull();
      expect(second! - first!).toBeGreaterThan(1000);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('nobody watching for idleSeconds stops the push at the box', async () => {
    const pushedBefore = chain.agent.live.pushed;
    expect(pushedBefore).toBeGreaterThan(0);
    await waitFor('the centre to end live view', () => chain.server.services.live.activeCameras().length === 0, (IDLE_SECONDS + 3) * 1000);
    await waitFor('the box to stop pushing', () => !chain.agent.live.active(LIVE_CAMERA_ID), 5000);
    const stoppedAt = chain.agent.live.pushed;
    await new Promise((r) => setTimeout(r, 4500));
    // At most one segment already on its way when the stop arrived.
    expect(chain.agent.live.pushed - stoppedAt).toBeLessThanOrEqual(1);

    // A stop that never arrives (centre gone): the box's lease ends the push by itself.
    chain.agent.live.lease(LIVE_CAMERA_ID, 1);
    expect(chain.agent.live.active(LIVE_CAMERA_ID)).toBe(true);
    await new Promise((r) => setTimeout(r, 1200));
    expect(chain.agent.live.active(LIVE_CAMERA_ID)).toBe(false);
  }, 25_000);

  it('an offline box: a clear error, not a hang', async () => {
    await chain.agent.stop();
    await waitFor('the venue offline at the centre', async () => {
      const res = await fetch(`${chain.server.url}/api/venues`, { headers: { cookie: chain.cookie } });
      const body = (await res.json()) as { venues: { id: string; online: boolean }[] };
      return body.venues.find((v) => v.id === LIVE_VENUE.id)?.online === false;
    }, 15_000);
    const res = await livePlaylist(chain);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeNull();
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/offline/);

    // The dashboard says so in the player, in Chinese by default.
    const browser = await launchBrowser({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    try {
      const page = await browser.context.newPage();
      await openSessionInDashboard(chain, page);
      await page.getByTestId('live-toggle').first().click();
      const message = page.getByTestId('live-message');
      // The centre's refusal in Chinese too, not only the player's prefix.
      await expect.poll(() => message.textContent(), { timeout: 10_000 }).toMatch(/无法直播：.*现场主机离线/);
      expect(await page.getByTestId('live-toggle').first().textContent()).toContain('返回录像');
    } finally {
      await browser.close();
    }
  }, 45_000);
});
