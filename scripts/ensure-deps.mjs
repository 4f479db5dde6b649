// Installs dependencies when they are missing or when package.json / package-lock.json changed
// since the last install, so `npm start`, `npm test` and `npm run bench` work on a fresh clone.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const stamp = 'node_modules/.venuewatch-deps';
const digest = createHash('sha256');
for (const f of ['package.json', 'package-lock.json']) if (existsSync(f)) digest.update(readFileSync(f));
const want = digest.digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
  console.log('Installing dependencies (npm install)…');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('npm install failed: check the network access to the npm registry and run `npm install` by hand.');
    process.exit(r.status ?? 1);
  }
  // npm may have rewritten the lock; stamp what is there now.
  const after = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) if (existsSync(f)) after.update(readFileSync(f));
  writeFileSync(stamp, after.digest('hex'));
}
