import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserAccountList } from '../../protocol/users.ts';
import { checks, need } from '../support/prerequisites.ts';
import { PASSWORD, startLedgerFixture, type LedgerFixture } from '../server/ledger-fixture.ts';
import { tempDir } from '../server/support.ts';

/**
 * User administration in Chromium, the way a centre runs it: an administrator opens an account for
 * a new patrol officer and hands over the password, disables the account (the officer is signed
 * out at once and cannot sign in), enables it again with a new password, and the officer changes
 * that password to one of their own. A venue administrator sees only their venue's accounts, and
 * nobody else sees the page in the navigation. The dashboard is built fresh for this run.
 */

const root = path.resolve(import.meta.dirname, '../..');

/** A message shown in Chinese: Chinese words in it and no English sentence (two English words running). */
function chineseOnly(text: string | null): string {
  const t = (text ?? '').trim();
  expect(t).toMatch(/[\u4e00-\u9fff]{2}/);
  expect(t).not.toMatch(/[A-Za-z]{2,} [A-Za-z]{2,}/);
  return t;
}

describe.runIf(need(checks.chromium()))('user administration (Chromium)', () => {
  const tmp = tempDir('users-browser');
  const outDir = path.join(tmp.dir, 'dashboard');
  let fx: LedgerFixture;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let admin: Page;
  let officer: Page;
  let officerPassword = '';
  const USERNAME = 'patrol-new';

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true, locale: 'zh-CN' });
    await context.addInitScript("localStorage.setItem('vw.locale', 'zh-CN')");
    contexts.push(context);
    return context.newPage();
  }

  async function fillLogin(page: Page, username: string, password: string, to = '/sessions'): Promise<void> {
    await page.goto(`${fx.server.url}/login?redirect=${encodeURIComponent(to)}`);
    await page.fill('[data-testid=login-username]', username);
    await page.fill('[data-testid=login-password]', password);
    await page.click('[data-testid=login-submit]');
  }

  async function signIn(page: Page, username: string, password: string, to = '/sessions'): Promise<void> {
    await fillLogin(page, username, password, to);
    await page.waitForURL((u) => u.pathname === to);
  }

  const row = (page: Page, username: string) => page.locator(`[data-testid=user-row][data-username="${username}"]`);
  const usersNav = (page: Page) => page.locator('nav a.nav-link[href="/users"]');
  const listed = async () => UserAccountList.parse(await (await fx.call('GET', '/api/users', fx.account('admin', 'city'))).json()).users;
  const apiLogin = (username: string, password: string) =>
    fetch(`${fx.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

  beforeAll(async () => {
    await build({ configFile: path.join(root, 'dashboard/vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
    fx = await startLedgerFixture({ dashboardDir: outDir });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    admin = await newPage();
    await signIn(admin, 'admin-city', PASSWORD, '/users');
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await fx?.stop();
    tmp.remove();
  });

  it('an administrator creates a patrol officer for venue A with a generated password; the officer signs in without the users page', async () => {
    expect(await usersNav(admin).textContent()).toBe('用户管理');
    await row(admin, 'admin-city').waitFor();
    // Their own account can be edited but not disabled: no button the centre would refuse.
    expect(await row(admin, 'admin-city').locator('[data-testid=user-edit]').count()).toBe(1);
    expect(await row(admin, 'admin-city').locator('[data-testid=user-disable]').count()).toBe(0);
    expect(await row(admin, 'venue_admin-a').locator('[data-testid=user-disable]').count()).toBe(1);
    await admin.tap('[data-testid=user-create-toggle]');
    await admin.waitForSelector(`[data-testid=user-create-venue][value="${fx.a.id}"]`);

    // A malformed username and a short password are named before anything is sent.
    await admin.fill('[data-testid=user-create-username]', 'Zhang San');
    await admin.fill('[data-testid=user-create-display-name]', '张三');
    await admin.fill('[data-testid=user-create-password]', 'short');
    await admin.tap('[data-testid=user-create-submit]');
    const warning = admin.locator('[data-testid=user-create-form] .alert.warn');
    await warning.waitFor();
    expect(await warning.textContent()).toContain('用户名');
    expect(await warning.textContent()).toContain('所属场地');
    expect(await warning.textContent()).toContain('初始密码');
    expect((await listed()).map((u) => u.username)).not.toContain('zhang san');

    await admin.fill('[data-testid=user-create-username]', USERNAME);
    await admin.selectOption('[data-testid=user-create-role]', 'patrol');
    await admin.check(`[data-testid=user-create-venue][value="${fx.a.id}"]`);
    await admin.tap('[data-testid=user-create-generate]');
    officerPassword = await admin.inputValue('[data-testid=user-create-password]');
    expect(officerPassword).toMatch(/^[A-Za-z0-9]{14}$/);
    await admin.tap('[data-testid=user-create-submit]');
    const created = admin.locator('[data-testid=user-created]');
    await created.waitFor();
    // The password stays on screen to be handed over.
    expect(await created.textContent()).toContain(officerPassword);

    const mine = row(admin, USERNAME);
    await mine.waitFor();
    expect(await mine.getAttribute('data-status')).toBe('active');
    expect(await mine.locator('[data-testid=user-role]').textContent()).toBe('巡场人员');
    expect(await mine.locator('[data-testid=user-venues]').textContent()).toBe(`场地 ${fx.a.id}`);
    expect(await mine.locator('[data-testid=user-status]').textContent()).toBe('正常');
    expect((await listed()).find((u) => u.username === USERNAME)).toMatchObject({ displayName: '张三', role: 'patrol', venueIds: [fx.a.id], disabled: false });

    // The same username again is refused by the centre, and the refusal is shown.
    await admin.fill('[data-testid=user-create-username]', USERNAME);
    await admin.fill('[data-testid=user-create-display-name]', '张三（重复）');
    await admin.tap('[data-testid=user-create-generate]');
    await admin.tap('[data-testid=user-create-submit]');
    await admin.waitForSelector('[data-testid=user-create-form] [data-testid=error][data-code=conflict]');
    // In the dashboard's language, the centre's words included (no English sentence after the prefix).
    expect(chineseOnly(await admin.locator('[data-testid=user-create-form] [data-testid=error]').textContent())).toContain(USERNAME);

    // Editing: no venue and not the whole city is named before it is sent; a new display name saves.
    await mine.locator('[data-testid=user-edit]').tap();
    await mine.locator('[data-testid=user-edit-form]').waitFor();
    await mine.locator(`[data-testid=user-edit-venue][value="${fx.a.id}"]`).uncheck();
    await mine.locator('[data-testid=user-save]').tap();
    await mine.locator('.alert.warn').waitFor();
    expect(await mine.locator('.alert.warn').textContent()).toContain('所属场地');
    await mine.locator(`[data-testid=user-edit-venue][value="${fx.a.id}"]`).check();
    await mine.locator('[data-testid=user-edit-display-name]').fill('张三（巡场）');
    await mine.locator('[data-testid=user-save]').tap();
    await mine.locator('[data-testid=user-saved]').waitFor();
    expect(await mine.locator('[data-testid=user-edit-form]').count()).toBe(0);
    expect((await listed()).find((u) => u.username === USERNAME)).toMatchObject({ displayName: '张三（巡场）', role: 'patrol', venueIds: [fx.a.id] });

    officer = await newPage();
    await signIn(officer, USERNAME, officerPassword);
    expect(await officer.locator('[data-testid=current-user]').textContent()).toContain('张三');
    await officer.locator('nav a.nav-link').first().waitFor();
    expect(await usersNav(officer).count()).toBe(0);
    // Typed in by hand, the page shows the centre's refusal instead of an empty table.
    await officer.goto(`${fx.server.url}/users`);
    await officer.waitForSelector('[data-testid=users-view] [data-testid=error][data-code=forbidden]');
    expect(await officer.locator('[data-testid=user-row], [data-testid=user-create-toggle]').count()).toBe(0);
  });

  it('a disabled officer is signed out at the next page load and cannot sign in; enabled again with a reset password, they can', async () => {
    await admin.reload();
    await row(admin, USERNAME).locator('[data-testid=user-disable]').tap();
    await admin.waitForSelector(`[data-testid=user-row][data-username="${USERNAME}"][data-status=disabled]`);
    expect(await row(admin, USERNAME).locator('[data-testid=user-status]').textContent()).toBe('已停用');
    expect(await row(admin, USERNAME).locator('[data-testid=user-disable]').textContent()).toContain('启用');
    expect((await listed()).find((u) => u.username === USERNAME)?.disabled).toBe(true);

    await officer.goto(`${fx.server.url}/sessions`);
    await officer.waitForURL((u) => u.pathname === '/login');
    await fillLogin(officer, USERNAME, officerPassword);
    const refusal = officer.locator('[data-testid=error]');
    await refusal.waitFor();
    chineseOnly(await refusal.textContent());
    expect(new URL(officer.url()).pathname).toBe('/login');

    await row(admin, USERNAME).locator('[data-testid=user-disable]').tap();
    await admin.waitForSelector(`[data-testid=user-row][data-username="${USERNAME}"][data-status=active]`);
    await row(admin, USERNAME).locator('[data-testid=user-reset-password]').tap();
    // Too short a password is refused before it is sent.
    await row(admin, USERNAME).locator('[data-testid=user-new-password]').fill('short');
    await row(admin, USERNAME).locator('[data-testid=user-reset-submit]').tap();
    await row(admin, USERNAME).locator('.alert.warn').waitFor();
    expect(await row(admin, USERNAME).locator('.alert.warn').textContent()).toContain('新密码');

    const reset = 'reset by the admin 2026';
    await row(admin, USERNAME).locator('[data-testid=user-new-password]').fill(reset);
    await row(admin, USERNAME).locator('[data-testid=user-reset-submit]').tap();
    await row(admin, USERNAME).locator('[data-testid=user-saved]').waitFor();
    expect((await apiLogin(USERNAME, officerPassword)).status).toBe(401);
    officerPassword = reset;

    await signIn(officer, USERNAME, officerPassword);
    expect(await officer.locator('[data-testid=current-user]').textContent()).toContain('张三');
  });

  it('the officer changes their own password from the top bar: a wrong current password is refused, the right one saves', async () => {
    await officer.tap('[data-testid=current-user]');
    await officer.waitForURL((u) => u.pathname === '/account');
    const mine = 'my own secret phrase';

    await officer.fill('[data-testid=account-current]', 'not my password at all');
    await officer.fill('[data-testid=account-next]', mine);
    await officer.fill('[data-testid=account-repeat]', mine);
    await officer.tap('[data-testid=account-submit]');
    await officer.waitForSelector('[data-testid=account-view] [data-testid=error][data-code=forbidden]');
    chineseOnly(await officer.locator('[data-testid=account-view] [data-testid=error]').textContent());
    expect(await officer.locator('[data-testid=account-saved]').count()).toBe(0);

    // A repeat that differs is caught before anything is sent.
    await officer.fill('[data-testid=account-current]', officerPassword);
    await officer.fill('[data-testid=account-repeat]', `${mine}!`);
    await officer.tap('[data-testid=account-submit]');
    await officer.waitForSelector('[data-testid=account-invalid]');
    expect(await officer.locator('[data-testid=account-invalid]').textContent()).toBe('两次输入不一致');
    expect((await apiLogin(USERNAME, officerPassword)).status).toBe(200);

    await officer.fill('[data-testid=account-repeat]', mine);
    await officer.tap('[data-testid=account-submit]');
    await officer.waitForSelector('[data-testid=account-saved]');
    expect(await officer.locator('[data-testid=account-saved]').textContent()).toBe('已保存');
    expect(await officer.locator('[data-testid=error]').count()).toBe(0);

    await officer.tap('[data-testid=logout]');
    await officer.waitForURL((u) => u.pathname === '/login');
    await signIn(officer, USERNAME, mine);
    expect((await apiLogin(USERNAME, officerPassword)).status).toBe(401);
  });

  it("a venue administrator sees the users page with only their venue's accounts", async () => {
    const page = await newPage();
    await signIn(page, 'venue_admin-a', PASSWORD);
    expect(await usersNav(page).count()).toBe(1);
    await usersNav(page).tap();
    await page.waitForURL((u) => u.pathname === '/users');
    await row(page, USERNAME).waitFor();
    const rows = page.locator('[data-testid=user-row]');
    const names = await Promise.all((await rows.all()).map((r) => r.getAttribute('data-username')));
    expect(names).toEqual(expect.arrayContaining([USERNAME, 'patrol-a', 'venue_admin-a']));
    expect(names).not.toContain('admin-city');
    expect(names).not.toContain('patrol-city');
    for (const scope of await page.locator('[data-testid=user-row] [data-testid=user-venues]').allTextContents()) expect(scope).toContain(fx.a.id);
  });

  it('the audit trail shows who did what to the accounts, filtered by group; a city-wide admin checks the chain; a venue supervisor sees their venue only', async () => {
    const auditNav = (page: Page) => page.locator('nav a.nav-link[href="/audit"]');
    expect(await auditNav(admin).textContent()).toBe('审计日志');
    await auditNav(admin).tap();
    await admin.waitForURL((u) => u.pathname === '/audit');
    await admin.locator('[data-testid=audit-row]').first().waitFor();
    // The accounts this test made, in the dashboard's words, newest first.
    await admin.selectOption('[data-testid=audit-filter-action]', 'user');
    await admin.tap('[data-testid=audit-apply]');
    await admin.waitForFunction("[...document.querySelectorAll('[data-testid=audit-row]')].every((r) => (r.getAttribute('data-action') || '').startsWith('user.'))");
    const created = admin.locator('[data-testid=audit-row][data-action="user.create"]').filter({ hasText: USERNAME });
    await created.waitFor();
    expect(await created.textContent()).toContain('新建用户');
    expect(await created.textContent()).toContain('admin-city');
    const seqs = (await admin.locator('[data-testid=audit-row]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq')))));
    expect([...seqs].sort((x, y) => y - x)).toEqual(seqs);

    await admin.tap('[data-testid=audit-check]');
    const result = admin.locator('[data-testid=audit-check-result]');
    await result.waitFor();
    expect(await result.getAttribute('data-ok')).toBe('true');
    expect(await result.textContent()).toContain('日志链完整');

    // A county supervisor reads the trail of their venue: no chain check, no row of another venue or
    // of none — and the account made for venue A is venue A's business, so its creation is there.
    const sup = await newPage();
    await signIn(sup, 'supervisor-a', PASSWORD, '/audit');
    await sup.locator('[data-testid=audit-row]').first().waitFor();
    expect(await sup.locator('[data-testid=audit-check]').count()).toBe(0);
    const venues = await sup.locator('[data-testid=audit-row] td:nth-child(4)').allTextContents();
    expect(new Set(venues)).toEqual(new Set([`场地 ${fx.a.id}`]));
    expect(await sup.locator('[data-testid=audit-row][data-action="user.create"]').filter({ hasText: USERNAME }).count()).toBe(1);
    // An officer is offered no audit page.
    const officer = await newPage();
    await signIn(officer, 'patrol-a', PASSWORD);
    await officer.locator('nav a.nav-link').first().waitFor();
    expect(await auditNav(officer).count()).toBe(0);
  });
});
