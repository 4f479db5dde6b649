import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { UserRepository } from '../../server/repositories/users.ts';
import { ApiError, ExportRequestList, LedgerEntryList, SessionList, VenueList, type Role, type User } from '../../protocol/index.ts';
import { fakeJpeg, PASSWORD, ROLES, startLedgerFixture, type Account, type LedgerFixture, type Venue } from './ledger-fixture.ts';

/**
 * The authorization matrix, role × venue × route, as a table. Expected permissions are written
 * here independently of server/services/access.ts: a change there that widens access fails this.
 * Every account is scoped to venue A or to the whole city; every route is tried on A and B.
 */

let fx: LedgerFixture;
const sessions = new Map<string, string>();
const entries = new Map<string, string>();
const photos = new Map<string, string>();
const exportRequests = new Map<string, string>();
let bookings = 0;
let accountsMade = 0;
/** Export requests are made by an account outside the matrix: nobody may decide their own. */
let requester: User;

const ALL: readonly Role[] = ROLES;
const CHECKERS: readonly Role[] = ['patrol', 'maintenance', 'supervisor', 'venue_admin', 'admin'];
const FIXERS: readonly Role[] = ['maintenance', 'venue_admin', 'admin'];
const WRITERS: readonly Role[] = ['patrol', 'supervisor', 'venue_admin', 'admin'];
const BOOKERS: readonly Role[] = ['supervisor', 'venue_admin', 'admin'];

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  path: (v: Venue) => Promise<string> | string;
  body?: (v: Venue) => unknown;
  allowed: readonly Role[];
  okStatus: number;
  /** Allowed only for city-wide accounts (the category list is the city's). */
  cityOnly?: boolean;
}

async function freshEntry(v: Venue): Promise<string> {
  const admin = fx.account('admin', 'city');
  const created = await fx.server.services.ledger.create({ clientKey: randomUUID(), roomId: v.room, subjectType: 'bidder', subjectName: 'Acme', category: 'bidder_disorder', description: '' }, admin.user);
  return created.entry.id;
}

async function freshExportRequest(v: Venue): Promise<string> {
  const r = await fx.server.services.exportRequests.create({ roomId: v.room, from: new Date(Date.now() - 600_000).toISOString(), to: new Date(Date.now() - 60_000).toISOString(), purpose: '矩阵测试' }, requester);
  return r.id;
}

async function freshAccount(v: Venue): Promise<string> {
  // Never signed in to: no password hash to compute (argon2 takes a quarter second each).
  const u = await new UserRepository(fx.server.db).create({ id: randomUUID(), username: `matrix-target-${++accountsMade}`, displayName: 'Target', role: 'patrol', venueIds: [v.id], passwordHash: 'not-a-hash' });
  return u.id;
}

async function freshTicket(v: Venue): Promise<string> {
  const admin = fx.account('admin', 'city');
  const check = await fx.server.services.equipment.check({ roomId: v.room, results: [{ item: 'image_clear', deviceId: v.cameras[0]!, ok: false, note: '' }] }, admin.user);
  return check.tickets[0]!.id;
}

const segmentRange = (v: Venue) => `from=${encodeURIComponent(new Date(v.segmentStart.getTime() - 1000).toISOString())}&to=${encodeURIComponent(new Date(v.segmentStart.getTime() + 3000).toISOString())}`;

