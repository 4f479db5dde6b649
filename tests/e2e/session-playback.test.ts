import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobePath } from '../../config/binaries.ts';
import { loadEdgeAgentConfig } from '../../config/load.ts';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { SessionDetail, SessionList, type BidSession } from '../../protocol/index.ts';
import { demoVenuePlan } from '../../scripts/demo-venue.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { decodeBarcode } from '../../simulator/camera/clock-barcode.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { launchBrowser } from '../support/browser.ts';
import { buildDashboard } from '../support/dashboard-build.ts';
import { checks, hasCommand, need } from '../support/prerequisites.ts';
import { csrf, login, serverConfig, silent, tempDir, waitFor } from '../server/support.ts';

/**
 * The whole path on real parts: virtual cameras (real RTSP, ONVIF) → edge agent (ffmpeg, SQLite,
 * MQTT) → centre (PGlite, embedded broker, footage store) → dashboard in Debian's Chromium.
 */
const run = promisify(execFile);
const TZ = 'Asia/Shanghai';
const plan = demoVenuePlan();
const room = plan.rooms[0]!;
const roomCameras = plan.cameras.filter((c) => c.room === room.code);
const agentToken = 'e2e-agent-token-0123456789';
/** HH:MM:SS as the supervisor reads it (Beijing time). */
const beijing = (ms: number) => new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(ms);

const ffmpegReady = hasCommand('ffmpeg') ? { ok: true as const } : { ok: false as const, reason: 'ffmpeg missing: apt-get install ffmpeg' };

