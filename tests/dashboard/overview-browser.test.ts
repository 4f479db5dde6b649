import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BidSession } from '../../protocol/api.ts';
import { encodeMessage } from '../../protocol/messages.ts';
import { CityOverview, type VenueOverview } from '../../protocol/overview.ts';
import { checks, need } from '../support/prerequisites.ts';
import { PASSWORD, startLedgerFixture, type Account, type LedgerFixture } from '../server/ledger-fixture.ts';
import { tempDir } from '../server/support.ts';

/**
 * 全市概览 in Chromium: the city supervisor sees one row per county venue with today's sessions,
 * open ledger entries and pending exports that were really booked, logged and requested through
 * the centre, the figures that need a person highlighted, the totals summed, and each figure
 * leading to its page. Every cell is held against GET /api/overview answered to the same user, so
 * the page shows what the server says and no more; a venue-scoped officer sees only their venue.
 * The dashboard is built fresh for this run.
 */

const root = path.resolve(import.meta.dirname, '../..');

const box = { cpuPercent: 1, memoryUsedBytes: 1, memoryTotalBytes: 2, diskFreeBytes: 1e9, diskTotalBytes: 2e9, recordingBytesPerDay: 0, forecastDays: null, brokerConnected: true, outboxDepth: 0, uptimeSeconds: 1, agentVersion: 'test' };
const camera = (id: string, roomId: string, ok: boolean) => ({
  id,
  roomId,
  name: id,
  online: ok,
  state: ok ? ('ok' as const) : ('unreachable' as const),
  recording: ok,
  fps: ok ? 25 : null,
  bitrateKbps: ok ? 4000 : null,
  lastSegmentAgeSeconds: ok ? 1 : null,
  reconnectsLastHour: 0,
  clockOffsetMs: 0,
  hasAudio: true,
  lastError: ok ? null : 'no answer',
});

