import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CityOverview, encodeMessage } from '../../protocol/index.ts';
import { dayBounds, localDay } from '../../server/services/calendar.ts';
import { startLedgerFixtureOn, type LedgerFixture } from './ledger-fixture.ts';

/**
 * The city overview (`GET /api/overview`) on PGlite and on the PostgreSQL server: each county's
 * counts come from the real tables — device health reports, open alerts, box alarms, today's
 * sessions, open ledger entries, pending export requests — and a county user sees only their own.
 */

const box = { cpuPercent: 1, memoryUsedBytes: 1, memoryTotalBytes: 2, diskFreeBytes: 1e9, diskTotalBytes: 2e9, recordingBytesPerDay: 0, forecastDays: null, brokerConnected: true, outboxDepth: 0, uptimeSeconds: 1, agentVersion: 'test' };
const camera = (id: string, roomId: string, ok: boolean) => ({ id, roomId, name: id, online: ok, state: ok ? ('ok' as const) : ('unreachable' as const), recording: ok, fps: ok ? 25 : null, bitrateKbps: ok ? 4000 : null, lastSegmentAgeSeconds: ok ? 1 : null, reconnectsLastHour: 0, clockOffsetMs: 0, hasAudio: true, lastError: ok ? null : 'no answer' });

it('a local day runs from local midnight to the next, month ends included', () => {
  expect(dayBounds('2026-06-30', 'Asia/Shanghai')).toEqual({ from: new Date('2026-06-29T16:00:00.000Z'), to: new Date('2026-06-30T16:00:00.000Z') });
  expect(dayBounds('2026-12-31', 'Asia/Shanghai')).toEqual({ from: new Date('2026-12-30T16:00:00.000Z'), to: new Date('2026-12-31T16:00:00.000Z') });
  expect(dayBounds('2026-03-01', 'UTC')).toEqual({ from: new Date('2026-03-01T00:00:00.000Z'), to: new Date('2026-03-02T00:00:00.000Z') });
});

describe.each(['pglite', 'postgres'] as const)('city overview on %s', (kind) => {
  let fx: LedgerFixture;

  beforeAll(async () => {
    fx = await startLedgerFixtureOn(kind);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('counts each county from its tables, for today’s local day; a county user sees their county only', async () => {
    const now = Date.now();
    const admin = fx.account('admin', 'city');
    // Venue A: one camera working, one down (an open alert), a disk alarm, a session running and
    // one tomorrow, an open ledger entry, a pending export request.
    await fx.server.services.deviceHealth.applyReport(encodeMessage('health', { venueId: fx.a.id, box, cameras: [camera(fx.a.cameras[0]!, fx.a.room, true), camera(fx.a.cameras[1]!, fx.a.room, false)], sensors: [] }));
    await fx.server.services.deviceHealth.raise(fx.a.id, fx.a.cameras[1]!, fx.a.room, 'device_offline', { en: 'camera does not answer', zh: '摄像机无应答' }, new Date());
    await fx.server.services.alarms.apply(encodeMessage('alarm', { venueId: fx.a.id, alarmId: randomUUID(), kind: 'disk_full', active: true, raisedAt: new Date().toISOString(), detail: 'only held footage left', pausedCameras: [], freeBytes: 1000 }));
    const running = await fx.server.services.sessions.create({ projectCode: 'OV-1', projectName: '概览', kind: 'bid_opening', roomId: fx.a.room, plannedStart: new Date(now - 60_000).toISOString(), plannedEnd: new Date(now + 60_000).toISOString() }, admin.user);
    const { to: endOfToday } = dayBounds(localDay(new Date(now), 'Asia/Shanghai'), 'Asia/Shanghai');
    await fx.server.services.sessions.create({ projectCode: 'OV-2', projectName: '明天', kind: 'evaluation', roomId: fx.a.room, plannedStart: new Date(endOfToday.getTime() + 3600_000).toISOString(), plannedEnd: new Date(endOfToday.getTime() + 7200_000).toISOString() }, admin.user);
    await fx.server.services.ledger.create({ clientKey: randomUUID(), roomId: fx.a.room, subjectType: 'expert', subjectName: '王五', category: 'expert_phone', description: '' }, fx.account('patrol', 'A').user);
    await fx.server.services.exportRequests.create({ sessionId: running.id, purpose: '复核开标过程' }, fx.account('supervisor', 'A').user);
    // Venue B: both cameras working, nothing else.
    await fx.server.services.deviceHealth.applyReport(encodeMessage('health', { venueId: fx.b.id, box, cameras: fx.b.cameras.map((c) => camera(c, fx.b.room, true)), sensors: [] }));

    const res = await fx.call('GET', '/api/overview', fx.account('city_supervisor', 'city'));
    expect(res.status).toBe(200);
    const overview = CityOverview.parse(await res.json());
    expect(overview.day).toBe(localDay(new Date(now), 'Asia/Shanghai'));
    const a = overview.venues.find((v) => v.venueId === fx.a.id)!;
    const b = overview.venues.find((v) => v.venueId === fx.b.id)!;
    expect(a).toMatchObject({ cameras: 2, camerasWorking: 1, openAlerts: 1, alarms: ['disk_full'], sessionsToday: 1, sessionsInProgress: 1, ledgerOpen: 1, ledgerFoundToday: 1, exportsPending: 1 });
    expect(b).toMatchObject({ cameras: 2, camerasWorking: 2, openAlerts: 0, alarms: [], sessionsToday: 0, sessionsInProgress: 0, ledgerOpen: 0, ledgerFoundToday: 0, exportsPending: 0 });

    // A county account: its own county only.
    const mine = CityOverview.parse(await (await fx.call('GET', '/api/overview', fx.account('patrol', 'A'))).json());
    expect(mine.venues.map((v) => v.venueId)).toEqual([fx.a.id]);
    expect((await fx.call('GET', '/api/overview', null)).status).toBe(401);
  });
});
