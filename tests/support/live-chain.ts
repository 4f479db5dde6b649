import type { Page } from 'playwright-core';
import { loadEdgeAgentConfig } from '../../config/load.ts';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { csrf, login, serverConfig, silent, tempDir, waitFor } from '../server/support.ts';

/**
 * The real live-view chain, shared by tests/continuity/live-view.test.ts and bench/live.ts:
 * virtual camera (RTSP + ONVIF) → edge agent (ffmpeg recording, MQTT) → centre (embedded broker,
 * PGlite) with one signed-in admin.
 */

export const LIVE_VENUE = { id: 'live-venue', name: 'Live view venue' };
export const LIVE_ROOM = { code: 'kb1', name: 'Bid room', kind: 'bid_opening' as const };
export const LIVE_CAMERA_CODE = 'kb1-cam1';
export const LIVE_CAMERA_ID = `${LIVE_VENUE.id}.${LIVE_CAMERA_CODE}`;
export const LIVE_PASSWORD = 'live-password-1';

export interface LiveChain {
  venue: VirtualVenue;
  server: RunningServer;
  agent: Agent;
  cookie: string;
  work: { dir: string; remove(): void };
  startAgent(): Promise<Agent>;
  stop(): Promise<void>;
}

export async function startLiveChain(opts: { idleSeconds: number; dashboardDir?: string }): Promise<LiveChain> {
  const work = tempDir('live');
  const agentToken = 'live-agent-token-0123456789';
  const venue = await startVirtualVenue({
    venueId: LIVE_VENUE.id,
    cameras: [{ code: LIVE_CAMERA_CODE, name: LIVE_CAMERA_CODE, username: 'admin', password: 'cam-pass', width: 640, height: 360, fps: 15, bitrateKbps: 600 }],
    logger: silent,
  });
  const server = await startServer(
    serverConfig(work.dir, {
      agents: [{ venueId: LIVE_VENUE.id, token: agentToken }],
      live: { idleSeconds: opts.idleSeconds, playlistSegments: 6, startWaitSeconds: 8 },
      ...(opts.dashboardDir ? { dashboardDir: opts.dashboardDir } : {}),
    }),
    { logger: silent },
  );
  const agentConfig = loadEdgeAgentConfig({
    env: {},
    file: null,
    overrides: {
      venue: LIVE_VENUE,
      rooms: [LIVE_ROOM],
      cameras: [{ code: LIVE_CAMERA_CODE, name: LIVE_CAMERA_CODE, room: LIVE_ROOM.code, address: venue.cameras[0]!.xaddr }],
      defaultCredentials: { username: 'admin', password: 'cam-pass' },
      discovery: { enabled: false, interfaces: [], timeoutMs: 3000, intervalMinutes: 60 },
      centre: { url: server.url, token: agentToken },
      mqtt: { url: server.brokerUrl },
      dataDir: `${work.dir}/edge`,
      health: { metrics: { host: '127.0.0.1', port: 0 } },
      events: { camera: false },
      logLevel: 'silent',
    },
  });
  const chain: LiveChain = {
    venue,
    server,
    agent: null as unknown as Agent,
    cookie: '',
    work,
    async startAgent() {
      chain.agent = await startAgent(agentConfig, { logger: silent });
      return chain.agent;
    },
    async stop() {
      await chain.agent?.stop();
      await server.stop();
      await venue.stop();
      work.remove();
    },
  };
  try {
    await chain.startAgent();
    await server.services.auth.createUser({ username: 'liveadmin', password: LIVE_PASSWORD, displayName: 'Live admin', role: 'admin' });
    chain.cookie = await login(server.url, 'liveadmin', LIVE_PASSWORD);
    // The camera is recording and the centre knows it (inventory) before anyone asks for live.
    await waitFor('the camera at the centre, recording', async () => {
      const res = await fetch(`${server.url}/api/venues`, { headers: { cookie: chain.cookie } });
      const body = (await res.json()) as { venues: { id: string; cameras: { id: string; recording?: boolean }[] }[] };
      return body.venues.find((v) => v.id === LIVE_VENUE.id)?.cameras.some((c) => c.id === LIVE_CAMERA_ID) && chain.agent.cameras().some((c) => c.recording);
    }, 40_000);
  } catch (err) {
    await chain.stop();
    throw err;
  }
  return chain;
}

/**
 * Signs in to the dashboard, opens a session of the camera's room (created now) and switches the
 * camera's player to live. Resolves with the ms from the click to the first frame playing.
 */
export async function openLiveInDashboard(chain: LiveChain, page: Page): Promise<number> {
  await openSessionInDashboard(chain, page);
  const clicked = Date.now();
  await page.getByTestId('live-toggle').first().click();
  await page.getByTestId('live-badge').waitFor({ timeout: 10_000 });
  await page.waitForFunction((cid) => {
    const p = (globalThis as any).__vwPlayers?.[cid];
    return !!p?.hls?.playingDate && p.video.currentTime > 0 && !p.video.paused;
  }, LIVE_CAMERA_ID, { timeout: 30_000 });
  return Date.now() - clicked;
}

/** The session each chain booked in its camera's room: a room takes one booking for a time. */
const booked = new WeakMap<LiveChain, string>();

/** Signs in and opens a session (booked now, once per chain) of the camera's room, up to its camera player. */
export async function openSessionInDashboard(chain: LiveChain, page: Page): Promise<void> {
  let sessionId = booked.get(chain);
  if (!sessionId) {
    const now = Date.now();
    const created = await fetch(`${chain.server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: chain.cookie, ...csrf(chain.cookie) },
      body: JSON.stringify({ projectCode: `LIVE-${now}`, projectName: 'Live view', kind: 'bid_opening', roomId: `${LIVE_VENUE.id}.${LIVE_ROOM.code}`, plannedStart: new Date(now - 60_000).toISOString(), plannedEnd: new Date(now + 3600_000).toISOString() }),
    });
    if (created.status !== 201) throw new Error(`session not created: ${created.status} ${await created.text()}`);
    sessionId = ((await created.json()) as { id: string }).id;
    booked.set(chain, sessionId);
  }
  const session = { id: sessionId };
  await page.goto(`${chain.server.url}/`);
  await page.getByTestId('login-username').fill('liveadmin');
  await page.getByTestId('login-password').fill(LIVE_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.locator(`[data-testid="session-row"][data-session-id="${session.id}"]`).click();
  await page.locator(`[data-testid="camera-player"][data-camera-id="${LIVE_CAMERA_ID}"]`).waitFor({ timeout: 20_000 });
}

/**
 * Latency samples in Chromium: Date.now() − hls.js playingDate of the camera's player (the
 * dashboard's live mode), one every `everyMs` once it plays.
 */
export async function sampleLiveLatency(page: Page, cameraId: string, samples: number, everyMs = 500, settleMs = 2000): Promise<number[]> {
  await page.waitForFunction((cid) => {
    const p = (globalThis as any).__vwPlayers?.[cid];
    return !!p?.hls?.playingDate && p.video.currentTime > 0 && !p.video.paused;
  }, cameraId, { timeout: 30_000 });
  // Let playback settle past the first segment before measuring.
  await page.waitForTimeout(settleMs);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const ms = await page.evaluate((cid) => {
      const p = (globalThis as any).__vwPlayers[cid];
      const d = p.hls?.playingDate as Date | null;
      return d ? Date.now() - d.getTime() : null;
    }, cameraId);
    if (ms !== null) out.push(ms);
    await page.waitForTimeout(everyMs);
  }
  return out;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
