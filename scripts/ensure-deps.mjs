// Installs dependencies when they are missing or older than package-lock.json, so `npm start`,
// `npm test` and `npm run bench` work on a fresh clone with nothing but Node.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale =
  !existsSync(marker) ||
  (existsSync('package-lock.json') && statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs) ||
  statSync('package.json').mtimeMs > statSync(marker).mtimeMs;

if (stale) {
  console.log('Installing dependencies (npm install)…');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('npm install failed: check the network access to the npm registry and run `npm install` by hand.');
    process.exit(r.status ?? 1);
  }
}
