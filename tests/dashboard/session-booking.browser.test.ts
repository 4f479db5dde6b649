import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionList } from '../../protocol/index.ts';
import { checks, need } from '../support/prerequisites.ts';
import { PASSWORD, startLedgerFixture, type LedgerFixture } from '../server/ledger-fixture.ts';
import { tempDir } from '../server/support.ts';

/**
 * Booking a session in Chromium: a room already booked for part of the time is refused with the
 * session it collides with, and the clerk books anyway only by saying the room is shared on purpose.
 * The dashboard is built fresh for this run.
 */

const root = path.resolve(import.meta.dirname, '../..');

describe.runIf(need(checks.chromium()))('booking a session (Chromium)', () => {
  const tmp = tempDir('session-booking');
  const outDir = path.join(tmp.dir, 'dashboard');
  let fx: LedgerFixture;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await build({ configFile: path.join(root, 'dashboard/vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
    fx = await startLedgerFixture({ dashboardDir: outDir });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    await context.addInitScript("localStorage.setItem('vw.locale', 'en')");
    page = await context.newPage();
    await page.goto(`${fx.server.url}/login?redirect=/sessions`);
    await page.fill('[data-testid=login-username]', 'supervisor-a');
    await page.fill('[data-testid=login-password]', PASSWORD);
    await page.click('[data-testid=login-submit]');
    await page.waitForURL((u) => u.pathname === '/sessions');
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
    tmp.remove();
  });

  async function book(code: string): Promise<void> {
    await page.fill('[data-testid=create-project-code]', code);
    await page.fill('[data-testid=create-project-name]', 'Library roof repair');
    await page.click('[data-testid=create-submit]');
  }

  it('refuses a room booked for an overlapping time, names the session in the way, and books only when told the room is shared', async () => {
    await page.click('[data-testid=session-create-toggle]');
    await page.selectOption('[data-testid=create-room]', fx.a.room);
    await book('BK-1');
    await page.waitForSelector('text=Session BK-1 created.');

    // The same room and the same default hours again (the form closes after a booking).
    await page.click('[data-testid=session-create-toggle]');
    await page.selectOption('[data-testid=create-room]', fx.a.room);
    await book('BK-2');
    const warning = page.locator('[data-testid=create-overlap]');
    await warning.waitFor();
    expect(await warning.textContent()).toContain('already booked for part of that time');
    expect(await warning.textContent()).toContain('BK-1 Library roof repair');
    const listed = async () => SessionList.parse(await (await fx.call('GET', '/api/sessions', fx.account('supervisor', 'A'))).json()).sessions.map((s) => s.projectCode);
    expect(await listed()).not.toContain('BK-2');

    await page.check('[data-testid=create-allow-overlap]');
    await book('BK-2');
    await page.waitForSelector('text=Session BK-2 created.');
    expect(await page.locator('[data-testid=create-overlap]').count()).toBe(0);
    expect(await listed()).toEqual(expect.arrayContaining(['BK-1', 'BK-2']));
  });

  it('offers booking to exactly the roles the centre lets book (the table in protocol/access.ts)', async () => {
    const offered = async (username: string) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const p = await context.newPage();
        await p.goto(`${fx.server.url}/login?redirect=/sessions`);
        await p.fill('[data-testid=login-username]', username);
        await p.fill('[data-testid=login-password]', PASSWORD);
        await p.click('[data-testid=login-submit]');
        await p.waitForURL((u) => u.pathname === '/sessions');
        await p.waitForSelector('[data-testid=sessions-refresh]');
        return (await p.locator('[data-testid=session-create-toggle]').count()) === 1;
      } finally {
        await context.close();
      }
    };
    // A venue administrator books sessions at the centre; the screen used to hide the button from them.
    expect(await offered('venue_admin-a')).toBe(true);
    expect(await offered('admin-a')).toBe(true);
    expect(await offered('patrol-a')).toBe(false);
    expect(await offered('city_supervisor-city')).toBe(false);
  });

  it('the session page shows the pre-session check, failures first, and checks again on demand, in either language', async () => {
    const sessions = SessionList.parse(await (await fx.call('GET', '/api/sessions', fx.account('supervisor', 'A'))).json()).sessions;
    const bk1 = sessions.find((x) => x.projectCode === 'BK-1')!;
    await page.goto(`${fx.server.url}/sessions/${bk1.id}`);
    const panel = page.getByTestId('precheck');
    await page.getByTestId('precheck-none').waitFor();
    await page.getByTestId('precheck-run').click();
    await page.getByTestId('precheck-verdict').waitFor();
    // The fixture's cameras never reported health: both fail "online", and the failures come first.
    expect(await panel.getAttribute('data-ok')).toBe('false');
    expect(await page.getByTestId('precheck-verdict').textContent()).toBe('Failed');
    const rows = page.getByTestId('precheck-item');
    // What passed is folded away; the failures are in view.
    const visible: (string | null)[] = [];
    for (const r of await rows.all()) if (await r.isVisible()) visible.push(await r.getAttribute('data-ok'));
    expect(visible.length).toBeGreaterThanOrEqual(2);
    expect(visible.every((ok) => ok === 'false')).toBe(true);
    await page.getByTestId('precheck-passes').click();
    expect(await rows.count()).toBeGreaterThan(visible.length);
    expect(await page.locator('[data-testid=precheck-item][data-ok=true]').count()).toBeGreaterThan(0);
    const offline = rows.filter({ hasText: fx.a.cameras[0]! }).and(page.locator('[data-check=online]'));
    expect(await offline.textContent()).toContain('offline (no health report)');

    // Kept at the centre (a reload reads it back), and in Chinese after the switch in the top bar.
    await page.reload();
    await page.getByTestId('precheck-verdict').waitFor();
    expect(await page.getByTestId('precheck-verdict').textContent()).toBe('Failed');
    await page.selectOption('[data-testid=language-switch]', 'zh-CN');
    try {
      await expect.poll(() => page.getByTestId('precheck-verdict').textContent()).toBe('未通过');
      expect(await rows.filter({ hasText: fx.a.cameras[0]! }).and(page.locator('[data-check=online]')).textContent()).toContain('离线（没有健康报告）');
    } finally {
      await page.selectOption('[data-testid=language-switch]', 'en');
    }
  });
});