describe.runIf(need(checks.chromium()))('city overview (Chromium)', () => {
  const tmp = tempDir('overview-browser');
  const outDir = path.join(tmp.dir, 'dashboard');
  let fx: LedgerFixture;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let sessionA: BidSession;
  let sessionB: BidSession;

  async function signIn(username: string, to: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport, hasTouch: true, locale: 'zh-CN' });
    await context.addInitScript("localStorage.setItem('vw.locale', 'zh-CN')");
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${fx.server.url}/login?redirect=${encodeURIComponent(to)}`);
    await page.fill('[data-testid=login-username]', username);
    await page.fill('[data-testid=login-password]', PASSWORD);
    await page.click('[data-testid=login-submit]');
    await page.waitForURL((u) => u.pathname === to);
    return page;
  }

  const overviewFor = async (who: Account) => {
    const res = await fx.call('GET', '/api/overview', who);
    expect(res.status).toBe(200);
    return CityOverview.parse(await res.json());
  };
  const venueOf = (o: CityOverview, id: string) => o.venues.find((v) => v.venueId === id)!;
  const row = (page: Page, venueId: string) => page.locator(`[data-testid=overview-row][data-venue-id="${venueId}"]`);
  const cell = (r: Locator, name: string) => r.locator(`[data-testid=overview-${name}]`);
  const figure = async (r: Locator, name: string) => (await cell(r, name).locator('.figure').textContent())?.trim();
  const attention = (r: Locator, name: string) => cell(r, name).getAttribute('data-attention');
  /** The centre's local day, as the server counts "today" (ledger.timeZone of the fixture). */
  const shanghaiDay = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());

  /** Every cell of a venue's row against the server's answer for that venue. */
  async function expectRow(page: Page, v: VenueOverview) {
    const r = row(page, v.venueId);
    expect((await r.locator('[data-testid=overview-venue]').textContent())?.trim()).toBe(v.venueName);
    expect((await cell(r, 'box').textContent())?.trim()).toContain(v.online ? '在线' : '离线');
    expect(await attention(r, 'box')).toBe(String(!v.online));
    expect(await figure(r, 'cameras')).toBe(`${v.camerasWorking} / ${v.cameras}`);
    expect(await cell(r, 'cameras').textContent()).toContain(v.intactRateToday === null ? '今日完好率 —' : `今日完好率 ${Math.round(v.intactRateToday * 100)}%`);
    expect(await attention(r, 'cameras')).toBe(String(v.camerasWorking < v.cameras));
    expect(await figure(r, 'alerts')).toBe(String(v.openAlerts));
    expect(await attention(r, 'alerts')).toBe(String(v.openAlerts > 0));
    expect(await cell(r, 'alarms').locator('li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-kind')))).toEqual(v.alarms);
    expect(await attention(r, 'alarms')).toBe(String(v.alarms.length > 0));
    expect(await figure(r, 'sessions')).toBe(`${v.sessionsInProgress} / ${v.sessionsToday}`);
    expect(await figure(r, 'ledger')).toBe(String(v.ledgerOpen));
    expect(await cell(r, 'ledger').textContent()).toContain(`今日 ${v.ledgerFoundToday}`);
    expect(await figure(r, 'exports')).toBe(String(v.exportsPending));
    expect(await attention(r, 'exports')).toBe(String(v.exportsPending > 0));
  }

  async function expectTotals(page: Page, o: CityOverview) {
    const sum = (f: (v: VenueOverview) => number) => o.venues.reduce((n, v) => n + f(v), 0);
    const r = page.locator('[data-testid=overview-totals]');
    const online = o.venues.filter((v) => v.online).length;
    expect((await cell(r, 'box').textContent())?.trim()).toBe(`${online} / ${o.venues.length} 在线`);
    expect(await figure(r, 'cameras')).toBe(`${sum((v) => v.camerasWorking)} / ${sum((v) => v.cameras)}`);
    expect(await figure(r, 'alerts')).toBe(String(sum((v) => v.openAlerts)));
    expect(await figure(r, 'alarms')).toBe(String(sum((v) => v.alarms.length)));
    expect(await figure(r, 'sessions')).toBe(`${sum((v) => v.sessionsInProgress)} / ${sum((v) => v.sessionsToday)}`);
    expect(await figure(r, 'ledger')).toBe(String(sum((v) => v.ledgerOpen)));
    expect(await cell(r, 'ledger').textContent()).toContain(`今日 ${sum((v) => v.ledgerFoundToday)}`);
    expect(await figure(r, 'exports')).toBe(String(sum((v) => v.exportsPending)));
    expect(await attention(r, 'exports')).toBe(String(sum((v) => v.exportsPending) > 0));
    const rated = o.venues.filter((v) => v.intactRateToday !== null);
    const weight = rated.reduce((n, v) => n + v.cameras, 0);
    const intact = weight > 0 ? `今日完好率 ${Math.round((rated.reduce((n, v) => n + v.intactRateToday! * v.cameras, 0) / weight) * 100)}%` : '今日完好率 —';
    expect(await cell(r, 'cameras').textContent()).toContain(intact);
  }

  beforeAll(async () => {
    await build({ configFile: path.join(root, 'dashboard/vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
    fx = await startLedgerFixture({ dashboardDir: outDir });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });

    // The boxes, as their MQTT messages would leave them: A up with both cameras recording; B
    // reported one camera not answering and a full disk, was sampled for today's intact rate, then
    // went offline (which takes its cameras with it).
    const { venues, deviceHealth, alarms } = fx.server.services;
    await venues.setStatus(fx.a.id, true, 'test', new Date(), new Date());
    await deviceHealth.applyReport(encodeMessage('health', { venueId: fx.a.id, box, cameras: fx.a.cameras.map((c) => camera(c, fx.a.room, true)), sensors: [] }));
    await deviceHealth.applyReport(encodeMessage('health', { venueId: fx.b.id, box, cameras: [camera(fx.b.cameras[0]!, fx.b.room, true), camera(fx.b.cameras[1]!, fx.b.room, false)], sensors: [] }));
    await alarms.apply(encodeMessage('alarm', { venueId: fx.b.id, alarmId: randomUUID(), kind: 'disk_full', active: true, raisedAt: new Date().toISOString(), detail: 'only held footage left', pausedCameras: [], freeBytes: 1000 }));
    await deviceHealth.sampleIntact();
    await venues.setStatus(fx.b.id, false, null, null, new Date());
    await deviceHealth.boxStatus(fx.b.id, false);

    // Arranged last, right before the pages open: B's session must not have started when they read it.
    const now = Date.now();
    sessionA = await fx.server.services.sessions.create(
      { projectCode: 'GC-2026-OV-A', projectName: '县人民医院门诊楼改造工程', kind: 'bid_opening', roomId: fx.a.room, plannedStart: new Date(now - 60_000).toISOString(), plannedEnd: new Date(now + 3600_000).toISOString() },
      fx.account('supervisor', 'A').user,
    );
    // Minutes from now rather than "this afternoon": late in the Shanghai day a later hour is
    // tomorrow's. It still starts after the checks below have read it (they take seconds).
    sessionB = await fx.server.services.sessions.create(
      { projectCode: 'GC-2026-OV-B', projectName: '乡镇道路硬化工程', kind: 'bid_opening', roomId: fx.b.room, plannedStart: new Date(now + 2 * 60_000).toISOString(), plannedEnd: new Date(now + 3 * 60_000).toISOString() },
      fx.account('supervisor', 'city').user,
    );
    const entry = await fx.call('POST', '/api/ledger/entries', fx.account('patrol', 'A'), {
      clientKey: randomUUID(),
      roomId: fx.a.room,
      subjectType: 'expert',
      subjectName: '王五',
      category: 'expert_phone',
      description: 'x',
    });
    expect(entry.status, await entry.clone().text()).toBe(201);
    const exp = await fx.call('POST', '/api/exports', fx.account('supervisor', 'A'), { sessionId: sessionA.id, purpose: '复核开标过程' });
    expect(exp.status, await exp.clone().text()).toBe(201);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await fx?.stop();
    tmp.remove();
  });

  it('the city supervisor sees every county with what was arranged today, the attention cells highlighted and the totals summed', async () => {
    const page = await signIn('city_supervisor-city', '/overview');
    await page.waitForSelector('[data-testid=overview-totals]');
    const o = await overviewFor(fx.account('city_supervisor', 'city'));

    // What was arranged, as the server counts it.
    expect(o.day).toBe(shanghaiDay());
    expect(o.venues.map((v) => v.venueId).sort()).toEqual([fx.a.id, fx.b.id].sort());
    expect(venueOf(o, fx.a.id)).toMatchObject({ sessionsToday: 1, sessionsInProgress: 1, ledgerOpen: 1, ledgerFoundToday: 1, exportsPending: 1 });
    expect(venueOf(o, fx.b.id)).toMatchObject({ sessionsToday: 1, sessionsInProgress: 0, ledgerOpen: 0, ledgerFoundToday: 0, exportsPending: 0 });
    expect(venueOf(o, fx.a.id)).toMatchObject({ online: true, cameras: 2, camerasWorking: 2, intactRateToday: 1, openAlerts: 0, alarms: [] });
    // B's rate is left to the comparison with the server: the centre's own sampling timer may add a sample of its offline cameras.
    expect(venueOf(o, fx.b.id)).toMatchObject({ online: false, cameras: 2, camerasWorking: 0, openAlerts: 2, alarms: ['disk_full'] });
    expect(venueOf(o, fx.b.id).lastSeen).not.toBeNull();

    // ...and on the page.
    expect(await page.locator('[data-testid=overview-row]').count()).toBe(2);
    const a = row(page, fx.a.id);
    const b = row(page, fx.b.id);
    expect(await figure(a, 'sessions')).toBe('1 / 1');
    expect(await figure(b, 'sessions')).toBe('0 / 1');
    expect(await figure(a, 'ledger')).toBe('1');
    expect(await cell(a, 'ledger').textContent()).toContain('今日 1');
    expect(await figure(b, 'ledger')).toBe('0');
    expect(await figure(a, 'exports')).toBe('1');
    expect(await attention(a, 'exports')).toBe('true');
    expect(await cell(a, 'exports').getAttribute('class')).toContain('attention');
    expect(await figure(b, 'exports')).toBe('0');
    expect(await attention(b, 'exports')).toBe('false');
    expect(await attention(a, 'box')).toBe('false');
    expect(await attention(b, 'box')).toBe('true');
    expect(await cell(b, 'box').textContent()).toContain('离线');
    expect(await cell(b, 'box').textContent()).toContain('最后联系');
    expect(await figure(a, 'cameras')).toBe('2 / 2');
    expect(await cell(a, 'cameras').textContent()).toContain('今日完好率 100%');
    expect(await attention(a, 'cameras')).toBe('false');
    expect(await figure(b, 'cameras')).toBe('0 / 2');
    expect(await attention(b, 'cameras')).toBe('true');
    expect(await figure(b, 'alerts')).toBe('2');
    expect(await attention(b, 'alerts')).toBe('true');
    expect(await attention(a, 'alerts')).toBe('false');
    expect((await cell(b, 'alarms').textContent())?.trim()).toBe('磁盘已满，暂停录像');
    expect(await attention(b, 'alarms')).toBe('true');
    expect((await cell(a, 'alarms').textContent())?.trim()).toBe('无');
    const totals = page.locator('[data-testid=overview-totals]');
    expect((await cell(totals, 'box').textContent())?.trim()).toBe('1 / 2 在线');
    expect(await figure(totals, 'cameras')).toBe('2 / 4');
    expect(await figure(totals, 'alerts')).toBe('2');
    expect(await figure(totals, 'alarms')).toBe('1');
    expect(await figure(totals, 'sessions')).toBe('1 / 2');
    expect(await figure(totals, 'ledger')).toBe('1');
    expect(await figure(totals, 'exports')).toBe('1');

    // Every other cell as the server answered it (box state, cameras, alerts, alarms).
    for (const v of o.venues) await expectRow(page, v);
    await expectTotals(page, o);
    expect(await page.locator('[data-testid=overview-stamp]').textContent()).toContain(`数据日期 ${o.day} · 更新于 `);

    // The landing view of the centre heads the navigation; '/' still opens the sessions.
    expect(await page.locator('nav a.nav-link').first().getAttribute('href')).toBe('/overview');
    expect((await page.locator('nav a.nav-link').first().textContent())?.trim()).toBe('全市概览');

    // Each figure leads to the page where it is dealt with.
    const href = (name: string) => a.locator(`[data-testid=overview-${name}] a`).first().getAttribute('href');
    expect(await a.locator('[data-testid=overview-venue]').getAttribute('href')).toBe('/devices');
    expect(await href('cameras')).toBe('/devices');
    expect(await href('alerts')).toBe('/devices');
    expect(await href('sessions')).toBe('/sessions');
    expect(await href('ledger')).toBe('/ledger');
    expect(await href('exports')).toBe('/exports');
    await a.locator('[data-testid=overview-sessions] a').tap();
    await page.waitForURL((u) => u.pathname === '/sessions');
    await page.waitForSelector(`[data-testid=session-row][data-session-id="${sessionA.id}"]`);

    await page.goto(`${fx.server.url}/`);
    await page.waitForURL((u) => u.pathname === '/sessions');
  });

  it('the refresh button reads the centre again: an export requested in B meanwhile shows up and is highlighted', async () => {
    const page = await signIn('city_supervisor-city', '/overview');
    const b = row(page, fx.b.id);
    await b.waitFor();
    expect(await figure(b, 'exports')).toBe('0');

    const exp = await fx.call('POST', '/api/exports', fx.account('supervisor', 'city'), { sessionId: sessionB.id, purpose: '复核开标过程' });
    expect(exp.status, await exp.clone().text()).toBe(201);
    await page.tap('[data-testid=overview-refresh]');
    await page.waitForSelector(`[data-testid=overview-row][data-venue-id="${fx.b.id}"] [data-testid=overview-exports][data-attention=true]`);

    const o = await overviewFor(fx.account('city_supervisor', 'city'));
    expect(venueOf(o, fx.b.id).exportsPending).toBe(1);
    expect(await figure(b, 'exports')).toBe('1');
    expect(await figure(page.locator('[data-testid=overview-totals]'), 'exports')).toBe('2');
    for (const v of o.venues) await expectRow(page, v);
    await expectTotals(page, o);
  });

  it("a venue's patrol officer sees only their venue, also as a card on a portrait tablet", async () => {
    const page = await signIn('patrol-a', '/overview', { width: 700, height: 1000 });
    await page.waitForSelector('[data-testid=overview-totals]');
    const o = await overviewFor(fx.account('patrol', 'A'));
    expect(o.venues.map((v) => v.venueId)).toEqual([fx.a.id]);
    expect(venueOf(o, fx.a.id)).toMatchObject({ sessionsToday: 1, sessionsInProgress: 1, ledgerOpen: 1, exportsPending: 1 });

    expect(await page.locator('[data-testid=overview-row]').count()).toBe(1);
    expect(await page.locator(`[data-testid=overview-row][data-venue-id="${fx.b.id}"]`).count()).toBe(0);
    expect(await page.textContent('[data-testid=overview-view]')).not.toContain(venueOf(await overviewFor(fx.account('city_supervisor', 'city')), fx.b.id).venueName);
    await expectRow(page, o.venues[0]!);
    await expectTotals(page, o);
    // Below 800 px the column headers give way to a label above each figure.
    expect(await page.locator('.overview thead').isVisible()).toBe(false);
    expect(await cell(row(page, fx.a.id), 'exports').isVisible()).toBe(true);
  });
});
