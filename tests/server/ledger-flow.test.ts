import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CSRF_HEADER,
  LedgerCreateResponse,
  LedgerEntryDetail,
  PublicLedgerList,
  QuarterlyReport,
  ledgerRoutes,
  decodeMessage,
  topics,
} from '../../protocol/index.ts';
import { startServer } from '../../server/app.ts';
import { fakeJpeg, PASSWORD, startLedgerFixture, type LedgerFixture } from './ledger-fixture.ts';
import { serverConfig, tempDir, expectError } from './support.ts';

let fx: LedgerFixture;

beforeAll(async () => {
  fx = await startLedgerFixture({ auth: { sessionHours: 1, maxFailedLogins: 3, lockoutMinutes: 1 } });
});
afterAll(async () => {
  await fx?.stop();
});

const newEntry = (over: Record<string, unknown> = {}) => ({ clientKey: randomUUID(), roomId: fx.a.room, subjectType: 'expert', subjectName: '王五', category: 'expert_phone', description: '评标区使用手机', ...over });

describe('sign-in protections', () => {
  it('sets httpOnly SameSite session cookie plus a readable CSRF cookie, and audits every login and failure', async () => {
    const res = await fetch(`${fx.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'patrol-a', password: PASSWORD }) });
    expect(res.status).toBe(200);
    const cookies = res.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('vw_session='))).toMatch(/HttpOnly/i);
    expect(cookies.find((c) => c.startsWith('vw_session='))).toMatch(/SameSite=Lax/i);
    expect(cookies.find((c) => c.startsWith('vw_csrf='))).toMatch(/SameSite=Strict/i);
    expect(cookies.find((c) => c.startsWith('vw_csrf='))).not.toMatch(/HttpOnly/i);
    await (await fetch(`${fx.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'patrol-a', password: 'wrong' }) })).text();
    const rows = (await fx.server.services.audit.list()).filter((r) => r.subjectId === 'patrol-a' || r.actor === 'patrol-a');
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['auth.login', 'auth.login_failed']));
  });

  it('refuses a cookie-authenticated change without the CSRF header, or with a wrong one', async () => {
    const who = fx.account('patrol', 'A');
    const noHeader = await fetch(`${fx.server.url}/api/ledger/entries`, { method: 'POST', headers: { cookie: who.cookie, 'content-type': 'application/json' }, body: JSON.stringify(newEntry()) });
    await expectError(noHeader, 403, 'forbidden', /x-csrf-token/);
    const wrong = await fetch(`${fx.server.url}/api/ledger/entries`, { method: 'POST', headers: { cookie: who.cookie, 'content-type': 'application/json', [CSRF_HEADER]: 'forged' }, body: JSON.stringify(newEntry()) });
    await expectError(wrong, 403, 'forbidden');
    const ok = await fx.call('POST', '/api/ledger/entries', who, newEntry());
    expect(ok.status).toBe(201);
  });

  it('throttles repeated failed logins (even with the right password afterwards)', async () => {
    const attempt = (password: string) => fetch(`${fx.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'maintenance-a', password }) });
    for (let i = 0; i < 3; i++) await expectError(await attempt('guess'), 401, 'unauthenticated');
    await expectError(await attempt(PASSWORD), 429, 'rate_limited', /wait \d+ s/);
    const rows = (await fx.server.services.audit.list()).filter((r) => r.subjectId === 'maintenance-a');
    expect(rows.filter((r) => r.action === 'auth.login_failed')).toHaveLength(3);
    expect(rows.filter((r) => r.action === 'auth.login_throttled')).toHaveLength(1);
  });

  it('first start (no users, no demo) creates an admin and prints its password once', async () => {
    const tmp = tempDir('first-admin');
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const logger = pino({ level: 'warn' }, sink);
    try {
      const s1 = await startServer(serverConfig(tmp.dir), { logger });
      const printed = lines.map((l) => JSON.parse(l) as { password?: string; username?: string }).find((l) => l.password);
      expect(printed?.username).toBe('admin');
      const res = await fetch(`${s1.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: printed!.password }) });
      expect(res.status).toBe(200);
      await s1.stop();
      lines.length = 0;
      const s2 = await startServer(serverConfig(tmp.dir), { logger });
      await s2.stop();
      expect(lines.some((l) => l.includes('password'))).toBe(false);
    } finally {
      tmp.remove();
    }
  });
});

