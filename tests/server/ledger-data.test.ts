import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../protocol/index.ts';
import { openDatabase, queryRows, type DatabaseHandle } from '../../server/db/client.ts';
import { migrate } from '../../server/db/migrate.ts';
import { LedgerRepository } from '../../server/repositories/ledger.ts';
import { SessionRepository } from '../../server/repositories/sessions.ts';
import { UserRepository } from '../../server/repositories/users.ts';
import { VenueRepository } from '../../server/repositories/venues.ts';
import { AuditService } from '../../server/services/audit.ts';
import { LedgerService } from '../../server/services/ledger.ts';
import { createPgDatabase, silent, tempDir } from './support.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const settings = { footageMinutesBefore: 5, footageMinutesAfter: 5, timeZone: 'Asia/Shanghai', maxPhotoBytes: 1_000_000, redactNames: true };

/** Runs `npm run verify -- --audit` as a user would (tsx scripts/verify.ts) against the given env. */
async function verifyCli(env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/verify.ts', '--audit'], { cwd: root, env: { ...process.env, ...env, LOG_LEVEL: 'silent' } });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe.each(['pglite', 'postgres'] as const)('ledger data layer on %s', (kind) => {
  let handle: DatabaseHandle;
  let drop: (() => Promise<void>) | null = null;
  const tmp = tempDir('ledger-data');
  let env: Record<string, string>;
  let ledger: LedgerService;
  let audit: AuditService;
  let user: User;
  const venueId = 'ld-venue';
  const roomId = `${venueId}.opening-1`;

  beforeAll(async () => {
    if (kind === 'postgres') {
      const created = await createPgDatabase();
      drop = created.drop;
      handle = await openDatabase({ url: created.url, dir: null });
      env = { DATABASE_URL: created.url };
    } else {
      handle = await openDatabase({ url: null, dir: path.join(tmp.dir, 'db') });
      env = { DATA_DIR: tmp.dir };
    }
    await migrate(handle.db);
    const venues = new VenueRepository(handle.db);
    await venues.upsertInventory({ id: venueId, name: 'Ledger data venue' }, [{ id: roomId, name: '开标室 1', kind: 'bid_opening' }], []);
    const row = await new UserRepository(handle.db).create({ id: randomUUID(), username: 'p1', displayName: '巡场员 1', role: 'patrol', venueIds: [venueId], passwordHash: 'x' });
    user = { id: row.id, username: row.username, displayName: row.displayName, role: 'patrol', venueIds: [venueId] };
    await new SessionRepository(handle.db).create({ id: randomUUID(), projectCode: 'ZB-1', projectName: 'Roof', kind: 'bid_opening', roomId, plannedStart: new Date('2026-03-02T01:00:00Z'), plannedEnd: new Date('2026-03-02T03:00:00Z') });
    audit = new AuditService(handle.db);
    ledger = new LedgerService(handle.db, new LedgerRepository(handle.db), venues, audit, settings, { preRollMinutes: 10, postRollMinutes: 10 }, silent);
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
    tmp.remove();
  });

  const entry = (over: Record<string, unknown> = {}) => ({
    clientKey: randomUUID(),
    roomId,
    foundAt: '2026-03-02T02:00:00.000Z',
    subjectType: 'expert' as const,
    subjectName: '张三',
    category: 'expert_phone',
    description: '',
    ...over,
  });

  it('numbers entries per venue and year without gaps, also when saved concurrently', async () => {
    const created = await Promise.all(Array.from({ length: 8 }, () => ledger.create(entry(), user)));
    expect(created.map((c) => c.entry.number).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `2026-${String(i + 1).padStart(4, '0')}`));
    // Found automatically: the session in that room at that time, with its project.
    expect(created[0]!.entry).toMatchObject({ projectCode: 'ZB-1', projectName: 'Roof', status: 'found', revision: 1 });
  });

  it('numbers by the local year (Asia/Shanghai): 31 Dec 17:00 UTC is already next year', async () => {
    const a = await ledger.create(entry({ foundAt: '2025-12-31T15:59:00.000Z' }), user);
    const b = await ledger.create(entry({ foundAt: '2025-12-31T16:00:00.000Z' }), user);
    expect(a.entry.number).toBe('2025-0001');
    expect(b.entry.number).toBe('2026-0009');
    expect(b.entry.sessionId).toBeNull();
  });

  it('a save that fails inside its transaction leaves nothing: no entry, no audit row, no number used', async () => {
    const before = await queryRows<{ n: string | number }>(handle.db, sql`SELECT count(*) AS n FROM ledger_entries`);
    const auditBefore = (await audit.list()).length;
    // PostgreSQL refuses NUL in text: the insert fails after the number was taken.
    await expect(ledger.create(entry({ description: 'bad \u0000 byte' }), user)).rejects.toThrow();
    const after = await queryRows<{ n: string | number }>(handle.db, sql`SELECT count(*) AS n FROM ledger_entries`);
    expect(Number(after[0]!.n)).toBe(Number(before[0]!.n));
    expect((await audit.list()).length).toBe(auditBefore);
    const next = await ledger.create(entry(), user);
    expect(next.entry.number).toBe('2026-0010');
  });

  it('answers a resend of the same client key with the first save', async () => {
    const e = entry();
    const first = await ledger.create(e, user);
    const again = await ledger.create(e, user);
    expect(again).toMatchObject({ duplicate: true, entry: { id: first.entry.id, number: first.entry.number } });
  });

  it('keeps a hash-chained audit trail, refuses UPDATE, and verify names the first altered row', async () => {
    expect(await audit.verify()).toMatchObject({ ok: true });
    const rows = await audit.list();
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => r.action === 'ledger.create')).toHaveLength(12);
    expect(rows.filter((r) => r.action === 'hold.placed')).toHaveLength(12);
    await expect(handle.db.execute(sql`UPDATE audit_log SET actor = 'someone' WHERE seq = 3`)).rejects.toThrow();
    await expect(handle.db.execute(sql`DELETE FROM audit_log WHERE seq = 3`)).rejects.toThrow();

    // Someone with the database owner's rights gets past the trigger; the chain still tells.
    const target = rows[4]!;
    await handle.db.execute(sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
    await handle.db.execute(sql`UPDATE audit_log SET detail = jsonb_set(detail, '{subjectName}', '"李四"') WHERE seq = ${target.seq}`);
    await handle.db.execute(sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, firstBad: { seq: target.seq } });

    if (kind === 'pglite') await handle.close(); // one process per PGlite data dir
    try {
      const cli = await verifyCli(env);
      expect(cli.code).toBe(1);
      expect(cli.out).toContain(`first bad row seq=${target.seq}`);
    } finally {
      if (kind === 'pglite') handle = await openDatabase({ url: null, dir: path.join(tmp.dir, 'db') });
    }
  });
});
