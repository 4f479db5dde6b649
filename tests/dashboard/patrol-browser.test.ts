import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checks, need } from '../support/prerequisites.ts';
import { PASSWORD, startLedgerFixture, type LedgerFixture } from '../server/ledger-fixture.ts';
import { tempDir } from '../server/support.ts';
import { openVenueLink, type VenueLink } from '../support/venue-link.ts';

/**
 * The tablet patrol screen in Chromium at 10-inch tablet size with touch: an entry in ≤ 4 taps
 * with one photo, two entries logged offline and sent exactly once when the network is back, and
 * the public disclosure page showing HTML as text. The dashboard is built fresh for this run.
 */

const root = path.resolve(import.meta.dirname, '../..');

describe.runIf(need(checks.chromium()))('tablet patrol screen (Chromium)', () => {
  const tmp = tempDir('patrol-browser');
  const outDir = path.join(tmp.dir, 'dashboard');
  let fx: LedgerFixture;
  let link: VenueLink;
  let context: BrowserContext;
  let page: Page;
  let bigPhoto: string;
  let taps = 0;

  async function tap(selector: string): Promise<void> {
    taps++;
    await page.tap(selector);
  }

  async function takePhoto(): Promise<void> {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), tap('[data-testid=photo-button]')]);
    await chooser.setFiles(bigPhoto);
    await page.waitForSelector('[data-testid=photo-preview]');
  }

  /** The venue Wi-Fi goes down: the page is told so, and nothing it sends reaches the centre. */
  async function wifiDown(): Promise<void> {
    link.cut();
    await context.setOffline(true);
  }

  async function wifiBack(): Promise<void> {
    link.restore();
    await context.setOffline(false);
  }

  const entriesBy = async (username: string) => {
    const admin = fx.account('admin', 'city');
    return (await fx.server.services.ledger.list(admin.user, { limit: 500 })).filter((e) => e.reporterId === fx.accounts.find((a) => a.name === username)!.user.id);
  };

  beforeAll(async () => {
    await build({ configFile: path.join(root, 'dashboard/vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
    fx = await startLedgerFixture({ dashboardDir: outDir });
    link = await openVenueLink(fx.server.url);
    // A 12-megapixel-like photo (3000×2000) the tablet must shrink before sending.
    bigPhoto = path.join(tmp.dir, 'photo.jpg');
    execFileSync('/usr/bin/ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=3000x2000', '-frames:v', '1', '-q:v', '2', '-y', bigPhoto]);
    context = await chromium.launchPersistentContext(path.join(tmp.dir, 'profile'), {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
      hasTouch: true,
      locale: 'zh-CN',
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${link.url}/login?redirect=/patrol`);
    await page.fill('[data-testid=login-username]', 'patrol-a');
    await page.fill('[data-testid=login-password]', PASSWORD);
    await page.click('[data-testid=login-submit]');
    await page.waitForSelector('[data-testid=patrol-view]');
    await page.waitForSelector(`[data-testid=category-expert_phone]`);
  });

  afterAll(async () => {
    await context?.close();
    await link?.close();
    await fx?.stop();
    tmp.remove();
  });

  it('logs an entry with a photo in at most 4 taps; the photo arrives resized', async () => {
    // The room is preselected (the officer's venue has one room here; later the last one used).
    expect(await page.inputValue('[data-testid=patrol-room]')).toBe(fx.a.room);
    taps = 0;
    await tap('[data-testid=category-expert_phone]');
    await takePhoto();
    await tap('[data-testid=save-entry]');
    await page.waitForSelector('[data-testid=patrol-notice]');
    expect(await page.textContent('[data-testid=patrol-notice]')).toMatch(/已保存，台账编号 \d{4}-\d{4}/);
    expect(taps).toBeLessThanOrEqual(4);

    const [entry] = await entriesBy('patrol-a');
    expect(entry).toMatchObject({ roomId: fx.a.room, category: 'expert_phone', subjectType: 'expert', status: 'found' });
    const detail = await fx.server.services.ledger.detail(entry!.id, fx.account('admin', 'city').user);
    expect(detail.photos).toHaveLength(1);
    const stored = await fx.server.services.ledger.photo(detail.photos[0]!.id, fx.account('admin', 'city').user);
    const file = path.join(tmp.dir, 'stored.jpg');
    writeFileSync(file, stored.data);
    const [w, h] = execFileSync('/usr/bin/ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file]).toString().trim().split(',').map(Number);
    expect(Math.max(w!, h!)).toBeLessThanOrEqual(1600);
    expect(stored.data.length).toBeLessThan(readFileSync(bigPhoto).length);
    expect(stored.contentType).toBe('image/jpeg');

    // The next visit starts in the same room.
    await page.reload();
    await page.waitForSelector('[data-testid=category-expert_phone]');
    expect(await page.inputValue('[data-testid=patrol-room]')).toBe(fx.a.room);
  });

  it('offline: two entries with photos wait on the tablet and arrive exactly once when the network is back', async () => {
    const before = (await entriesBy('patrol-a')).length;
    await wifiDown();
    try {
      for (const cat of ['any_smoking', 'bidder_disorder']) {
        await tap(`[data-testid=category-${cat}]`);
        await takePhoto();
        await tap('[data-testid=save-entry]');
        await page.waitForSelector('[data-testid=patrol-notice]');
      }
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid=outbox-item]').length === 2);
      expect(await page.textContent('[data-testid=outbox]')).toContain('待发送（2）');
      expect((await entriesBy('patrol-a')).length).toBe(before);
    } finally {
      await wifiBack();
    }
    await page.waitForSelector('[data-testid=outbox]', { state: 'detached', timeout: 20_000 });
    // Let any stray retry land before counting.
    await new Promise((r) => setTimeout(r, 3500));
    const after = await entriesBy('patrol-a');
    expect(after.length - before).toBe(2);
    const fresh = after.slice(0, 2);
    expect(fresh.map((e) => e.category).sort()).toEqual(['any_smoking', 'bidder_disorder']);
    for (const e of fresh) {
      const d = await fx.server.services.ledger.detail(e.id, fx.account('admin', 'city').user);
      expect(d.photos).toHaveLength(1);
    }
  });

  it('with the service worker, the patrol screen reopens offline, keeps its queue across the reload, and sends it once', async () => {
    type Nav = { navigator: { serviceWorker?: { controller: unknown } } };
    await page.waitForFunction(() => !!(globalThis as unknown as Nav).navigator.serviceWorker?.controller, undefined, { timeout: 15_000 });
    // One online load under the worker fills its cache (the first load happened before it was installed).
    await page.reload();
    await page.waitForSelector('[data-testid=category-any_noise]');
    const before = (await entriesBy('patrol-a')).length;

    await wifiDown();
    try {
      const offlineLoad = await page.reload();
      expect(offlineLoad?.headers()['x-vw-offline']).toBe('1');
      await page.waitForSelector('[data-testid=category-any_noise]');
      expect(await page.inputValue('[data-testid=patrol-room]')).toBe(fx.a.room);
      await tap('[data-testid=category-any_noise]');
      await takePhoto();
      await tap('[data-testid=save-entry]');
      await page.waitForSelector('[data-testid=outbox-item]');
      // Still queued after another offline reload: the outbox is in IndexedDB, not in the page.
      await page.reload();
      await page.waitForSelector('[data-testid=outbox-item]');
      expect(await page.$$eval('[data-testid=outbox-item]', (els) => els.length)).toBe(1);
      expect((await entriesBy('patrol-a')).length).toBe(before);
    } finally {
      await wifiBack();
    }
    await page.waitForSelector('[data-testid=outbox]', { state: 'detached', timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 3500));
    const after = await entriesBy('patrol-a');
    expect(after.length - before).toBe(1);
    expect(after[0]!.category).toBe('any_noise');
  });

  it('the public page (no login) shows published entries with names redacted and HTML as text', async () => {
    const sup = fx.account('supervisor', 'A');
    const html = '<img src=x onerror="window.__pwned=1">注意';
    const { entry } = await fx.server.services.ledger.create({ clientKey: 'browser-public-1', roomId: fx.a.room, subjectType: 'expert', subjectName: '钱八九', category: 'expert_drinking', description: html }, sup.user);
    for (const step of [
      { action: 'stop', actionTaken: '制止' },
      { action: 'report', department: '县住建局', reportedOn: '2026-03-03' },
      { action: 'handle', result: '取消本次评标资格', legalBasis: '《招标投标法实施条例》第七十二条', decisionNumber: '住建〔2026〕7号' },
      { action: 'publish', publishedOn: '2026-03-12', publishedWhere: '中心网站' },
    ] as const) {
      await fx.server.services.ledger.transition(entry.id, step, sup.user);
    }
    const anon = await context.newPage();
    await context.clearCookies();
    await anon.goto(`${link.url}/public`);
    await anon.waitForSelector('[data-testid=public-entry]');
    const texts = await anon.$$eval('[data-testid=public-description]', (els) => els.map((e) => e.textContent));
    expect(texts).toContain(html);
    expect(await anon.$$eval('[data-testid=public-ledger] img', (els) => els.length)).toBe(0);
    expect(await anon.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const subjects = await anon.$$eval('[data-testid=public-subject]', (els) => els.map((e) => e.textContent));
    expect(subjects).toContain('钱**');
    // The notice names the legal basis of the decision (domain: party, act, legal basis, decision, date, authority).
    expect(await anon.$$eval('[data-testid=public-legal-basis]', (els) => els.map((e) => e.textContent))).toContain('《招标投标法实施条例》第七十二条');
    expect(await anon.content()).not.toContain('钱八九');
    await anon.close();
  });

  it('a supervisor opens an entry from the ledger list, sees its footage players and takes the next step', async () => {
    await context.clearCookies();
    const sup = await context.newPage();
    await sup.goto(`${link.url}/login?redirect=/ledger`);
    await sup.fill('[data-testid=login-username]', 'supervisor-a');
    await sup.fill('[data-testid=login-password]', PASSWORD);
    await sup.click('[data-testid=login-submit]');
    await sup.waitForSelector('[data-testid=ledger-row]');
    const [first] = await entriesBy('patrol-a');
    await sup.click(`text=${first!.number}`);
    await sup.waitForSelector('[data-testid=ledger-entry]');
    expect(await sup.getAttribute('[data-testid=ledger-entry]', 'data-status')).toBe('found');
    expect(await sup.$$eval('[data-testid=camera-player]', (els) => els.map((e) => e.getAttribute('data-camera-id')))).toEqual(fx.a.cameras);
    expect(await sup.$$eval('[data-testid=entry-photo]', (els) => els.length)).toBe(1);
    await sup.fill('[data-testid=field-actionTaken]', '当场制止');
    await sup.tap('[data-testid=do-stop]');
    await sup.waitForSelector('[data-testid=ledger-entry][data-status=stopped]');
    expect(await sup.textContent('[data-testid=entry-step]')).toContain('当场制止');
    // The next steps for a supervisor: report, or close as unfounded.
    expect(await sup.$$eval('[data-testid^=do-]', (els) => els.map((e) => e.getAttribute('data-testid')))).toEqual(['do-report', 'do-close_unfounded']);

    // A correction keeps the old text readable as revision 1.
    await sup.tap('[data-testid=start-correction]');
    await sup.fill('[data-testid=correction-description]', '更正：手机已交存');
    await sup.fill('[data-testid=correction-reason]', '补充说明');
    await sup.tap('[data-testid=save-correction]');
    await sup.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid=entry-revision]').length === 2);
    expect(await sup.textContent('[data-testid=entry-description]')).toBe('更正：手机已交存');

    await sup.goto(`${link.url}/reports`);
    await sup.waitForSelector('[data-testid=report-total]');
    const shown = Number(await sup.textContent('[data-testid=report-total]'));
    // The page asks for the browser's current quarter; the same question over the API gives the same total.
    const now = new Date();
    const api = await fx.call('GET', `/api/ledger/reports/quarterly?year=${now.getFullYear()}&quarter=${Math.ceil((now.getMonth() + 1) / 3)}`, fx.account('supervisor', 'A'));
    const expected = ((await api.json()) as { total: number }).total;
    expect(expected).toBeGreaterThanOrEqual(3);
    expect(shown).toBe(expected);
    // In English the bars are labelled in English, not with the report's Chinese labels.
    await sup.evaluate(() => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('vw.locale', 'en'));
    await sup.reload();
    await sup.waitForSelector('[data-testid=report-bar-label]');
    const labels = await sup.$$eval('[data-testid=report-bar-label]', (els) => els.map((e) => e.textContent));
    expect(labels).toEqual(expect.arrayContaining(['Evaluation expert', 'Closed as unfounded']));
    expect(labels.filter((l) => /[\u4e00-\u9fff]/.test(l ?? ''))).toEqual([]);
    await sup.evaluate(() => (globalThis as unknown as { localStorage: { removeItem(k: string): void } }).localStorage.removeItem('vw.locale'));
    await sup.close();
  });
});
