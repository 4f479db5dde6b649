import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { queryRows, type Database } from './client.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Arbitrary constant naming "VenueWatch schema migration" among the database's advisory locks. */
const MIGRATION_LOCK_KEY = 7_346_501_122;

export interface Migration {
  version: string;
  name: string;
  statements: string[];
}

/** Splits a hand-written file into statements: comment lines dropped, one statement per `;` at a line end. */
export function splitStatements(text: string): string[] {
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: file.slice(0, 4),
      name: file.replace(/\.sql$/, ''),
      statements: splitStatements(readFileSync(path.join(dir, file), 'utf8')),
    }));
}

/**
 * Applies the migrations not yet recorded in schema_migrations, all in one transaction under an
 * advisory lock: two centres starting against one database wait for each other instead of both
 * creating the same tables, and a failing migration leaves the schema as it was.
 */
export async function migrate(db: Database, logger?: Logger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = readMigrations(dir);
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`));
    await tx.execute(
      sql.raw(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version text PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`),
    );
    const applied = new Set(
      (await queryRows<{ version: string }>(tx, sql`SELECT version FROM schema_migrations`)).map((r) => r.version),
    );
    const done: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      for (const statement of m.statements) {
        try {
          await tx.execute(sql.raw(statement));
        } catch (err) {
          throw new Error(`migration ${m.name} failed at "${statement.slice(0, 80)}…": ${(err as Error).message}`);
        }
      }
      await tx.execute(sql`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`);
      logger?.info({ migration: m.name }, 'applied database migration');
      done.push(m.name);
    }
    return done;
  });
}
