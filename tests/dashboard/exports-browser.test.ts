import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BidSession } from '../../protocol/api.ts';
import { checks, need } from '../support/prerequisites.ts';
import { PASSWORD, startLedgerFixture, type LedgerFixture } from '../server/ledger-fixture.ts';
import { tempDir } from '../server/support.ts';

/**
 * Footage export requests in Chromium, the way the people involved use them: a supervisor asks for
 * a session's evidence from its review screen, an administrator approves it on the requests page,
 * and only then can the supervisor download the ZIP. A refusal cannot be sent without a note, a
 * room's footage can be asked for by time range, and an approval that ran out shows as expired
 * with nothing to download. The dashboard is built fresh for this run.
 */

const root = path.resolve(import.meta.dirname, '../..');

describe.runIf(need(checks.chromium()))('footage export requests (Chromium)', () => {
  const tmp = tempDir('exports-browser');
  const outDir = path.join(tmp.dir, 'dashboard');
  let fx: LedgerFixture;
  let browser: Browser;
  let supContext: BrowserContext;
  let adminContext: BrowserContext;
  let sup: Page;
  let admin: Page;
  let session: BidSession;

  async function signIn(context: BrowserContext, username: string, to: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${fx.server.url}/login?redirect=${encodeURIComponent(to)}`);
    await page.fill('[data-testid=login-username]', username);
    await page.fill('[data-testid=login-password]', PASSWORD);
    await page.click('[data-testid=login-submit]');
    await page.waitForURL((u) => u.pathname === to);
    return page;
  }

  const row = (page: Page, id: string) => page.locator(`[data-testid=export-row][data-id="${id}"]`);

  beforeAll(async () => {
    await build({ configFile: path.join(root, 'dashboard/vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
    fx = await startLedgerFixture({ dashboardDir: outDir });
    const now = Date.now();
    session = await fx.server.services.sessions.create(
      { projectCode: 'GC-2026-EXP', projectName: '县第一中学食堂改造工程', kind: 'bid_opening', roomId: fx.a.room, plannedStart: new Date(now - 60_000).toISOString(), plannedEnd: new Date(now + 3600_000).toISOString() },
      fx.account('supervisor', 'A').user,
    );
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const tablet = { viewport: { width: 1280, height: 800 }, hasTouch: true, locale: 'zh-CN' };
    supContext = await browser.newContext(tablet);
    adminContext = await browser.newContext(tablet);
    sup = await signIn(supContext, 'supervisor-a', `/sessions/${session.id}`);
    admin = await signIn(adminContext, 'admin-a', '/exports');
  });

  afterAll(async () => {
    await supContext?.close();
    await adminContext?.close();
    await browser?.close();
    await fx?.stop();
    tmp.remove();
  });

  it('a supervisor requests a session\'s evidence, another person approves it, and only then the requester downloads the ZIP', async () => {
    await sup.waitForSelector('[data-testid=session-header]');
    // The old direct export link is gone: the session page only opens a request.
    expect(await sup.getAttribute('[data-testid=session-export]', 'href')).toBeNull();
    await sup.tap('[data-testid=session-export]');
    await sup.fill('[data-testid=export-purpose]', '投标人质疑开标过程，需向行政监督部门提交录像');
    await sup.tap('[data-testid=export-submit]');
    await sup.waitForURL((u) => u.pathname === '/exports');
    await sup.waitForSelector('[data-testid=export-row][data-status=pending]');

    const [request] = (await fx.server.services.exportRequests.list(fx.account('admin', 'city').user)).requests;
    expect(request).toMatchObject({ sessionId: session.id, roomId: fx.a.room, status: 'pending', purpose: '投标人质疑开标过程，需向行政监督部门提交录像', requestedBy: 'supervisor A' });
    const mine = row(sup, request!.id);
    expect(await mine.locator('[data-testid=export-status]').textContent()).toBe('待审批');
    expect(await mine.textContent()).toContain('GC-2026-EXP');
    // The requester cannot decide it, nor download it yet; they may withdraw it.
    expect(await mine.locator('[data-testid=export-approve], [data-testid=export-refuse], [data-testid=export-download]').count()).toBe(0);
    expect(await mine.locator('[data-testid=export-withdraw]').count()).toBe(1);

    await admin.reload();
    const theirs = row(admin, request!.id);
    await theirs.waitFor();
    expect(await theirs.getAttribute('data-status')).toBe('pending');
    expect(await theirs.locator('[data-testid=export-withdraw]').count()).toBe(0);
    await theirs.locator('[data-testid=export-approve]').tap();
    await admin.waitForSelector(`[data-testid=export-row][data-id="${request!.id}"][data-status=approved]`);
    expect(await theirs.locator('[data-testid=export-decision]').textContent()).toContain('admin A');
    // Approved, but the approver is not the requester: no download for them.
    expect(await theirs.locator('[data-testid=export-download]').count()).toBe(0);

    await sup.reload();
    const approved = row(sup, request!.id);
    await approved.locator('[data-testid=export-download]').waitFor();
    expect(await approved.getAttribute('data-status')).toBe('approved');
    expect(await approved.locator('[data-testid=export-status]').textContent()).toBe('已批准');
    const href = await approved.locator('[data-testid=export-download]').getAttribute('href');
    expect(href).toBe(`/api/exports/${request!.id}/download`);
    expect(await approved.locator('[data-testid=export-download]').getAttribute('download')).not.toBeNull();
    const zip = await sup.request.get(`${fx.server.url}${href}`);
    expect(zip.status()).toBe(200);
    expect(zip.headers()['content-type']).toBe('application/zip');
    expect((await zip.body()).subarray(0, 2).toString('latin1')).toBe('PK');
    // The same link in the approver's browser is refused: only the requester downloads.
    expect((await admin.request.get(`${fx.server.url}${href}`)).status()).toBe(403);

    await sup.reload();
    await row(sup, request!.id).waitFor();
    expect(await row(sup, request!.id).locator('[data-testid=export-downloads]').textContent()).toBe('1');

    // The per-camera detail shows what the centre holds of the window.
    await row(sup, request!.id).locator('[data-testid=export-details]').tap();
    await sup.waitForSelector(`[data-testid=export-row][data-id="${request!.id}"] [data-testid=export-cameras] tbody tr`);
    expect(await row(sup, request!.id).locator('[data-testid=export-cameras] tbody tr').count()).toBe(fx.a.cameras.length);

    // The session's own trail, from its page: the request, its approval, the download, and the
    // playlists the session page loaded for its cameras.
    await sup.goto(`${fx.server.url}/sessions/${session.id}`);
    await sup.tap('[data-testid=session-audit]');
    await sup.waitForURL((u) => u.pathname === '/audit' && u.searchParams.get('sessionId') === session.id);
    await sup.locator('[data-testid=audit-row][data-action="footage.export"]').waitFor();
    const actions = new Set(await sup.locator('[data-testid=audit-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))));
    expect([...actions].sort()).toEqual(['export.approve', 'export.request', 'footage.export', 'footage.playlist']);
    expect(await sup.locator('[data-testid=audit-session]').textContent()).toContain('仅显示本场次');
  });

  it("a room's footage asked for by time range; refusing it needs a note, and the note is shown to the requester", async () => {
    await sup.goto(`${fx.server.url}/exports`);
    await sup.tap('[data-testid=export-range-toggle]');
    await sup.waitForSelector('[data-testid=export-range-form]');
    await sup.waitForSelector(`[data-testid=export-room] option[value="${fx.a.room}"]`, { state: 'attached' });
    await sup.selectOption('[data-testid=export-room]', fx.a.room);
    const local = (ms: number) => {
      const d = new Date(ms);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    const before = (await fx.server.services.exportRequests.list(fx.account('admin', 'city').user)).requests.length;
    await sup.fill('[data-testid=export-from]', local(Date.now() - 20 * 60_000));
    await sup.fill('[data-testid=export-to]', local(Date.now() - 5 * 60_000));
    // Too short a purpose is stopped before it is sent.
    await sup.fill('[data-testid=export-range-purpose]', '查');
    await sup.tap('[data-testid=export-range-submit]');
    await sup.waitForSelector('[data-testid=export-range-form] .alert.warn');
    expect((await fx.server.services.exportRequests.list(fx.account('admin', 'city').user)).requests.length).toBe(before);

    await sup.fill('[data-testid=export-range-purpose]', '大厅内投标人争执，调取录像核实');
    await sup.tap('[data-testid=export-range-submit]');
    await sup.waitForSelector('[data-testid=export-range-notice]');
    const [request] = (await fx.server.services.exportRequests.list(fx.account('admin', 'city').user)).requests;
    expect(request).toMatchObject({ sessionId: null, roomId: fx.a.room, status: 'pending', purpose: '大厅内投标人争执，调取录像核实' });
    await row(sup, request!.id).waitFor();
    expect(await row(sup, request!.id).getAttribute('data-status')).toBe('pending');

    await admin.reload();
    const theirs = row(admin, request!.id);
    await theirs.waitFor();
    const refuse = theirs.locator('[data-testid=export-refuse]');
    expect(await refuse.isDisabled()).toBe(true);
    await theirs.locator('[data-testid=export-refuse-note]').fill('   ');
    expect(await refuse.isDisabled()).toBe(true);
    // The server holds the same rule for any other client.
    const bare = await fx.call('POST', `/api/exports/${request!.id}/decision`, fx.account('admin', 'A'), { approve: false });
    expect(bare.status).toBe(400);
    expect((await fx.server.services.exportRequests.detail(request!.id, fx.account('admin', 'A').user)).request.status).toBe('pending');

    await theirs.locator('[data-testid=export-refuse-note]').fill('时段与事由不符，请核实时间后重新申请');
    expect(await refuse.isDisabled()).toBe(false);
    await refuse.tap();
    await admin.waitForSelector(`[data-testid=export-row][data-id="${request!.id}"][data-status=rejected]`);

    await sup.reload();
    const refused = row(sup, request!.id);
    await refused.waitFor();
    expect(await refused.getAttribute('data-status')).toBe('rejected');
    expect(await refused.locator('[data-testid=export-status]').textContent()).toBe('已驳回');
    expect(await refused.locator('[data-testid=export-note-text]').textContent()).toBe('时段与事由不符，请核实时间后重新申请');
    expect(await refused.locator('[data-testid=export-download], [data-testid=export-withdraw]').count()).toBe(0);

    // The status filter asks the server for one status only.
    await sup.selectOption('[data-testid=export-status-filter]', 'rejected');
    await sup.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ getAttribute(a: string): string | null }> } }).document;
      const rows = Array.from(doc.querySelectorAll('[data-testid=export-row]'));
      return rows.length > 0 && rows.every((r) => r.getAttribute('data-status') === 'rejected');
    });
  });

  it('the requester withdraws a pending request; an approval past its validity shows as expired with nothing to download', async () => {
    const supA = fx.account('supervisor', 'A');
    const adminA = fx.account('admin', 'A');
    const pending = await fx.server.services.exportRequests.create({ purpose: '复核评标过程', sessionId: session.id }, supA.user);
    // Requested and approved eight days ago: the 7-day approval ran out yesterday.
    const old = new Date(Date.now() - 8 * 86_400_000);
    const stale = await fx.server.services.exportRequests.create({ purpose: '上月投诉复核', sessionId: session.id }, supA.user, old);
    await fx.server.services.exportRequests.decide(stale.id, { approve: true, note: '' }, adminA.user, old);

    await sup.goto(`${fx.server.url}/exports`);
    await row(sup, pending.id).waitFor();
    await row(sup, pending.id).locator('[data-testid=export-withdraw]').tap();
    await sup.waitForSelector(`[data-testid=export-row][data-id="${pending.id}"][data-status=withdrawn]`);
    expect(await row(sup, pending.id).locator('[data-testid=export-status]').textContent()).toBe('已撤回');
    expect(await row(sup, pending.id).locator('[data-testid=export-withdraw]').count()).toBe(0);

    const expired = row(sup, stale.id);
    expect(await expired.getAttribute('data-status')).toBe('expired');
    expect(await expired.locator('[data-testid=export-status]').textContent()).toBe('已过期');
    expect(await expired.locator('[data-testid=export-download]').count()).toBe(0);
    expect((await sup.request.get(`${fx.server.url}/api/exports/${stale.id}/download`)).status()).toBe(409);
  });

  it("a ledger entry's page requests its room's footage for the entry's window", async () => {
    const supA = fx.account('supervisor', 'A');
    const { entry } = await fx.server.services.ledger.create({ clientKey: 'exports-browser-1', roomId: fx.a.room, subjectType: 'expert', subjectName: '孙七', category: 'expert_phone', description: '评标期间使用手机' }, supA.user);
    const window = (await fx.server.services.ledger.detail(entry.id, supA.user)).footage[0]!;
    await sup.goto(`${fx.server.url}/ledger/${entry.id}`);
    await sup.tap('[data-testid=entry-export]');
    await sup.fill('[data-testid=export-purpose]', '核实评审专家违规使用手机');
    await sup.tap('[data-testid=export-submit]');
    await sup.waitForURL((u) => u.pathname === '/exports');
    const [request] = (await fx.server.services.exportRequests.list(fx.account('admin', 'city').user)).requests;
    expect(request).toMatchObject({ sessionId: null, roomId: fx.a.room, from: window.from, to: window.to, purpose: '核实评审专家违规使用手机', status: 'pending' });
    await row(sup, request!.id).waitFor();
    expect(await row(sup, request!.id).getAttribute('data-status')).toBe('pending');

    // The entry's own trail, from the link on its page: who logged it and the hold on its footage,
    // nothing about anything else (the export request is a row of its own subject).
    await sup.goto(`${fx.server.url}/ledger/${entry.id}`);
    await sup.tap('[data-testid=entry-audit]');
    await sup.waitForURL((u) => u.pathname === '/audit');
    const logged = sup.locator('[data-testid=audit-row][data-action="ledger.create"]');
    await logged.waitFor();
    const actions = await sup.locator('[data-testid=audit-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    expect(actions.sort()).toEqual(['hold.placed', 'ledger.create']);
    expect(await sup.locator('[data-testid=audit-row][data-action="hold.placed"]').textContent()).toContain('设置录像保全');
    expect(await logged.textContent()).toContain('登记台账记录');
    expect(await logged.textContent()).toContain(supA.name);
    expect(await sup.locator('[data-testid=audit-subject]').textContent()).toContain(entry.id);
  });
});
