import path from 'node:path';
import type { ServerConfig } from '../config/schema.ts';
import { openDatabase } from '../server/db/client.ts';
import { AuditService, type VerifyResult } from '../server/services/audit.ts';

/**
 * `npm run verify -- --audit`: walks the audit trail's hash chain in the centre's database
 * (DATABASE_URL, else the PGlite data dir — stop the centre first, PGlite allows one process).
 * Returns the exit code: 0 intact, 1 altered, 2 could not check.
 */
export async function verifyAudit(config: ServerConfig, out: (line: string) => void = console.log): Promise<number> {
  const where = config.databaseUrl ? config.databaseUrl.replace(/\/\/[^@/]*@/, '//') : path.resolve(config.dataDir, 'db');
  let handle;
  try {
    handle = await openDatabase({ url: config.databaseUrl, dir: config.databaseUrl ? null : path.resolve(config.dataDir, 'db') });
  } catch (err) {
    out(`cannot open the database at ${where}: ${(err as Error).message}`);
    return 2;
  }
  let result: VerifyResult;
  try {
    result = await new AuditService(handle.db).verify();
  } catch (err) {
    out(`cannot read the audit trail at ${where}: ${(err as Error).message} (is the database migrated, and the centre stopped when it is PGlite?)`);
    return 2;
  } finally {
    await handle.close();
  }
  if (result.ok) {
    out(`audit trail intact: ${result.rows} rows checked (${where})`);
    return 0;
  }
  out(`AUDIT TRAIL ALTERED: first bad row seq=${result.firstBad.seq}: ${result.firstBad.reason} (${result.rows} rows before it are intact; ${where})`);
  return 1;
}
