import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditChainCheck, AuditList, ExportRequest, LedgerCreateResponse } from '../../protocol/index.ts';
import { startLedgerFixtureOn, type Account, type LedgerFixture } from './ledger-fixture.ts';
import { expectError } from './support.ts';

/**
 * The audit trail for its readers (`GET /api/audit`, `POST /api/audit/check`) on PGlite and on the
 * PostgreSQL server: newest first in pages that neither overlap nor skip, filtered by venue, action
 * or its group, actor, subject and time; a county's staff see their county's rows only; the chain
 * check is city-wide, audited itself, and names the row someone changed behind the trigger.
 */
describe.each(['pglite', 'postgres'] as const)('audit trail on %s', (kind) => {
  let fx: LedgerFixture;
  const list = async (who: Account, query: string) => {
    const res = await fx.call('GET', `/api/audit?${query}`, who);
    expect(res.status, await res.clone().text()).toBe(200);
    return AuditList.parse(await res.json());
  };

  beforeAll(async () => {
    fx = await startLedgerFixtureOn(kind);
    const { audit } = fx.server.services;
    const row = (action: string, venueId: string | null, subjectId: string, actor = 'supervisor-a') =>
      audit.append({ actorId: null, actor, action, venueId, subjectType: action.split('.')[0]!, subjectId, detail: { note: subjectId } });
    await row('footage.playlist', fx.a.id, 'A-1');
    await row('footage.export', fx.a.id, 'A-2');
    await row('ledger.create', fx.a.id, 'A-3', 'patrol-a');
    await row('footage.playlist', fx.b.id, 'B-1', 'someone-b');
    await row('user.update', null, 'U-1', 'admin-city');
    await row('footage.live', fx.a.id, 'A-4');
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('pages newest first without overlap or gaps; a county supervisor sees only their county', async () => {
    const sup = fx.account('supervisor', 'A');
    const mine = await list(sup, 'limit=500');
    expect(mine.entries.length).toBeGreaterThanOrEqual(4);
    expect(mine.entries.every((e) => e.venueId === fx.a.id)).toBe(true);
    expect(mine.entries.map((e) => e.subjectId)).toEqual(expect.arrayContaining(['A-1', 'A-2', 'A-3', 'A-4']));
    expect(mine.entries.map((e) => e.subjectId)).not.toContain('B-1');
    expect(mine.entries.map((e) => e.subjectId)).not.toContain('U-1');
    const seqs = mine.entries.map((e) => e.seq);
    expect([...seqs].sort((x, y) => y - x)).toEqual(seqs);

    // Two at a time, following nextBefore: the same rows, in the same order, then the end.
    const paged: number[] = [];
    let before: number | null = null;
    for (let page = 0; page < 100; page++) {
      const got: AuditList = await list(sup, `limit=2${before ? `&before=${before}` : ''}`);
      paged.push(...got.entries.map((e) => e.seq));
      before = got.nextBefore;
      if (before === null) break;
      expect(got.entries).toHaveLength(2);
    }
    expect(paged).toEqual(seqs);

    await expectError(await fx.call('GET', `/api/audit?venueId=${fx.b.id}`, sup), 404, 'not_found', /venue/);
  });

  it('filters by action or its group, actor, subject and time; a city-wide reader sees every venue and rows of none', async () => {
    const city = fx.account('city_supervisor', 'city');
    const all = await list(city, 'limit=500');
    expect(all.entries.map((e) => e.subjectId)).toEqual(expect.arrayContaining(['A-1', 'B-1', 'U-1']));

    const footage = await list(city, 'action=footage&limit=500');
    expect(new Set(footage.entries.map((e) => e.subjectId))).toEqual(new Set(['A-1', 'A-2', 'B-1', 'A-4']));
    expect((await list(city, 'action=footage.playlist')).entries.map((e) => e.subjectId).sort()).toEqual(['A-1', 'B-1']);
    expect((await list(city, 'actor=patrol-a')).entries.map((e) => e.subjectId)).toEqual(['A-3']);
    expect((await list(city, `venueId=${fx.b.id}`)).entries.map((e) => e.subjectId)).toEqual(['B-1']);
    const a2 = await list(city, 'subjectType=footage&subjectId=A-2');
    expect(a2.entries).toHaveLength(1);
    expect(a2.entries[0]).toMatchObject({ action: 'footage.export', actor: 'supervisor-a', venueId: fx.a.id, detail: { note: 'A-2' } });

    // Time: the window around A-3 only.
    const at = Date.parse((await list(city, 'actor=patrol-a')).entries[0]!.at);
    const around = await list(city, `from=${new Date(at).toISOString()}&to=${new Date(at + 1).toISOString()}`);
    expect(around.entries.map((e) => e.subjectId)).toContain('A-3');
    expect(around.entries.every((e) => Date.parse(e.at) === at)).toBe(true);

    await expectError(await fx.call('GET', '/api/audit?action=Footage%20Export', city), 400, 'bad_request', /action/);
    await expectError(await fx.call('GET', '/api/audit?subjectId=A-2', city), 400, 'bad_request', /subjectType/);
    await expectError(await fx.call('GET', `/api/audit?from=${new Date(at).toISOString()}&to=${new Date(at - 1000).toISOString()}`, city), 400, 'bad_request', /from/);
    await expectError(await fx.call('GET', '/api/audit?limit=501', city), 400, 'bad_request', /limit/);
  });

  it('is read only by the roles that answer for the venues', async () => {
    for (const role of ['patrol', 'maintenance'] as const) await expectError(await fx.call('GET', '/api/audit', fx.account(role, 'A')), 403, 'forbidden', /audit/);
    expect((await fx.call('GET', '/api/audit', fx.account('venue_admin', 'A'))).status).toBe(200);
    expect((await fx.call('GET', '/api/audit', fx.account('admin', 'A'))).status).toBe(200);
    expect((await fx.call('GET', '/api/audit', null)).status).toBe(401);
  });

  it("answers who watched, exported or logged anything about one session: its cameras' footage over its span, not other times or rooms", async () => {
    const admin = fx.account('admin', 'city');
    const sup = fx.account('supervisor', 'A');
    const { a, b } = fx;
    const session = await fx.server.services.sessions.create(
      { projectCode: 'AUD-1', projectName: '审计场次', kind: 'bid_opening', roomId: a.room, plannedStart: new Date(Date.now() - 1800_000).toISOString(), plannedEnd: new Date(Date.now() + 1800_000).toISOString() },
      admin.user,
    );
    const range = (v: typeof a) => `from=${encodeURIComponent(new Date(v.segmentStart.getTime() - 1000).toISOString())}&to=${encodeURIComponent(new Date(v.segmentStart.getTime() + 3000).toISOString())}`;
    // Watched: the session's camera during it (by the supervisor), venue B's camera at the same time (by the city supervisor).
    expect((await fx.call('GET', `/api/cameras/${a.cameras[0]}/vod.m3u8?${range(a)}`, sup)).status).toBe(200);
    expect((await fx.call('GET', `/api/cameras/${b.cameras[0]}/vod.m3u8?${range(b)}`, fx.account('city_supervisor', 'city'))).status).toBe(200);
    // The same camera watched for a range two days earlier: not this session's footage.
    const before = Date.now() - 2 * 86400_000;
    await fx.server.services.audit.append({ actorId: null, actor: 'old-viewer', action: 'footage.playlist', venueId: a.id, subjectType: 'camera', subjectId: a.cameras[0]!, detail: { from: new Date(before).toISOString(), to: new Date(before + 60_000).toISOString() } });
    // Live view of the camera during the session: its start counts, each live segment fetched does not.
    await fx.server.services.audit.append({ actorId: null, actor: 'live-viewer', action: 'footage.live', venueId: a.id, subjectType: 'camera', subjectId: a.cameras[0]!, detail: {} });
    await fx.server.services.audit.append({ actorId: null, actor: 'live-viewer', action: 'footage.live_segment', venueId: a.id, subjectType: 'camera', subjectId: a.cameras[0]!, detail: { seq: 1 } });
    const exp = await fx.call('POST', '/api/exports', sup, { sessionId: session.id, purpose: '审计测试' });
    expect(exp.status, await exp.clone().text()).toBe(201);
    const exportId = ExportRequest.parse(await exp.json()).id;
    const entry = await fx.call('POST', '/api/ledger/entries', fx.account('patrol', 'A'), { clientKey: crypto.randomUUID(), roomId: a.room, sessionId: session.id, subjectType: 'staff', subjectName: '', category: 'any_smoking' });
    expect(entry.status, await entry.clone().text()).toBe(201);
    const entryId = LedgerCreateResponse.parse(await entry.json()).entry.id;

    const rows = (await list(sup, `sessionId=${session.id}&limit=500`)).entries;
    expect(rows.find((e) => e.action === 'footage.playlist')).toMatchObject({ actor: sup.name, subjectType: 'camera', subjectId: a.cameras[0] });
    expect(rows.filter((e) => e.action === 'footage.playlist')).toHaveLength(1);
    expect(rows.find((e) => e.action === 'export.request')).toMatchObject({ subjectType: 'export_request', subjectId: exportId });
    expect(rows.find((e) => e.action === 'ledger.create')).toMatchObject({ actor: 'patrol-a', subjectType: 'ledger_entry', subjectId: entryId });
    expect(rows.map((e) => e.actor)).not.toContain('old-viewer');
    expect(rows.filter((e) => e.actor === 'live-viewer').map((e) => e.action)).toEqual(['footage.live']);
    expect(rows.every((e) => e.venueId === a.id)).toBe(true);
    // With other filters it narrows further.
    expect((await list(sup, `sessionId=${session.id}&action=footage`)).entries.map((e) => e.action)).toEqual(['footage.live', 'footage.playlist']);

    // A session of another county does not exist for venue A's staff; a malformed id is a bad request.
    const other = await fx.server.services.sessions.create(
      { projectCode: 'AUD-2', projectName: '他县场次', kind: 'bid_opening', roomId: b.room, plannedStart: new Date(Date.now() - 1800_000).toISOString(), plannedEnd: new Date(Date.now() + 1800_000).toISOString() },
      admin.user,
    );
    await expectError(await fx.call('GET', `/api/audit?sessionId=${other.id}`, sup), 404, 'not_found', /session/);
    expect((await list(fx.account('city_supervisor', 'city'), `sessionId=${other.id}&action=footage`)).entries.map((e) => e.actor)).toEqual(['city_supervisor-city']);
    await expectError(await fx.call('GET', '/api/audit?sessionId=nope', sup), 400, 'bad_request', /sessionId/);
  });

  it('checks the whole chain city-wide only, audits the check, and names a row changed behind the trigger', async () => {
    await expectError(await fx.call('POST', '/api/audit/check', fx.account('supervisor', 'A')), 403, 'forbidden');
    // An administrator of some venues cannot walk rows of the others.
    await expectError(await fx.call('POST', '/api/audit/check', fx.account('admin', 'A')), 403, 'forbidden', /city-wide/);

    const admin = fx.account('admin', 'city');
    const ok = AuditChainCheck.parse(await (await fx.call('POST', '/api/audit/check', admin)).json());
    expect(ok).toMatchObject({ ok: true, firstBad: null });
    expect(ok.rows).toBeGreaterThanOrEqual(6);
    const check = (await list(admin, 'action=audit.verify')).entries[0]!;
    expect(check).toMatchObject({ actor: admin.name, detail: { ok: true, rows: ok.rows } });

    // Someone with the database's owner rights disables the trigger and rewrites A-2.
    const [target] = (await list(admin, 'subjectType=footage&subjectId=A-2')).entries;
    const { db } = fx.server;
    await db.execute(sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
    await db.execute(sql`UPDATE audit_log SET detail = '{"note":"nothing to see"}'::jsonb WHERE seq = ${target!.seq}`);
    await db.execute(sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`);
    const broken = AuditChainCheck.parse(await (await fx.call('POST', '/api/audit/check', fx.account('city_supervisor', 'city'))).json());
    expect(broken.ok).toBe(false);
    expect(broken.firstBad).toMatchObject({ seq: target!.seq });
    expect(broken.firstBad!.reason).toMatch(/altered/);
  });
});
