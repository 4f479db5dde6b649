import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { chromium, type BrowserContext } from 'playwright-core';
import { sensorLocalId } from '../../edge-agent/sensors/sensor-hub.ts';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import type { DeviceList } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, quietLogger, scratchDir, waitFor } from '../edge-agent/agent-fixture.ts';
import { checks, need } from '../support/prerequisites.ts';
import { login, serverConfig, silent, tempDir, uniqueVenueId } from '../server/support.ts';

const root = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'board-pass-1';

/**
 * The device-health board in Chromium against the real centre, agent and virtual cameras: the
 * board shows a camera going offline (the virtual camera is switched off) without a reload, a
 * device's history renders as a chart, an alert is acknowledged from the list, and a Zigbee2MQTT
 * door sensor on the venue broker shows up live.
 */
describe.runIf(need(checks.chromium()))('device-health board in the browser', () => {
  const venueId = uniqueVenueId('board');
  const token = randomBytes(24).toString('hex');
  const tmp = tempDir('board');
  const scratch = scratchDir('board');
  const outDir = mkdtempSync(path.join(tmpdir(), 'vw-dash-'));
  const profile = mkdtempSync(path.join(tmpdir(), 'vw-chromium-'));
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  let context: BrowserContext;
  const cam1 = `${venueId}.cam-1`;
  // Room sensors come from the venue's own broker (Mosquitto here), under prefixes unique to this run.
  const z2m = `z2m-board-${randomBytes(4).toString('hex')}`;
  const doorId = `${venueId}.${sensorLocalId('z2m', 'hall_door')}`;

  beforeAll(async () => {
    await build({ configFile: path.join(root, 'dashboard/vite.config.ts'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    server = await startServer(serverConfig(tmp.dir, { agents: [{ venueId, token }], dashboardDir: outDir }), { logger: silent });
    await server.services.auth.createUser({ username: 'tech', password: PASSWORD, displayName: 'Technician', role: 'maintenance' });
    const small = { width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: false };
    venue = await startVirtualVenue({
      cameras: [
        { code: 'cam-1', name: 'Left', username: 'admin', password: 'pw-board', ...small },
        { code: 'cam-2', name: 'Right', username: 'admin', password: 'pw-board', ...small },
      ],
      logger: quietLogger(),
    });
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Board venue' },
        rooms: [{ code: 'open-1', name: 'Opening room 1', kind: 'bid_opening' }],
        cameras: venue.cameras.map((c) => ({ code: c.code, name: c.name, room: 'open-1', address: c.xaddr, username: c.username, password: c.password })),
        mqtt: { url: server.brokerUrl, keepaliveSeconds: 10 },
        centre: { url: server.url, token },
        dataDir: scratch.dir,
        health: { intervalSeconds: 1, clockDriftMs: 2000, clockCheckMinutes: 60, metrics: { host: '127.0.0.1', port: 0 } },
        sensors: { brokerUrl: 'mqtt://127.0.0.1:1883', username: null, password: null, zigbee2mqttPrefix: z2m, homeAssistantPrefix: `${z2m}-ha`, nativePrefix: `${z2m}-vw`, offlineAfterSeconds: 60 },
      }),
      { logger: quietLogger() },
    );
    const cookie = await login(server.url, 'tech', PASSWORD);
    await waitFor(
      'both cameras online at the centre',
      async () => {
        const l = (await (await fetch(`${server.url}/api/devices`, { headers: { cookie } })).json()) as DeviceList;
        return l.devices.filter((d) => d.kind === 'camera' && d.online).length === 2;
      },
      45_000,
    );
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    scratch.remove();
    tmp.remove();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  it('shows a camera going offline without a reload, charts its history, acknowledges the alert', async () => {
    const page = await context.newPage();
    const res = await context.request.post(`${server.url}/api/auth/login`, { data: { username: 'tech', password: PASSWORD } });
    expect(res.status()).toBe(200);
    await page.goto(`${server.url}/devices`);
    const row = page.getByTestId(`device-${cam1}`);
    await row.waitFor({ timeout: 20_000 });
    await page.waitForSelector(`[data-testid="device-${cam1}"][data-online="true"]`, { timeout: 20_000 });
    await page.waitForSelector('[data-testid="devices-live"]:has-text("实时")', { timeout: 10_000 });
    // A Zigbee2MQTT door sensor appears on the board live, among the devices without a room.
    const pub = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 4 });
    await pub.publishAsync(`${z2m}/hall_door`, JSON.stringify({ contact: true, battery: 77, linkquality: 99 }), { qos: 1 });
    await pub.endAsync();
    await page.waitForSelector(`[data-testid="device-${doorId}"][data-online="true"]`, { timeout: 20_000 });
    expect(await page.getByTestId(`device-${doorId}`).textContent()).toContain('77%');
    // Grouped by venue and room.
    const venueBox = page.getByTestId(`venue-${venueId}`);
    expect(await venueBox.locator('h3').allTextContents()).toEqual(['Opening room 1', '未分配房间']);
    // A marker a reload would wipe.
    await page.evaluate(() => ((globalThis as unknown as { __noReload: number }).__noReload = 1));

    await venue.cameras[0]!.stop();
    await page.waitForSelector(`[data-testid="device-${cam1}"][data-online="false"]`, { timeout: 40_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: number }).__noReload)).toBe(1);
    expect(await page.getAttribute(`[data-testid="device-${venueId}.cam-2"]`, 'data-online')).toBe('true');

    // History as a chart (chart.js draws on a canvas).
    await row.locator('button.name').click();
    const canvas = page.getByTestId('device-history-chart');
    await canvas.waitFor({ timeout: 10_000 });
    const box = await canvas.boundingBox();
    expect(box!.height).toBeGreaterThan(100);
    expect(await page.locator('.history p.muted').textContent()).not.toContain('（0 ');

    // The offline camera raised an alert, live; acknowledge it from the list.
    const alert = page.locator(`li[data-kind="device_offline"], li[data-kind="not_recording"]`).filter({ hasText: cam1 }).first();
    await alert.waitFor({ timeout: 20_000 });
    // In the dashboard's Chinese, what to do included, not the centre's English sentence.
    const said = (await alert.getByTestId('alert-message').textContent()) ?? '';
    expect(said).toMatch(/^摄像机 .*（.*）(离线|无应答|未在录像|有应答但没有视频)/);
    expect(said).not.toMatch(/camera .* (is|does)/);
    await alert.getByTestId('alert-ack').click();
    await alert.locator('text=tech').waitFor({ timeout: 10_000 });

    // Maintenance sends a command to the box from the board: a snapshot of the camera still on.
    await page.getByTestId(`device-${venueId}.cam-2`).locator('button', { hasText: '抓图' }).click();
    await page.waitForSelector(`[data-testid="device-${venueId}.cam-2"] img.snapshot`, { timeout: 30_000 });
    // Said in Chinese, the box's own detail after it.
    expect(await page.getByTestId('command-note').textContent()).toMatch(/^“抓图”已完成：.*bytes/);
    expect(await page.getByTestId('command-note').getAttribute('data-ok')).toBe('true');
    await page.close();
  }, 120_000);
});
