import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { encodeMessage, SEGMENT_META_HEADER, SESSION_COOKIE, type Role, type SegmentRecord, type User } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import argon2 from 'argon2';
import { UserRepository } from '../../server/repositories/users.ts';
import { hashToken, toApiUser } from '../../server/services/auth.ts';
import { createPgDatabase, csrf, serverConfig, silent, tempDir, uniqueVenueId } from './support.ts';

let sharedHash: Promise<string> | undefined;

/**
 * A running centre with two venues (A and B), each with a room, two cameras and one stored
 * segment, and users of every role scoped to venue A plus city-wide ones. Shared by the ledger's
 * HTTP tests.
 */

export const PASSWORD = 'a long enough password';

export interface Venue {
  id: string;
  token: string;
  room: string;
  cameras: string[];
  segmentId: string;
  segmentStart: Date;
}

export interface Account {
  name: string;
  role: Role;
  venueIds: string[] | null;
  user: User;
  cookie: string;
}

export interface LedgerFixture {
  server: RunningServer;
  a: Venue;
  b: Venue;
  accounts: Account[];
  account(role: Role, scope: 'A' | 'city'): Account;
  call(method: string, path: string, who: Account | null, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export const ROLES: Role[] = ['patrol', 'supervisor', 'maintenance', 'venue_admin', 'city_supervisor', 'admin'];

export async function startLedgerFixture(overrides: Record<string, unknown> = {}): Promise<LedgerFixture> {
  const tmp = tempDir('ledger');
  const mk = (): Venue => {
    const id = uniqueVenueId('lg');
    return { id, token: randomBytes(24).toString('hex'), room: `${id}.opening-1`, cameras: [`${id}.cam-1`, `${id}.cam-2`], segmentId: randomUUID(), segmentStart: new Date(Date.now() - 60_000) };
  };
  const a = mk();
  const b = mk();
  const server = await startServer(
    serverConfig(tmp.dir, {
      agents: [a, b].map((v) => ({ venueId: v.id, token: v.token })),
      ...overrides,
    }),
    { logger: silent },
  );
  for (const v of [a, b]) {
    await server.services.venues.applyInventory(
      encodeMessage('inventory', {
        venueId: v.id,
        venue: { id: v.id, name: `场地 ${v.id}` },
        rooms: [{ id: v.room, name: '开标室 1', kind: 'bid_opening' }],
        cameras: v.cameras.map((c) => ({ id: c, roomId: v.room, name: c, endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: 'aac', recording: true, lastError: null })),
      }),
    );
    const body = randomBytes(2048);
    const meta: SegmentRecord = {
      id: v.segmentId,
      cameraId: v.cameras[0]!,
      runId: randomUUID(),
      start: v.segmentStart.toISOString(),
      end: new Date(v.segmentStart.getTime() + 2000).toISOString(),
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      hasAudio: true,
    };
    const res = await fetch(`${server.url}/api/ingest/segments/${meta.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${v.token}`, [SEGMENT_META_HEADER]: JSON.stringify(meta), 'content-type': 'application/octet-stream' },
      body,
    });
    if (res.status !== 201) throw new Error(`fixture segment upload failed: ${res.status} ${await res.text()}`);
  }
  // Twelve accounts share one password hash and are signed in by writing their sessions: argon2 is
  // slow on purpose (~0.25 s a hash or check), and 24 of them made every fixture take 6 s longer.
  // Signing in itself is tested through POST /api/auth/login (ledger-flow, user-admin).
  const users = new UserRepository(server.db);
  const passwordHash = await (sharedHash ??= argon2.hash(PASSWORD));
  const accounts: Account[] = [];
  for (const role of ROLES) {
    for (const scope of ['A', 'city'] as const) {
      const name = `${role}-${scope.toLowerCase()}`;
      const venueIds = scope === 'A' ? [a.id] : null;
      const row = await users.create({ id: randomUUID(), username: name, displayName: `${role} ${scope}`, role, venueIds, passwordHash });
      const token = randomBytes(32).toString('base64url');
      await users.createSession(hashToken(token), row.id, new Date(Date.now() + 24 * 3600_000));
      accounts.push({ name, role, venueIds, user: toApiUser(row), cookie: `${SESSION_COOKIE}=${token}` });
    }
  }
  const call = (method: string, path: string, who: Account | null, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { ...headers };
    if (who) Object.assign(h, { cookie: who.cookie }, method === 'GET' ? {} : csrf(who.cookie));
    let payload: Uint8Array | string | undefined;
    if (Buffer.isBuffer(body)) payload = new Uint8Array(body);
    else if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    return fetch(`${server.url}${path}`, { method, headers: h, body: payload });
  };
  return {
    server,
    a,
    b,
    accounts,
    account: (role, scope) => accounts.find((x) => x.role === role && (scope === 'city' ? x.venueIds === null : x.venueIds !== null))!,
    call,
    stop: async () => {
      await server.stop();
      tmp.remove();
    },
  };
}

/**
 * The fixture on PGlite, or on a fresh database of the PostgreSQL server on 127.0.0.1:5432, which
 * its stop() drops: the data-layer tests run every case on both.
 */
export async function startLedgerFixtureOn(kind: 'pglite' | 'postgres', overrides: Record<string, unknown> = {}): Promise<LedgerFixture> {
  if (kind === 'pglite') return startLedgerFixture(overrides);
  const pg = await createPgDatabase();
  let fx: LedgerFixture;
  try {
    fx = await startLedgerFixture({ ...overrides, databaseUrl: pg.url });
  } catch (err) {
    await pg.drop();
    throw err;
  }
  const stop = fx.stop;
  return {
    ...fx,
    stop: async () => {
      await stop();
      await pg.drop();
    },
  };
}

/** A tiny valid JPEG header followed by bytes: enough for the magic-byte check. */
export const fakeJpeg = (size = 4096): Buffer => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)]);
