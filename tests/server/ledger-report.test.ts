import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraInfo, User } from '../../protocol/index.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { LedgerRepository } from '../../server/repositories/ledger.ts';
import { DeviceHealthRepository } from '../../server/repositories/device-health.ts';
import { UserRepository } from '../../server/repositories/users.ts';
import { VenueRepository } from '../../server/repositories/venues.ts';
import { AuditService } from '../../server/services/audit.ts';
import { EquipmentService } from '../../server/services/equipment.ts';
import { LedgerService } from '../../server/services/ledger.ts';
import { reportCsv, reportXlsx } from '../../server/services/ledger-report-export.ts';
import { localDay, quarterBounds } from '../../server/services/calendar.ts';
import { LedgerReportService } from '../../server/services/ledger-report.ts';
import { createPgDatabase, silent } from './support.ts';

const TZ = 'Asia/Shanghai';
const H = 3600_000;

const cam = (id: string, roomId: string, lastError: string | null): CameraInfo => ({
  id, roomId, name: id, endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: 'aac', recording: true, lastError,
});

it('quarter bounds follow the local time zone', () => {
  expect(quarterBounds(2026, 1, TZ)).toEqual({ from: new Date('2025-12-31T16:00:00.000Z'), to: new Date('2026-03-31T16:00:00.000Z') });
  expect(quarterBounds(2026, 4, TZ)).toEqual({ from: new Date('2026-09-30T16:00:00.000Z'), to: new Date('2026-12-31T16:00:00.000Z') });
  // Days are local too: 16:00 UTC is already the next day in China.
  expect(localDay(new Date('2026-06-30T15:59:59.999Z'), TZ)).toBe('2026-06-30');
  expect(localDay(new Date('2026-06-30T16:00:00.000Z'), TZ)).toBe('2026-07-01');
});