describe.runIf(need(checks.chromium(), ffmpegReady))('camera to the supervisor’s screen', () => {
  const work = tempDir('e2e');
  let dashboardDir = '';
  let venue: VirtualVenue;
  let server: RunningServer;
  let agent: Agent;
  let cookie = '';
  let session: BidSession;

  beforeAll(async () => {
    dashboardDir = await buildDashboard();
    venue = await startVirtualVenue({
      venueId: plan.venue.id,
      cameras: roomCameras.map((c) => ({ code: c.code, name: c.code, username: plan.cameraUser, password: plan.cameraPassword })),
    });
    server = await startServer(
      serverConfig(work.dir, {
        agents: [{ venueId: plan.venue.id, token: agentToken }],
        demo: { accounts: true, password: 'e2e-password-1' },
        dashboardDir,
      }),
      { logger: silent },
    );
    agent = await startAgent(
      loadEdgeAgentConfig({
        env: {},
        file: null,
        overrides: {
          venue: plan.venue,
          rooms: [room],
          cameras: roomCameras.map((c) => ({ code: c.code, name: c.name, room: c.room, address: venue.cameras.find((v) => v.code === c.code)!.xaddr })),
          defaultCredentials: { username: plan.cameraUser, password: plan.cameraPassword },
          discovery: { enabled: false, interfaces: [], timeoutMs: 3000, intervalMinutes: 60 },
          centre: { url: server.url, token: agentToken },
          mqtt: { url: server.brokerUrl },
          dataDir: `${work.dir}/edge`,
          upload: { concurrency: 2, retryDelayMs: 300 },
          logLevel: 'silent',
        },
      }),
      { logger: silent },
    );
    cookie = await login(server.url, 'supervisor', 'e2e-password-1');
    await waitFor('the venue inventory at the centre', async () => {
      const res = await fetch(`${server.url}/api/venues`, { headers: { cookie } });
      const body = (await res.json()) as { venues: { id: string; cameras: unknown[] }[] };
      return body.venues.find((v) => v.id === plan.venue.id && v.cameras.length === roomCameras.length);
    }, 30_000);
    const now = Date.now();
    const created = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, ...csrf(cookie) },
      body: JSON.stringify({ ...plan.sessions[0], hours: undefined, plannedStart: new Date(now).toISOString(), plannedEnd: new Date(now + 3600_000).toISOString() }),
    });
    expect(created.status).toBe(201);
    session = SessionList.shape.sessions.element.parse(await created.json());
    // Enough footage at the centre to seek inside: 12 s on every camera of the room.
    await waitFor('12 s of stored footage on every camera', async () => {
      const detail = SessionDetail.parse(await (await fetch(`${server.url}/api/sessions/${session.id}`, { headers: { cookie } })).json());
      return detail.cameras.length === roomCameras.length && detail.cameras.every((c) => c.storedSeconds >= 12) ? detail : null;
    }, 60_000);
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await venue?.stop();
    work.remove();
    if (dashboardDir) rmSync(dashboardDir, { recursive: true, force: true });
  });

  it('ffprobe reads a camera’s playlist for a time range and its length matches the range', async () => {
    const detail = SessionDetail.parse(await (await fetch(`${server.url}/api/sessions/${session.id}`, { headers: { cookie } })).json());
    const camera = detail.cameras[0]!;
    // A range strictly inside recorded footage: the playlist holds the segments it overlaps, so
    // its length exceeds the range by less than one segment at each end.
    const from = new Date(Date.now() - 9000);
    const to = new Date(Date.now() - 3000);
    const url = `${server.url}/api/cameras/${camera.cameraId}/vod.m3u8?from=${from.toISOString()}&to=${to.toISOString()}`;
    const playlist = await (await fetch(url, { headers: { cookie } })).text();
    expect(playlist).toContain('#EXT-X-ENDLIST');
    expect(playlist).toMatch(/#EXT-X-PROGRAM-DATE-TIME:/);
    const { stdout } = await run(ffprobePath(), ['-v', 'error', '-headers', `Cookie: ${cookie}\r\n`, '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', url], { timeout: 30_000 });
    const probe = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const segmentSeconds = 2;
    expect(Number(probe.format.duration)).toBeGreaterThanOrEqual(6 - 0.5);
    expect(Number(probe.format.duration)).toBeLessThanOrEqual(6 + 2 * segmentSeconds);
  });

  it('a supervisor logs in, opens the session, and sees every camera play the requested wall-clock time', async () => {
    const browser = await launchBrowser({ timezoneId: TZ, locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/`);
      await page.getByTestId('login-username').fill('supervisor');
      await page.getByTestId('login-password').fill('e2e-password-1');
      await page.getByTestId('login-submit').click();
      // The list shows a span of days (by default a week either side of today): a span that ends
      // before the session hides it, and putting the end back brings it back.
      const row = page.locator(`[data-testid="session-row"][data-session-id="${session.id}"]`);
      await row.waitFor();
      const setDay = async (id: 'sessions-from' | 'sessions-to', day: string) => {
        await page.getByTestId(id).fill(day);
        await page.getByTestId(id).dispatchEvent('change');
      };
      const [defaultFrom, defaultTo] = [await page.getByTestId('sessions-from').inputValue(), await page.getByTestId('sessions-to').inputValue()];
      await setDay('sessions-from', '2020-01-01');
      await setDay('sessions-to', '2020-01-31');
      await page.getByTestId('sessions-empty').waitFor();
      await setDay('sessions-to', defaultTo);
      await setDay('sessions-from', defaultFrom);
      await row.click();

      // Every camera of the room gets a player, and each one plays: its media time advances.
      await expect.poll(() => page.getByTestId('camera-player').count(), { timeout: 20_000 }).toBe(roomCameras.length);
      for (const cam of roomCameras) {
        const id = `${plan.venue.id}.${cam.code}`;
        const start = await page.waitForFunction((cid) => {
          const p = (globalThis as any).__vwPlayers?.[cid];
          return p && p.video.currentTime > 0 ? p.video.currentTime : false;
        }, id, { timeout: 30_000 });
        const t0 = (await start.jsonValue()) as number;
        await page.waitForFunction(([cid, t]) => (globalThis as any).__vwPlayers[cid].video.currentTime > (t as number) + 1, [id, t0] as const, { timeout: 15_000 });
      }

      // The timeline's axis reads in round Beijing times (whole minutes or seconds), not the
      // session's start plus sixths of its length.
      const ticks = await page.getByTestId('timeline-tick').evaluateAll((els) => els.map((e) => ({ ms: Number(e.getAttribute('data-ms')), label: e.textContent ?? '' })));
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      expect(ticks.length).toBeLessThanOrEqual(7);
      for (const t of ticks) {
        expect(t.ms % 1000).toBe(0);
        expect(beijing(t.ms).startsWith(t.label)).toBe(true);
        if (t.label.length === 5) expect(beijing(t.ms).endsWith(':00')).toBe(true);
      }
      const steps = new Set(ticks.slice(1).map((t, i) => t.ms - ticks[i]!.ms));
      expect(steps.size).toBe(1);

      // Jump to a wall-clock second 8 s after the session started, by the clock in the time zone
      // the supervisor reads (Beijing time), then pause and read the frame on screen.
      const target = Date.parse(session.plannedStart) + 8000;
      const hhmmss = beijing(target);
      await page.getByTestId('pause-all').click();
      await page.getByTestId('seek-input').fill(hhmmss);
      await page.getByTestId('seek-button').click();

      for (const cam of roomCameras) {
        const id = `${plan.venue.id}.${cam.code}`;
        // Wait until the player has landed near the target and has a decoded frame there.
        await page.waitForFunction(([cid, t]) => {
          const p = (globalThis as any).__vwPlayers[cid];
          const wc = p.wallClock() as Date | null;
          return !p.video.seeking && p.video.readyState >= 2 && wc !== null && Math.abs(wc.getTime() - (t as number)) < 1500;
        }, [id, target] as const, { timeout: 20_000 });
        // seeked can come before the new frame reaches the compositor (a loaded machine: the frame
        // from before the seek, read once, was 3 s off): read what is painted until it settles.
        const shownSecond = async (): Promise<number | null> => {
          const frame = await page.evaluate((cid) => {
            const video = (globalThis as any).__vwPlayers[cid].video;
            const canvas = (globalThis as any).document.createElement('canvas');
            canvas.width = video.videoWidth;
            canvas.height = video.videoHeight;
            const ctx = canvas.getContext('2d')!;
            ctx.drawImage(video, 0, 0);
            return { width: canvas.width, height: canvas.height, data: Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data) };
          }, id);
          return decodeBarcode(Uint8Array.from(frame.data), frame.width, frame.height);
        };
        let last: number | null = null;
        await expect
          .poll(async () => {
            last = await shownSecond();
            return last === null ? Number.POSITIVE_INFINITY : Math.abs(last * 1000 - target);
          }, { timeout: 10_000, interval: 250 })
          .toBeLessThanOrEqual(2000)
          .catch((err: Error) => {
            throw new Error(last === null ? `camera ${id}: the burned-in clock must be readable` : `camera ${id} shows ${new Date(last * 1000).toISOString()} for ${new Date(target).toISOString()} (${err.message})`);
          });
      }
      const shown = await page.getByTestId('wall-clock').getAttribute('datetime');
      expect(Math.abs(Date.parse(shown!) - target)).toBeLessThanOrEqual(2000);
    } finally {
      await browser.close();
    }
  });
});
