import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'vite';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Builds the dashboard from source into a fresh folder, so browser tests never run against a stale
 * dashboard/dist. Returns the folder to give the centre as `dashboardDir`.
 */
export async function buildDashboard(): Promise<string> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'vw-dashboard-'));
  await build({
    configFile: path.join(root, 'dashboard/vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}