describe.each(['pglite', 'postgres'] as const)('quarterly report on %s against a known fixture', (kind) => {
  let handle: DatabaseHandle;
  let drop: (() => Promise<void>) | null = null;
  let reports: LedgerReportService;
  let cityAdmin: User;
  let venueAdmin: User;

  beforeAll(async () => {
    if (kind === 'postgres') {
      const created = await createPgDatabase();
      drop = created.drop;
      handle = await openDatabase({ url: created.url, dir: null });
    } else {
      handle = await openDatabase({ url: null, dir: null });
    }
    await migrate(handle.db);
    const venues = new VenueRepository(handle.db);
    await venues.upsertInventory({ id: 'rp-a', name: 'A' }, [{ id: 'rp-a.r1', name: '开标室', kind: 'bid_opening' }], [cam('rp-a.c1', 'rp-a.r1', null), cam('rp-a.c2', 'rp-a.r1', 'stream lost')]);
    await venues.upsertInventory({ id: 'rp-b', name: 'B' }, [{ id: 'rp-b.r1', name: '评标室', kind: 'evaluation' }], [cam('rp-b.c1', 'rp-b.r1', null)]);
    const users = new UserRepository(handle.db);
    const mk = async (username: string, role: User['role'], venueIds: string[] | null): Promise<User> => {
      const row = await users.create({ id: randomUUID(), username, displayName: username, role, venueIds, passwordHash: 'x' });
      return { id: row.id, username, displayName: username, role, venueIds };
    };
    cityAdmin = await mk('city', 'admin', null);
    venueAdmin = await mk('va', 'venue_admin', ['rp-a']);
    const audit = new AuditService(handle.db);
    const ledger = new LedgerService(handle.db, new LedgerRepository(handle.db), venues, audit, { footageMinutesBefore: 5, footageMinutesAfter: 5, timeZone: TZ, maxPhotoBytes: 1e6, redactNames: true }, { preRollMinutes: 10, postRollMinutes: 10 }, silent);
    const add = async (room: string, foundAt: string, subjectType: 'expert' | 'bidder' | 'staff', category: string) =>
      (await ledger.create({ clientKey: randomUUID(), roomId: room, foundAt, subjectType, subjectName: '', category, description: '' }, cityAdmin)).entry;
    const at = (iso: string, hours: number) => new Date(Date.parse(iso) + hours * H);

    const e1 = await add('rp-a.r1', '2025-12-31T17:00:00.000Z', 'expert', 'expert_phone'); // 1 Jan 01:00 local: Q1
    await ledger.transition(e1.id, { action: 'stop', actionTaken: 'x' }, cityAdmin, at(e1.foundAt, 1));
    await ledger.transition(e1.id, { action: 'report', department: 'd', reportedOn: '2026-01-01' }, cityAdmin, at(e1.foundAt, 2));
    await ledger.transition(e1.id, { action: 'handle', result: 'r', legalBasis: '', decisionNumber: '' }, cityAdmin, at(e1.foundAt, 10));
    const e2 = await add('rp-a.r1', '2026-02-01T02:00:00.000Z', 'bidder', 'bidder_disorder');
    await ledger.transition(e2.id, { action: 'stop', actionTaken: 'x' }, cityAdmin, at(e2.foundAt, 1));
    await ledger.transition(e2.id, { action: 'report', department: 'd', reportedOn: '2026-02-01' }, cityAdmin, at(e2.foundAt, 5));
    await ledger.transition(e2.id, { action: 'handle', result: 'r', legalBasis: '', decisionNumber: 'n' }, cityAdmin, at(e2.foundAt, 30));
    await ledger.transition(e2.id, { action: 'publish', publishedOn: '2026-02-10', publishedWhere: 'web' }, cityAdmin, at(e2.foundAt, 200));
    await add('rp-a.r1', '2026-03-31T15:59:00.000Z', 'staff', 'any_smoking'); // 23:59 local: still Q1
    await add('rp-a.r1', '2026-03-31T16:00:00.000Z', 'staff', 'any_smoking'); // 1 Apr local: Q2
    await add('rp-a.r1', '2025-12-31T15:59:00.000Z', 'staff', 'any_noise'); // 31 Dec local: 2025
    const e6 = await add('rp-b.r1', '2026-03-01T02:00:00.000Z', 'expert', 'expert_phone');
    await ledger.transition(e6.id, { action: 'stop', actionTaken: 'x' }, cityAdmin, at(e6.foundAt, 1));
    await ledger.transition(e6.id, { action: 'close_unfounded', reason: 'no' }, cityAdmin, at(e6.foundAt, 3));

    // Today's equipment check in B: image fails on its only camera, audio and clock pass → one open ticket.
    const equipment = new EquipmentService(handle.db, venues, audit, silent);
    await equipment.check(
      { roomId: 'rp-b.r1', results: [{ item: 'image_clear', deviceId: 'rp-b.c1', ok: false, note: 'blur' }, { item: 'audio_present', deviceId: 'rp-b.c1', ok: true, note: '' }, { item: 'clock_right', deviceId: 'rp-b.c1', ok: true, note: '' }] },
      cityAdmin,
    );
    reports = new LedgerReportService(handle.db, TZ);
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
  });

  const count = (list: Array<{ key: string; count: number }>) => Object.fromEntries(list.filter((c) => c.count > 0).map((c) => [c.key, c.count]));

  it('venue A, Q1 2026', async () => {
    const r = await reports.quarterly(cityAdmin, { year: 2026, quarter: 1, venueId: 'rp-a' });
    expect(r.total).toBe(3);
    expect(count(r.byCategory)).toEqual({ any_smoking: 1, bidder_disorder: 1, expert_phone: 1 });
    expect(count(r.bySubjectType)).toEqual({ bidder: 1, expert: 1, staff: 1 });
    expect(r.bySubjectType).toHaveLength(6);
    expect(count(r.byStatus)).toEqual({ found: 1, handled: 1, published: 1 });
    expect(r.medianHoursFoundToHandled).toBe(20);
    expect(r.handledCount).toBe(2);
    // No health samples in Q1 2026: the rate is that of the cameras now.
    expect(r.cameras).toMatchObject({ total: 2, intact: 1, intactRate: 0.5, basis: 'current_state', sampledDays: 0, checkPassRate: null });
  });

  it('takes the intact rate of a quarter from the health samples of its local days', async () => {
    const health = new DeviceHealthRepository(handle.db);
    // Q3 2026 in Asia/Shanghai: 1 July to 30 September. A: 10 of 20 samples and 20 of 20; B: 0 of 10.
    await health.addIntactSample('rp-a', '2026-07-01', 20, 10);
    await health.addIntactSample('rp-a', '2026-09-30', 20, 20);
    await health.addIntactSample('rp-b', '2026-08-15', 10, 0);
    // Just outside: the day before and the day after.
    await health.addIntactSample('rp-a', '2026-06-30', 50, 0);
    await health.addIntactSample('rp-a', '2026-10-01', 50, 0);
    const a = await reports.quarterly(cityAdmin, { year: 2026, quarter: 3, venueId: 'rp-a' });
    expect(a.cameras).toMatchObject({ total: 2, intact: 1, intactRate: 0.75, basis: 'health_samples', sampledDays: 2 });
    const city = await reports.quarterly(cityAdmin, { year: 2026, quarter: 3 });
    expect(city.cameras).toMatchObject({ intactRate: 0.6, basis: 'health_samples', sampledDays: 3 });
    // A venue-scoped user's city figure holds only their venue's samples.
    expect((await reports.quarterly(venueAdmin, { year: 2026, quarter: 3 })).cameras.intactRate).toBe(0.75);
  });

  it('city, Q1 2026, and a venue-scoped user gets only their venue', async () => {
    const city = await reports.quarterly(cityAdmin, { year: 2026, quarter: 1 });
    expect(city.total).toBe(4);
    expect(count(city.byCategory)).toEqual({ any_smoking: 1, bidder_disorder: 1, expert_phone: 2 });
    expect(count(city.byStatus)).toEqual({ found: 1, handled: 1, published: 1, closed_unfounded: 1 });
    expect(city.medianHoursFoundToHandled).toBe(20);
    expect(city.cameras).toMatchObject({ total: 3, intact: 1, intactRate: 0.3333 });
    const scoped = await reports.quarterly(venueAdmin, { year: 2026, quarter: 1 });
    expect(scoped.venueIds).toEqual(['rp-a']);
    expect(scoped.total).toBe(3);
    await expect(reports.quarterly(venueAdmin, { year: 2026, quarter: 1, venueId: 'rp-b' })).rejects.toThrow(/does not exist/);
  });

  it('Q4 2026 has the equipment check; Q2 and 2025-Q4 hold the entries just outside Q1', async () => {
    const now = new Date();
    const q = Math.ceil(Number(new Intl.DateTimeFormat('en-CA', { timeZone: TZ, month: 'numeric' }).format(now)) / 3);
    const y = Number(new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric' }).format(now));
    const current = await reports.quarterly(cityAdmin, { year: y, quarter: q, venueId: 'rp-b' });
    expect(current.cameras).toMatchObject({ total: 1, intact: 0, intactRate: 0, checkPassRate: 0.6667 });
    expect((await reports.quarterly(cityAdmin, { year: 2026, quarter: 2, venueId: 'rp-a' })).total).toBe(1);
    expect(count((await reports.quarterly(cityAdmin, { year: 2025, quarter: 4, venueId: 'rp-a' })).byCategory)).toEqual({ any_noise: 1 });
  });

  it('exports CSV and XLSX with the same figures', async () => {
    const r = await reports.quarterly(cityAdmin, { year: 2026, quarter: 1, venueId: 'rp-a' });
    const csv = reportCsv(r);
    expect(csv.startsWith('\uFEFF')).toBe(true);
    expect(csv).toContain('summary,total,问题总数,3');
    expect(csv).toContain('category,expert_phone,评标区携带或使用手机,1');
    expect(csv).toContain('summary,medianHoursFoundToHandled,发现至处理中位时长（小时）,20');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await reportXlsx(r)) as unknown as ArrayBuffer);
    const summary = wb.worksheets[0]!;
    const values = new Map<string, unknown>();
    summary.eachRow((row, n) => {
      if (n > 1) values.set(`${row.getCell(1).value}.${row.getCell(2).value}`, row.getCell(4).value);
    });
    expect(values.get('summary.total')).toBe(3);
    expect(values.get('cameras.intactRate')).toBe(0.5);
    expect(values.get('cameras.basis')).toBe('current_state');
    expect(wb.worksheets.map((w) => w.name)).toEqual(['汇总 Summary', '类别 Category', '对象 Subject', '状态 Status']);
  });
});
