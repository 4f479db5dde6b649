import { sql } from 'drizzle-orm';
import JSZip from 'jszip';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportRequest, ExportRequestDetail, ExportRequestList, decodeMessage, topics, type UploadWindow } from '../../protocol/index.ts';
import { startLedgerFixtureOn, type Account, type LedgerFixture } from './ledger-fixture.ts';
import { expectError } from './support.ts';

/**
 * Footage export requests (调取录像申请), over HTTP on a running centre, on PGlite and on the
 * PostgreSQL server: copying footage out takes a request that says why, decided by someone else;
 * only its requester downloads it, only while the approval is valid; every step is in the audit
 * trail; a room-and-range request holds its footage at the venue until it is refused or withdrawn.
 */

describe.each(['pglite', 'postgres'] as const)('footage export requests on %s', (kind) => {
  let fx: LedgerFixture;
  let sup: Account;
  let admin: Account;
  let sessionId: string;

  beforeAll(async () => {
    fx = await startLedgerFixtureOn(kind);
    sup = fx.account('supervisor', 'A');
    admin = fx.account('admin', 'A');
    // A session around the fixture's stored segment of camera 1 in venue A.
    const s = await fx.server.services.sessions.create(
      { projectCode: 'ZB-2026-077', projectName: '县道改造', kind: 'bid_opening', roomId: fx.a.room, plannedStart: new Date(fx.a.segmentStart.getTime() - 10_000).toISOString(), plannedEnd: new Date(fx.a.segmentStart.getTime() + 20_000).toISOString() },
      fx.account('admin', 'city').user,
    );
    sessionId = s.id;
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const request = async (who: Account, body: unknown) => fx.call('POST', '/api/exports', who, body);
  const asRequest = async (res: Response, status = 200) => {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return ExportRequest.parse(JSON.parse(text));
  };
  const auditOf = async (id: string) => (await fx.server.services.audit.list({ subjectType: 'export_request', subjectId: id })).map((a) => ({ action: a.action, actor: a.actor, detail: a.detail }));

  it('a session export: requested with a purpose, refused to its own requester, approved by another, downloaded once by its requester only, each step audited', async () => {
    const created = await asRequest(await request(sup, { sessionId, purpose: '投诉复核：开标过程' }), 201);
    expect(created).toMatchObject({ status: 'pending', sessionId, projectCode: 'ZB-2026-077', roomId: fx.a.room, venueId: fx.a.id, requestedBy: sup.user.displayName, canDecide: false, canWithdraw: true, canDownload: false, downloads: 0 });
    // The window is the session's, pre- and post-roll included (10 minutes each by default).
    expect(Date.parse(created.from)).toBe(fx.a.segmentStart.getTime() - 10_000 - 10 * 60_000);
    expect(Date.parse(created.to)).toBe(fx.a.segmentStart.getTime() + 20_000 + 10 * 60_000);

    // Nobody approves their own request; nothing downloads before approval.
    await expectError(await fx.call('POST', `/api/exports/${created.id}/decision`, sup, { approve: true }), 403, 'forbidden', /your own/);
    await expectError(await fx.call('GET', `/api/exports/${created.id}/download`, sup), 409, 'conflict', /once approved/);
    // A refusal says why.
    await expectError(await fx.call('POST', `/api/exports/${created.id}/decision`, admin, { approve: false }), 400, 'bad_request', /note/);

    const listed = ExportRequestList.parse(await (await fx.call('GET', '/api/exports?status=pending', admin)).json());
    expect(listed.requests.find((r) => r.id === created.id)).toMatchObject({ canDecide: true, canDownload: false });

    const approved = await asRequest(await fx.call('POST', `/api/exports/${created.id}/decision`, admin, { approve: true, note: '同意，限复核使用' }));
    expect(approved).toMatchObject({ status: 'approved', decidedBy: admin.user.displayName, decisionNote: '同意，限复核使用' });
    const validMs = Date.parse(approved.expiresAt!) - Date.parse(approved.decidedAt!);
    expect(validMs).toBe(7 * 86_400_000);
    // Decided once: a second decision is a conflict, not a change.
    await expectError(await fx.call('POST', `/api/exports/${created.id}/decision`, fx.account('venue_admin', 'A'), { approve: false, note: '晚了' }), 409, 'conflict', /not pending/);

    // Only the requester downloads; the approver has to make a request of their own.
    await expectError(await fx.call('GET', `/api/exports/${created.id}/download`, admin), 403, 'forbidden', /who requested it/);
    const res = await fx.call('GET', `/api/exports/${created.id}/download`, sup);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()));
    const names = Object.keys(zip.files);
    const report = JSON.parse(await zip.file('export.json')!.async('string')) as { request: ExportRequest; session: { id: string } | null; cameras: Array<{ cameraId: string; storedSeconds: number }> };
    expect(report.request).toMatchObject({ id: created.id, purpose: '投诉复核：开标过程', decidedBy: admin.user.displayName });
    expect(report.session?.id).toBe(sessionId);
    expect(report.cameras.map((c) => c.cameraId)).toEqual(fx.a.cameras);
    // The fixture's stored segment is in the window, with the camera's playlist.
    expect(names.some((n) => n.startsWith(`${fx.a.cameras[0]}/`) && n.endsWith('.ts'))).toBe(true);
    expect(names).toContain(`${fx.a.cameras[0]}/playlist.m3u8`);
    const readme = await zip.file('README.txt')!.async('string');
    expect(readme).toContain('投诉复核：开标过程');
    expect(readme).toContain(admin.user.displayName);

    const after = ExportRequestDetail.parse(await (await fx.call('GET', `/api/exports/${created.id}`, sup)).json());
    expect(after.request.downloads).toBe(1);
    expect(after.cameras[0]!.storedSeconds).toBeGreaterThan(0);

    // Who, what, when, why — and who approved it.
    const trail = await auditOf(created.id);
    expect(trail.map((a) => a.action)).toEqual(['export.request', 'export.approve', 'footage.export']);
    expect(trail[2]).toMatchObject({ actor: sup.name, detail: { purpose: '投诉复核：开标过程', approvedBy: admin.user.displayName, sessionId, projectCode: 'ZB-2026-077' } });
  });

  it('an approval expires: the download is refused with what to do next', async () => {
    const created = await asRequest(await request(sup, { sessionId, purpose: '档案归档' }), 201);
    await asRequest(await fx.call('POST', `/api/exports/${created.id}/decision`, admin, { approve: true }));
    await fx.server.db.execute(sql`UPDATE export_requests SET expires_at = now() - interval '1 minute' WHERE id = ${created.id}`);
    await expectError(await fx.call('GET', `/api/exports/${created.id}/download`, sup), 409, 'conflict', /expired.*make a new request/);
    const listed = ExportRequestList.parse(await (await fx.call('GET', '/api/exports', sup)).json());
    expect(listed.requests.find((r) => r.id === created.id)).toMatchObject({ status: 'approved', canDownload: false });
  });

  it('a room-and-range request holds its footage at the venue until it is refused; a withdrawn one lets go too', async () => {
    const patrol = fx.account('patrol', 'A');
    const box = await mqtt.connectAsync(fx.server.brokerUrl, { protocolVersion: 4, username: fx.a.id, password: fx.a.token, reconnectPeriod: 0 });
    let latest: UploadWindow[] = [];
    box.on('message', (_t, payload) => {
      const d = decodeMessage('windows', fx.a.id, payload);
      if (d.ok) latest = d.message.windows;
    });
    await box.subscribeAsync(topics.windows(fx.a.id), { qos: 1 });
    const held = async (id: string, want: boolean) => {
      const deadline = Date.now() + 5000;
      while (latest.some((w) => w.ownerId === id) !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return latest.find((w) => w.ownerId === id);
    };
    try {
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() - 3000_000).toISOString();
      const refused = await asRequest(await request(patrol, { roomId: fx.a.room, from, to, purpose: '大厅纠纷，调取录像' }), 201);
      expect(refused).toMatchObject({ sessionId: null, projectCode: null, from, to, status: 'pending' });
      expect(await held(refused.id, true)).toMatchObject({ roomId: fx.a.room, from, to, reason: 'manual' });

      await asRequest(await fx.call('POST', `/api/exports/${refused.id}/decision`, sup, { approve: false, note: '与项目无关' }));
      expect(await held(refused.id, false)).toBeUndefined();
      expect((await auditOf(refused.id)).map((a) => a.action)).toEqual(['export.request', 'hold.placed', 'export.reject', 'hold.released']);

      const withdrawn = await asRequest(await request(patrol, { roomId: fx.a.room, from, to, purpose: '误报，撤回测试' }), 201);
      expect(await held(withdrawn.id, true)).toBeDefined();
      await expectError(await fx.call('POST', `/api/exports/${withdrawn.id}/withdraw`, sup), 403, 'forbidden', /who made/);
      const w = await asRequest(await fx.call('POST', `/api/exports/${withdrawn.id}/withdraw`, patrol));
      expect(w).toMatchObject({ status: 'withdrawn', canWithdraw: false, canDecide: false });
      expect(await held(withdrawn.id, false)).toBeUndefined();
      await expectError(await fx.call('POST', `/api/exports/${withdrawn.id}/decision`, sup, { approve: true }), 409, 'conflict');
    } finally {
      await box.endAsync();
    }
  });

  it('bad requests get clear errors; scope and roles are enforced', async () => {
    const from = new Date(Date.now() - 600_000).toISOString();
    const to = new Date(Date.now() - 60_000).toISOString();
    await expectError(await request(sup, { sessionId }), 400, 'bad_request', /purpose/);
    await expectError(await request(sup, { sessionId, purpose: '  ' }), 400, 'bad_request', /purpose/);
    await expectError(await request(sup, { sessionId, roomId: fx.a.room, from, to, purpose: '两者都给' }), 400, 'bad_request', /not both/);
    await expectError(await request(sup, { roomId: fx.a.room, from, purpose: '缺少结束时间' }), 400, 'bad_request', /to/);
    await expectError(await request(sup, { roomId: fx.a.room, from: to, to: from, purpose: '时间颠倒' }), 400, 'bad_request', /before/);
    await expectError(await request(sup, { roomId: fx.a.room, from: new Date(Date.now() - 30 * 3600_000).toISOString(), to, purpose: '范围太长' }), 400, 'bad_request', /exports\.maxRangeHours/);
    await expectError(await request(sup, { roomId: fx.a.room, from: new Date(Date.now() + 60_000).toISOString(), to: new Date(Date.now() + 120_000).toISOString(), purpose: '未来时段' }), 400, 'bad_request', /future/);
    await expectError(await request(sup, { roomId: `${fx.a.id}.no-such-room`, from, to, purpose: '未知房间' }), 400, 'bad_request', /unknown/);
    // Venue B is outside a venue-A account's scope: its room is as unknown as a missing one.
    await expectError(await request(sup, { roomId: fx.b.room, from, to, purpose: '他县房间' }), 400, 'bad_request', /unknown/);
    // The city supervisor reads every county and changes nothing; maintenance does not take footage away.
    await expectError(await request(fx.account('city_supervisor', 'city'), { sessionId, purpose: '市级调取' }), 403, 'forbidden');
    await expectError(await request(fx.account('maintenance', 'A'), { sessionId, purpose: '维护调取' }), 403, 'forbidden');
    // A patrol officer may ask but not decide.
    const mine = await asRequest(await request(sup, { roomId: fx.a.room, from, to, purpose: '巡查复核' }), 201);
    await expectError(await fx.call('POST', `/api/exports/${mine.id}/decision`, fx.account('patrol', 'A'), { approve: true }), 403, 'forbidden');
    // A request of venue B is unknown to a venue-A account; the city sees both.
    const cityAdmin = fx.account('admin', 'city');
    const ofB = await asRequest(await request(cityAdmin, { roomId: fx.b.room, from, to, purpose: '市中心调取 B 县' }), 201);
    await expectError(await fx.call('GET', `/api/exports/${ofB.id}`, sup), 404, 'not_found');
    expect(ExportRequestList.parse(await (await fx.call('GET', '/api/exports', sup)).json()).requests.map((r) => r.id)).not.toContain(ofB.id);
    expect(ExportRequestList.parse(await (await fx.call('GET', '/api/exports', cityAdmin)).json()).requests.map((r) => r.id)).toEqual(expect.arrayContaining([ofB.id, mine.id]));
    await expectError(await fx.call('GET', '/api/exports/00000000-0000-4000-8000-000000000000', sup), 404, 'not_found');
    await expectError(await fx.call('GET', '/api/exports?status=lost', sup), 400, 'bad_request', /status/);
  });
});
