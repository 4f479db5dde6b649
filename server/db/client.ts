import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import * as schema from './schema.ts';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseHandle {
  db: Database;
  kind: DatabaseKind;
  close(): Promise<void>;
}

/**
 * Opens the system of record: a PostgreSQL server when a URL is given, else PGlite in `dir`
 * (null = in memory, for tests). PGlite gets btree_gist at open because the first migration's
 * CREATE EXTENSION can only enable what the WASM build was handed.
 */
export async function openDatabase(opts: { url: string | null; dir: string | null }): Promise<DatabaseHandle> {
  if (opts.url) {
    // Every session in UTC so timestamps read back the same whatever the server's TimeZone is.
    const pool = new pg.Pool({ connectionString: opts.url, max: 10, options: '-c TimeZone=UTC' });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const db = drizzlePg({ client: pool, schema }) as unknown as Database;
    return { db, kind: 'postgres', close: () => pool.end() };
  }
  if (opts.dir) mkdirSync(opts.dir, { recursive: true });
  const client = await PGlite.create(opts.dir ?? undefined, { extensions: { btree_gist } });
  await client.exec(`SET TimeZone = 'UTC'`);
  const db = drizzlePglite({ client, schema }) as unknown as Database;
  return { db, kind: 'pglite', close: () => client.close() };
}

/** Runs raw SQL and returns its rows; both drivers answer with `{ rows }`. */
export async function queryRows<T>(db: Pick<Database, 'execute'>, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