const CASES: Case[] = [
  { name: 'session detail', method: 'GET', path: (v) => `/api/sessions/${sessions.get(v.id)}`, allowed: ALL, okStatus: 200 },
  // Copying footage out takes a request with a purpose, decided by someone else (tests/server/export-requests.test.ts).
  { name: 'request a session export', method: 'POST', path: () => '/api/exports', body: (v) => ({ sessionId: sessions.get(v.id), purpose: '矩阵测试' }), allowed: WRITERS, okStatus: 201 },
  { name: 'export request detail', method: 'GET', path: (v) => `/api/exports/${exportRequests.get(v.id)}`, allowed: ALL, okStatus: 200 },
  { name: 'decide an export request', method: 'POST', path: async (v) => `/api/exports/${await freshExportRequest(v)}/decision`, body: () => ({ approve: true }), allowed: BOOKERS, okStatus: 200 },
  // Accounts: a city-wide admin anywhere; a venue admin (or an admin of some venues) in their own venues.
  { name: 'create an account in a venue', method: 'POST', path: () => '/api/users', body: (v) => ({ username: `matrix-${++accountsMade}`, displayName: 'Matrix', role: 'patrol', venueIds: [v.id], password: 'matrix password 1' }), allowed: ['venue_admin', 'admin'], okStatus: 201 },
  { name: 'disable an account of a venue', method: 'PATCH', path: async (v) => `/api/users/${await freshAccount(v)}`, body: () => ({ disabled: true }), allowed: ['venue_admin', 'admin'], okStatus: 200 },
  {
    name: 'book a session',
    method: 'POST',
    path: () => '/api/sessions',
    // Each booking its own day: a room booked twice for one time is refused (tests/server/http-api.test.ts).
    body: (v) => {
      const day = Date.now() + ++bookings * 86400_000;
      return { projectCode: 'M-1', projectName: 'Matrix', kind: 'bid_opening', roomId: v.room, plannedStart: new Date(day).toISOString(), plannedEnd: new Date(day + 3600_000).toISOString() };
    },
    allowed: BOOKERS,
    okStatus: 201,
  },
  { name: 'VOD playlist', method: 'GET', path: (v) => `/api/cameras/${v.cameras[0]}/vod.m3u8?${segmentRange(v)}`, allowed: ALL, okStatus: 200 },
  { name: 'footage segment', method: 'GET', path: (v) => `/api/footage/segments/${v.segmentId}.ts`, allowed: ALL, okStatus: 200 },
  { name: 'ledger entry detail', method: 'GET', path: (v) => `/api/ledger/entries/${entries.get(v.id)}`, allowed: ALL, okStatus: 200 },
  { name: 'ledger photo', method: 'GET', path: (v) => `/api/ledger/photos/${photos.get(v.id)}`, allowed: ALL, okStatus: 200 },
  {
    name: 'log a ledger entry',
    method: 'POST',
    path: () => '/api/ledger/entries',
    body: (v) => ({ clientKey: randomUUID(), roomId: v.room, subjectType: 'staff', subjectName: '', category: 'any_smoking' }),
    allowed: WRITERS,
    okStatus: 201,
  },
  { name: 'add a photo', method: 'POST', path: async (v) => `/api/ledger/entries/${await freshEntry(v)}/photos`, body: () => fakeJpeg(), allowed: WRITERS, okStatus: 201 },
  { name: 'step: stop on site', method: 'POST', path: async (v) => `/api/ledger/entries/${await freshEntry(v)}/transitions`, body: () => ({ action: 'stop', actionTaken: '当场制止' }), allowed: WRITERS, okStatus: 200 },
  { name: 'step: close as unfounded', method: 'POST', path: async (v) => `/api/ledger/entries/${await freshEntry(v)}/transitions`, body: () => ({ action: 'close_unfounded', reason: '经核实不属实' }), allowed: BOOKERS, okStatus: 200 },
  // Entries here are logged by the city admin, so a patrol officer (who may correct only their own) is refused.
  { name: 'correct an entry', method: 'POST', path: async (v) => `/api/ledger/entries/${await freshEntry(v)}/revisions`, body: () => ({ reason: 'typo', description: 'fixed' }), allowed: BOOKERS, okStatus: 200 },
  { name: 'quarterly report of a venue', method: 'GET', path: (v) => `/api/ledger/reports/quarterly?year=2026&quarter=4&venueId=${v.id}`, allowed: ALL, okStatus: 200 },
  { name: 'quarterly report as XLSX', method: 'GET', path: (v) => `/api/ledger/reports/quarterly?year=2026&quarter=4&venueId=${v.id}&format=xlsx`, allowed: ALL, okStatus: 200 },
  { name: 'equipment checklist of a room', method: 'GET', path: (v) => `/api/ledger/checklists/${v.room}`, allowed: ALL, okStatus: 200 },
  { name: 'record an equipment check', method: 'POST', path: () => '/api/ledger/equipment-checks', body: (v) => ({ roomId: v.room, results: [{ item: 'clock_right', deviceId: v.cameras[1], ok: true }] }), allowed: CHECKERS, okStatus: 201 },
  { name: 'work a maintenance ticket', method: 'POST', path: async (v) => `/api/ledger/tickets/${await freshTicket(v)}/transitions`, body: () => ({ action: 'start' }), allowed: FIXERS, okStatus: 200 },
  { name: 'footage status of a camera', method: 'GET', path: (v) => `/api/cameras/${v.cameras[0]}/footage-status?${segmentRange(v)}`, allowed: ALL, okStatus: 200 },
  { name: 'fetch footage from the venue', method: 'POST', path: (v) => `/api/cameras/${v.cameras[0]}/fetch?${segmentRange(v)}`, allowed: ALL, okStatus: 200 },
  { name: 'run the pre-session check', method: 'POST', path: (v) => `/api/sessions/${sessions.get(v.id)}/pre-check`, allowed: ['patrol', 'maintenance', 'supervisor', 'venue_admin', 'admin'], okStatus: 200 },
  { name: 'command a venue box', method: 'POST', path: (v) => `/api/venues/${v.id}/commands`, body: () => ({ command: 'nonsense' }), allowed: [], okStatus: 200 },
  // The audit trail: read by those who answer for the venues, within scope; the chain walk is city-wide.
  { name: 'audit trail of a venue', method: 'GET', path: (v) => `/api/audit?venueId=${v.id}`, allowed: ['supervisor', 'venue_admin', 'city_supervisor', 'admin'], okStatus: 200 },
  { name: 'check the audit chain', method: 'POST', path: () => '/api/audit/check', allowed: ['city_supervisor', 'admin'], okStatus: 200, cityOnly: true },
  { name: 'change a category', method: 'PUT', path: () => '/api/ledger/categories/matrix_test', body: () => ({ subjectType: 'staff', zh: '测试', en: 'Test' }), allowed: ['admin'], okStatus: 204, cityOnly: true },
];

