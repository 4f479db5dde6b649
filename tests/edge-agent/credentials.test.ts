import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEdgeAgentConfig } from '../../config/load.ts';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { CredentialError, decryptSecret, encryptSecret, loadOrCreateKey } from '../../edge-agent/credentials/credential-store.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

const repo = join(import.meta.dirname, '..', '..');

/** Camera passwords encrypted at rest on the box (AES-256-GCM, per-box key, venue-bound). */
describe('camera credentials encrypted at rest', () => {
  const scratch = scratchDir('cred');
  let venue: VirtualVenue | null = null;
  let agent: Agent | null = null;
  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    scratch.remove();
  });

  it('round-trips, refuses tampering, another venue and another box key', () => {
    const key = loadOrCreateKey(join(scratch.dir, 'unit', 'k1'));
    const other = loadOrCreateKey(join(scratch.dir, 'unit', 'k2'));
    expect(statSync(join(scratch.dir, 'unit', 'k1')).mode & 0o777).toBe(0o600);
    const enc = encryptSecret('s3cret-pw', key, 'venue-a');
    expect(enc).toMatch(/^enc:v1:/);
    expect(enc).not.toContain('s3cret');
    expect(decryptSecret(enc, key, 'venue-a')).toBe('s3cret-pw');
    expect(() => decryptSecret(enc, key, 'venue-b')).toThrow(CredentialError);
    expect(() => decryptSecret(enc, other, 'venue-a')).toThrow(/another box/);
    const raw = Buffer.from(enc.slice(7), 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
    expect(() => decryptSecret(`enc:v1:${raw.toString('base64')}`, key, 'venue-a')).toThrow(CredentialError);
    expect(decryptSecret('plain', key, 'venue-a')).toBe('plain');
  });

  it('records a camera whose password is only stored encrypted (made with the encrypt command)', async () => {
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Hall', username: 'admin', password: 'Very$ecret-1', width: 160, height: 120, fps: 5, bitrateKbps: 100, audio: false }],
      logger: quietLogger(),
    });
    const venueId = uniqueVenue('cred');
    const nowhere = await freePort();
    const dataDir = join(scratch.dir, 'data');
    const file = join(scratch.dir, 'edge.json');
    const settings = (password: string) => ({
      venue: { id: venueId, name: 'Cred venue' },
      cameras: [{ code: 'cam-1', name: 'Hall', room: null, address: venue!.cameras[0]!.xaddr, username: 'admin', password }],
      discovery: { enabled: false, interfaces: [], timeoutMs: 2000, intervalMinutes: 60 },
      mqtt: { url: `mqtt://127.0.0.1:${nowhere}`, keepaliveSeconds: 10 },
      centre: { url: `http://127.0.0.1:${nowhere}`, token: 'x'.repeat(20) },
      health: { intervalSeconds: 5, clockDriftMs: 2000, clockCheckMinutes: 60, metrics: { host: '127.0.0.1', port: 0 } },
      dataDir,
      logLevel: 'silent',
    });
    writeFileSync(file, JSON.stringify(settings('placeholder')));
    const enc = execFileSync(process.execPath, ['--import', 'tsx', 'edge-agent/credentials/encrypt-secret.ts'], {
      cwd: repo,
      env: { ...process.env, VW_CONFIG: file },
      input: 'Very$ecret-1\n',
      encoding: 'utf8',
    }).trim();
    expect(enc).toMatch(/^enc:v1:/);
    writeFileSync(file, JSON.stringify(settings(enc)));
    agent = await startAgent(loadEdgeAgentConfig({ file, env: {} }), { logger: quietLogger() });
    await waitFor('segments of cam-1', () => agent!.catalogue.segments(`${venueId}.cam-1`).length > 0, 30_000);
    // Nothing on disk holds the password in clear: not the settings, not the catalogue.
    expect(readFileSync(file, 'utf8')).not.toContain('Very$ecret-1');
    await agent.stop();
    agent = null;
    expect(readFileSync(join(dataDir, 'catalogue.db')).includes(Buffer.from('Very$ecret-1'))).toBe(false);
  }, 60_000);
});