describe('the ledger flow', () => {
  it('found → stopped → reported → handled → published, each step by an allowed role with who and when; the hold reaches the venue within 5 s', async () => {
    const patrol = fx.account('patrol', 'A');
    const sup = fx.account('supervisor', 'A');
    const vadmin = fx.account('venue_admin', 'A');
    const session = await fx.server.services.sessions.create(
      { projectCode: 'ZB-2026-042', projectName: '县医院设备采购', kind: 'evaluation', roomId: fx.a.room, plannedStart: new Date(Date.now() - 1800_000).toISOString(), plannedEnd: new Date(Date.now() + 1800_000).toISOString() },
      fx.account('admin', 'city').user,
    );

    // The venue box listens to its retained windows topic, as the edge agent does.
    const box = await mqtt.connectAsync(fx.server.brokerUrl, { protocolVersion: 4, username: fx.a.id, password: fx.a.token, reconnectPeriod: 0 });
    const holds: Array<{ ownerId: string; reason: string; roomId: string; from: string; to: string | null; at: number }> = [];
    box.on('message', (_t, payload) => {
      const d = decodeMessage('windows', fx.a.id, payload);
      if (d.ok) for (const w of d.message.windows) if (w.reason === 'ledger') holds.push({ ...w, at: Date.now() });
    });
    await box.subscribeAsync(topics.windows(fx.a.id), { qos: 1 });

    try {
      const savedAt = Date.now();
      const res = await fx.call('POST', '/api/ledger/entries', patrol, newEntry());
      expect(res.status).toBe(201);
      const { entry } = LedgerCreateResponse.parse(await res.json());
      expect(entry).toMatchObject({ status: 'found', sessionId: session.id, projectCode: 'ZB-2026-042', projectName: '县医院设备采购', reporterId: patrol.user.id, venueId: fx.a.id });
      expect(entry.number).toMatch(/^\d{4}-\d{4}$/);

      const deadline = savedAt + 5000;
      while (!holds.some((h) => h.ownerId === entry.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const hold = holds.find((h) => h.ownerId === entry.id);
      expect(hold, 'ledger hold published within 5 s').toBeDefined();
      expect(hold!.at - savedAt).toBeLessThan(5000);
      expect(hold).toMatchObject({ roomId: fx.a.room, reason: 'ledger' });
      expect(Date.parse(hold!.to!) - Date.parse(hold!.from)).toBe(10 * 60_000);

      // Footage: both cameras of the room, ±5 minutes, as playlist links.
      let detail = LedgerEntryDetail.parse(await (await fx.call('GET', `/api/ledger/entries/${entry.id}`, patrol)).json());
      expect(detail.footage.map((f) => f.cameraId)).toEqual(fx.a.cameras);
      expect(detail.footage[0]!.playlistUrl).toMatch(/^\/api\/cameras\/.+\/vod\.m3u8\?from=.+&to=.+/);
      expect(detail.allowedActions).toEqual(['stop']);
      const playlist = await fx.call('GET', detail.footage[0]!.playlistUrl, patrol);
      expect(playlist.status).toBe(200);
      expect(await playlist.text()).toContain(`/api/footage/segments/${fx.a.segmentId}.ts`);

      // Out of order: reporting before stopping is refused, clearly, and nothing changes.
      const early = await expectError(await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, sup, { action: 'report', department: '县发改局', reportedOn: '2026-03-03' }), 409, 'conflict');
      expect(early).toMatch(/"found".*"report" needs it to be "stopped".*next possible steps are stop/);

      const step = async (who: typeof patrol, body: Record<string, string>) => {
        const r = await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, who, body);
        expect(r.status, await r.clone().text()).toBe(200);
        return LedgerEntryDetail.parse(await r.json());
      };
      await step(patrol, { action: 'stop', actionTaken: '当场制止，手机交存储物柜' });
      // A patrol officer may not report to the supervising department.
      await expectError(await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, patrol, { action: 'report', department: 'x', reportedOn: '2026-03-03' }), 403, 'forbidden');
      await step(sup, { action: 'report', department: '县发展和改革局', reportedOn: '2026-03-03' });
      await step(sup, { action: 'handle', result: '记不良行为一次', decisionNumber: '发改罚〔2026〕12号' });
      detail = await step(vadmin, { action: 'publish', publishedOn: '2026-03-10', publishedWhere: '中心门户网站' });
      expect(detail.entry.status).toBe('published');
      expect(detail.steps.map((s) => [s.action, s.from, s.to, s.byId])).toEqual([
        ['stop', 'found', 'stopped', patrol.user.id],
        ['report', 'stopped', 'reported', sup.user.id],
        ['handle', 'reported', 'handled', sup.user.id],
        ['publish', 'handled', 'published', vadmin.user.id],
      ]);
      expect(detail.steps.every((s) => Date.parse(s.at) >= savedAt)).toBe(true);
      expect(detail.allowedActions).toEqual([]);
      await expectError(await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, sup, { action: 'close_unfounded', reason: 'x' }), 409, 'conflict', /closed/);

      // Every step is in the audit trail, and the trail verifies.
      const audit = (await fx.server.services.audit.list()).filter((r) => r.subjectId === entry.id);
      expect(audit.map((r) => r.action)).toEqual(['ledger.create', 'hold.placed', 'ledger.transition', 'ledger.transition', 'ledger.transition', 'ledger.transition']);
      expect(await fx.server.services.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await box.endAsync();
    }
  });

  it('closes as unfounded with a reason', async () => {
    const sup = fx.account('supervisor', 'A');
    const { entry } = LedgerCreateResponse.parse(await (await fx.call('POST', '/api/ledger/entries', sup, newEntry())).json());
    await expectError(await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, sup, { action: 'close_unfounded' }), 400, 'bad_request', /reason/);
    const r = await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, sup, { action: 'close_unfounded', reason: '经核实系误报' });
    expect(LedgerEntryDetail.parse(await r.json()).entry.status).toBe('closed_unfounded');
  });

  it('a correction is a new revision; the old text stays readable', async () => {
    const patrol = fx.account('patrol', 'A');
    const { entry } = LedgerCreateResponse.parse(await (await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ description: '原始描述' }))).json());
    const r = await fx.call('POST', `/api/ledger/entries/${entry.id}/revisions`, patrol, { reason: '笔误', description: '更正后的描述' });
    expect(r.status).toBe(200);
    const d = LedgerEntryDetail.parse(await r.json());
    expect(d.entry).toMatchObject({ description: '更正后的描述', revision: 2 });
    expect(d.revisions.map((x) => [x.revision, x.fields.description, x.reason])).toEqual([
      [1, '原始描述', 'created'],
      [2, '更正后的描述', '笔误'],
    ]);
    // Another patrol officer's entry cannot be corrected by this one.
    const other = LedgerCreateResponse.parse(await (await fx.call('POST', '/api/ledger/entries', fx.account('supervisor', 'A'), newEntry())).json());
    await expectError(await fx.call('POST', `/api/ledger/entries/${other.entry.id}/revisions`, patrol, { reason: 'x', description: 'y' }), 403, 'forbidden');
  });

  it('the session found automatically can be changed to another of the venue\'s sessions, not another venue\'s', async () => {
    const sup = fx.account('supervisor', 'A');
    const admin = fx.account('admin', 'city').user;
    const foundAt = new Date(Date.now() - 3 * 86400_000);
    const s1 = await fx.server.services.sessions.create({ projectCode: 'AUTO-1', projectName: '自动匹配', kind: 'bid_opening', roomId: fx.a.room, plannedStart: new Date(foundAt.getTime() - 3600_000).toISOString(), plannedEnd: new Date(foundAt.getTime() + 3600_000).toISOString() }, admin);
    const s2 = await fx.server.services.sessions.create({ projectCode: 'OTHER-2', projectName: '另一场', kind: 'evaluation', roomId: fx.a.room, plannedStart: new Date(foundAt.getTime() + 7200_000).toISOString(), plannedEnd: new Date(foundAt.getTime() + 10800_000).toISOString() }, admin);
    const sb = await fx.server.services.sessions.create({ projectCode: 'B-9', projectName: 'B', kind: 'evaluation', roomId: fx.b.room, plannedStart: foundAt.toISOString(), plannedEnd: new Date(foundAt.getTime() + 3600_000).toISOString() }, admin);
    const { entry } = LedgerCreateResponse.parse(await (await fx.call('POST', '/api/ledger/entries', sup, newEntry({ foundAt: foundAt.toISOString() }))).json());
    expect(entry).toMatchObject({ sessionId: s1.id, projectCode: 'AUTO-1' });
    const changed = LedgerEntryDetail.parse(await (await fx.call('POST', `/api/ledger/entries/${entry.id}/revisions`, sup, { reason: '场次选错', sessionId: s2.id })).json());
    expect(changed.entry).toMatchObject({ sessionId: s2.id, projectCode: 'OTHER-2', projectName: '另一场', revision: 2 });
    expect(changed.revisions[0]!.fields.projectCode).toBe('AUTO-1');
    await expectError(await fx.call('POST', `/api/ledger/entries/${entry.id}/revisions`, sup, { reason: 'x', sessionId: sb.id }), 400, 'bad_request', /not a session of venue/);
    const after = LedgerEntryDetail.parse(await (await fx.call('GET', `/api/ledger/entries/${entry.id}`, sup)).json());
    expect(after.entry.revision).toBe(2);
  });

  it('a resent entry (same client key) is saved once', async () => {
    const patrol = fx.account('patrol', 'A');
    const body = newEntry();
    const [r1, r2] = await Promise.all([fx.call('POST', '/api/ledger/entries', patrol, body), fx.call('POST', '/api/ledger/entries', patrol, body)]);
    const a = LedgerCreateResponse.parse(await r1.json());
    const b = LedgerCreateResponse.parse(await r2.json());
    expect(a.entry.id).toBe(b.entry.id);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    expect([r1.status, r2.status].sort()).toEqual([200, 201]);
  });
});