beforeAll(async () => {
  fx = await startLedgerFixture();
  const admin = fx.account('admin', 'city');
  requester = await fx.server.services.auth.createUser({ username: 'export-requester', password: PASSWORD, displayName: 'Requester', role: 'supervisor', venueIds: null });
  for (const v of [fx.a, fx.b]) {
    const s = await fx.server.services.sessions.create(
      { projectCode: `P-${v.id}`, projectName: 'Fixture', kind: 'bid_opening', roomId: v.room, plannedStart: new Date(Date.now() - 3600_000).toISOString(), plannedEnd: new Date(Date.now() + 3600_000).toISOString() },
      admin.user,
    );
    sessions.set(v.id, s.id);
    const e = await freshEntry(v);
    entries.set(v.id, e);
    photos.set(v.id, (await fx.server.services.ledger.addPhoto(e, fakeJpeg(), admin.user)).id);
    exportRequests.set(v.id, await freshExportRequest(v));
  }
});

afterAll(async () => {
  await fx?.stop();
});

const auditRows = async () => Number((await queryRows<{ n: string | number }>(fx.server.db, sql`SELECT count(*) AS n FROM audit_log`))[0]!.n);
const inScope = (who: Account, v: Venue) => who.venueIds === null || who.venueIds.includes(v.id);

