import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSigningKeyPem, signingKeyFromPem, type SigningKey } from '../../protocol/integrity.ts';

/**
 * The venue box's own Ed25519 key: made on first start, kept in <dataDir>/keys (owner-only), never
 * sent anywhere; the centre learns the public half from the first signed manifest and pins it.
 */
export function loadOrCreateAgentKey(dataDir: string): SigningKey {
  const dir = join(dataDir, 'keys');
  const file = join(dir, 'agent-ed25519.pem');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, newSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return signingKeyFromPem(readFileSync(file, 'utf8'));
}