describe('bad input is refused and nothing is half-written', () => {
  it('refuses oversized and non-image photos with clear messages, and dedupes a resent photo', async () => {
    const patrol = fx.account('patrol', 'A');
    const { entry } = LedgerCreateResponse.parse(await (await fx.call('POST', '/api/ledger/entries', patrol, newEntry())).json());
    const url = `/api/ledger/entries/${entry.id}/photos`;
    await expectError(await fx.call('POST', url, patrol, fakeJpeg(4 * 1024 * 1024), { 'content-type': 'image/jpeg' }), 413, 'payload_too_large', /limit is \d+ bytes/);
    await expectError(await fx.call('POST', url, patrol, Buffer.from('<html><script>alert(1)</script></html>'), { 'content-type': 'image/jpeg' }), 415, 'unsupported_media_type', /not a JPEG, PNG or WebP/);
    await expectError(await fx.call('POST', url, patrol, Buffer.from('%PDF-1.7 pretending'), { 'content-type': 'image/png' }), 415, 'unsupported_media_type');
    const photo = fakeJpeg(10_000);
    const p1 = await fx.call('POST', url, patrol, photo, { 'content-type': 'image/jpeg' });
    const p2 = await fx.call('POST', url, patrol, photo, { 'content-type': 'image/jpeg' });
    expect([p1.status, p2.status]).toEqual([201, 200]);
    const d = LedgerEntryDetail.parse(await (await fx.call('GET', `/api/ledger/entries/${entry.id}`, patrol)).json());
    expect(d.photos).toHaveLength(1);
    const back = await fx.call('GET', d.photos[0]!.url, patrol);
    expect(back.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await back.arrayBuffer()).equals(photo)).toBe(true);
  });

  it('refuses forged ids, another venue\'s session or room, unknown categories; SQL in text is stored as text', async () => {
    const patrol = fx.account('patrol', 'A');
    const before = (await fx.server.services.audit.list()).length;
    const otherSession = await fx.server.services.sessions.create(
      { projectCode: 'B-1', projectName: 'Other venue', kind: 'bid_opening', roomId: fx.b.room, plannedStart: new Date(Date.now() - 600_000).toISOString(), plannedEnd: new Date(Date.now() + 600_000).toISOString() },
      fx.account('admin', 'city').user,
    );
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ sessionId: otherSession.id })), 400, 'bad_request', /not a session of venue/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ sessionId: randomUUID() })), 400, 'bad_request', /not a session of venue/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ roomId: fx.b.room })), 400, 'bad_request', /room/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ category: "x'; DROP TABLE ledger_entries; --" })), 400, 'bad_request', /category/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ subjectType: 'alien' })), 400, 'bad_request', /subjectType/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ foundAt: new Date(Date.now() + 3600_000).toISOString() })), 400, 'bad_request', /future/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ description: 'a\u0000b' })), 400, 'bad_request', /NUL/);
    await expectError(await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ description: 'x'.repeat(4001) })), 400, 'bad_request', /description/);
    await expectError(await fx.call('GET', `/api/ledger/entries/${randomUUID()}`, patrol), 404, 'not_found');
    await expectError(await fx.call('GET', `/api/ledger/entries/1%20OR%201=1`, patrol), 404, 'not_found');
    await expectError(await fx.call('POST', `/api/ledger/entries/${randomUUID()}/transitions`, patrol, { action: 'stop', actionTaken: 'x' }), 404, 'not_found');
    await expectError(await fx.call('POST', `/api/ledger/entries/${randomUUID()}/photos`, patrol, fakeJpeg(), { 'content-type': 'image/jpeg' }), 404, 'not_found');
    expect((await fx.server.services.audit.list()).length).toBe(before);

    const sqlText = "'); DELETE FROM ledger_entries; -- \" OR 1=1";
    const r = await fx.call('POST', '/api/ledger/entries', patrol, newEntry({ subjectName: sqlText, description: sqlText }));
    expect(r.status).toBe(201);
    const { entry } = LedgerCreateResponse.parse(await r.json());
    expect(entry).toMatchObject({ subjectName: sqlText, description: sqlText });
    const step = await fx.call('POST', `/api/ledger/entries/${entry.id}/transitions`, patrol, { action: 'stop', actionTaken: sqlText });
    expect(LedgerEntryDetail.parse(await step.json()).steps[0]!.data.actionTaken).toBe(sqlText);
    expect((await fx.server.services.ledger.list(fx.account('admin', 'city').user, { limit: 500 })).length).toBeGreaterThan(3);
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document covering every /api/ledger route', async () => {
    const res = await fetch(`${fx.server.url}/api/ledger/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    for (const route of Object.values(ledgerRoutes)) {
      const [method, raw] = route.split(' ') as [string, string];
      const p = raw.split('?')[0]!.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[p]?.[method.toLowerCase()], route).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['LedgerEntryCreate', 'LedgerTransition', 'QuarterlyReport']));
    // Every $ref points at a schema that is there.
    for (const m of JSON.stringify(doc).matchAll(/"#\/components\/schemas\/(\w+)"/g)) expect(doc.components.schemas[m[1]!], m[1]).toBeDefined();
  });
});

describe('quarterly report downloads', () => {
  it('serves JSON, CSV and XLSX for the signed-in user\'s scope, and refuses another venue', async () => {
    const who = fx.account('venue_admin', 'A');
    const now = new Date();
    const q = `year=${now.getUTCFullYear()}&quarter=${Math.ceil((now.getUTCMonth() + 1) / 3)}`;
    const json = QuarterlyReport.parse(await (await fx.call('GET', `/api/ledger/reports/quarterly?${q}`, who)).json());
    expect(json.venueIds).toEqual([fx.a.id]);
    expect(json.total).toBeGreaterThan(0);
    const csv = await fx.call('GET', `/api/ledger/reports/quarterly?${q}&format=csv`, who);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(await csv.text()).toContain(`summary,total,问题总数,${json.total}`);
    const xlsx = await fx.call('GET', `/api/ledger/reports/quarterly?${q}&format=xlsx`, who);
    expect(xlsx.headers.get('content-type')).toMatch(/spreadsheetml/);
    expect(xlsx.headers.get('content-disposition')).toMatch(/\.xlsx"$/);
    const bytes = Buffer.from(await xlsx.arrayBuffer());
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    await expectError(await fx.call('GET', `/api/ledger/reports/quarterly?${q}&venueId=${fx.b.id}`, who), 404, 'not_found');
    await expectError(await fx.call('GET', `/api/ledger/reports/quarterly?year=2026&quarter=5`, who), 400, 'bad_request', /quarter/);
  });
});

describe('public disclosure (公示)', () => {
  it('lists only published entries, without login, with personal names redacted and HTML kept as text', async () => {
    const sup = fx.account('supervisor', 'A');
    const html = '<img src=x onerror=alert(1)><b>bold</b>';
    const make = async (over: Record<string, unknown>) => LedgerCreateResponse.parse(await (await fx.call('POST', '/api/ledger/entries', sup, newEntry(over))).json()).entry;
    const published = await make({ subjectName: '赵六一', description: html });
    const hidden = await make({ subjectName: '孙七', description: 'not published yet' });
    for (const body of [
      { action: 'stop', actionTaken: '制止' },
      { action: 'report', department: '县财政局', reportedOn: '2026-03-03' },
      { action: 'handle', result: '暂停评标资格三个月', legalBasis: '《评标委员会和评标方法暂行规定》第五十三条', decisionNumber: '财罚〔2026〕3号' },
      { action: 'publish', publishedOn: '2026-03-10', publishedWhere: '中心门户网站' },
    ]) {
      expect((await fx.call('POST', `/api/ledger/entries/${published.id}/transitions`, sup, body)).status).toBe(200);
    }
    const res = await fetch(`${fx.server.url}/api/ledger/public`);
    expect(res.status).toBe(200);
    const list = PublicLedgerList.parse(await res.json());
    const numbers = list.entries.map((e) => e.number);
    expect(numbers).toContain(published.number);
    expect(numbers).not.toContain(hidden.number);
    const shown = list.entries.find((e) => e.number === published.number)!;
    expect(shown).toMatchObject({ subjectName: '赵**', description: html, result: '暂停评标资格三个月', legalBasis: '《评标委员会和评标方法暂行规定》第五十三条', decisionNumber: '财罚〔2026〕3号', department: '县财政局', publishedWhere: '中心门户网站', categoryZh: '评标区携带或使用手机' });
    const raw = JSON.stringify(list);
    expect(raw).not.toContain('赵六一');
    expect(raw).not.toContain(sup.user.displayName);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });
});