describe('authorization matrix (role × venue × route)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const failures: string[] = [];
    for (const who of fx.accounts) {
      for (const v of [fx.a, fx.b]) {
        const expectOk = inScope(who, v) && c.allowed.includes(who.role) && (!c.cityOnly || who.venueIds === null);
        const path = await c.path(v);
        const auditBefore = await auditRows();
        const res = await fx.call(c.method, path, who, c.body?.(v));
        const cell = `${who.name} on ${v === fx.a ? 'A' : 'B'}: ${c.method} ${path} → ${res.status}`;
        if (expectOk) {
          if (res.status !== c.okStatus) failures.push(`${cell}, expected ${c.okStatus}: ${await res.text()}`);
          else await res.arrayBuffer();
          continue;
        }
        if (![400, 403, 404].includes(res.status)) {
          failures.push(`${cell}, expected a refusal`);
          continue;
        }
        const body = ApiError.safeParse(await res.json());
        if (!body.success || !body.data.error.message) failures.push(`${cell}: refusal without a clear error body`);
        // Reads outside the scope look like "does not exist": ids cannot be probed.
        if (c.method === 'GET' && !inScope(who, v) && res.status !== 404) failures.push(`${cell}, expected 404 outside the scope`);
        // A refused request writes nothing, not even an audit row.
        const auditAfter = await auditRows();
        if (auditAfter !== auditBefore) failures.push(`${cell}: a refused request wrote ${auditAfter - auditBefore} audit rows`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('lists (venues, sessions, ledger, export requests) show only the venues in scope', async () => {
    for (const who of fx.accounts) {
      const want = who.venueIds === null ? [fx.a.id, fx.b.id] : [fx.a.id];
      const venues = VenueList.parse(await (await fx.call('GET', '/api/venues', who)).json()).venues.map((v) => v.id);
      expect(venues.filter((id) => id === fx.a.id || id === fx.b.id).sort(), who.name).toEqual([...want].sort());
      expect(venues.every((id) => who.venueIds === null || who.venueIds.includes(id)), who.name).toBe(true);
      const s = SessionList.parse(await (await fx.call('GET', '/api/sessions', who)).json()).sessions;
      expect(s.every((x) => want.includes(x.venueId)), who.name).toBe(true);
      expect(new Set(s.map((x) => x.venueId)).size, who.name).toBe(want.length);
      const l = LedgerEntryList.parse(await (await fx.call('GET', '/api/ledger/entries', who)).json()).entries;
      expect(l.every((x) => want.includes(x.venueId)), who.name).toBe(true);
      expect(new Set(l.map((x) => x.venueId)).size, who.name).toBe(want.length);
      // Asking for another venue by name gives nothing, not an error that confirms it exists.
      const other = LedgerEntryList.parse(await (await fx.call('GET', `/api/ledger/entries?venueId=${fx.b.id}`, who)).json()).entries;
      expect(other.length > 0, who.name).toBe(who.venueIds === null);
      const x = ExportRequestList.parse(await (await fx.call('GET', '/api/exports', who)).json()).requests;
      expect(new Set(x.map((r) => r.venueId)), who.name).toEqual(new Set(want));
    }
  });

  it('nobody reaches anything without signing in', async () => {
    for (const c of CASES) {
      const res = await fx.call(c.method, await c.path(fx.a), null, c.body?.(fx.a));
      expect(res.status, c.name).toBe(401);
      await res.arrayBuffer();
    }
  });

  it('footage views (playlist and segment) go into the audit trail with who fetched them', async () => {
    const sup = fx.account('supervisor', 'A');
    await (await fx.call('GET', `/api/cameras/${fx.a.cameras[0]}/vod.m3u8?${segmentRange(fx.a)}`, sup)).text();
    await (await fx.call('GET', `/api/footage/segments/${fx.a.segmentId}.ts`, sup)).arrayBuffer();
    const rows = (await fx.server.services.audit.list()).filter((r) => r.actorId === sup.user.id);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['footage.playlist', 'footage.segment']));
    expect(rows.find((r) => r.action === 'footage.segment')).toMatchObject({ venueId: fx.a.id, subjectId: fx.a.segmentId });
  });
});
