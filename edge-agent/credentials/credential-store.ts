import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';

/**
 * Camera (and sensor broker) passwords at rest on the box: the settings file holds them as
 * `enc:v1:<base64>` — AES-256-GCM under a per-box key kept in its own file (mode 0600, created on
 * first use), with the venue id as associated data so a value copied to another box does not
 * decrypt there. `npm run edge-agent:encrypt -- <password>` prints the value to paste.
 */

export const ENC_PREFIX = 'enc:v1:';

export class CredentialError extends Error {
  override name = 'CredentialError';
}

export function keyFileOf(config: Pick<EdgeAgentConfig, 'dataDir' | 'credentials'>): string {
  return resolve(config.credentials.keyFile ?? join(config.dataDir, 'credentials.key'));
}

/** The box key; created (32 random bytes, 0600) when missing. */
export function loadOrCreateKey(file: string): Buffer {
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new CredentialError(`credential key file ${file} does not hold a 32-byte base64 key: restore it from the box backup`);
    return key;
  }
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

export function encryptSecret(plain: string, key: Buffer, venueId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(venueId));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ENC_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function decryptSecret(value: string, key: Buffer, venueId: string): string {
  if (!value.startsWith(ENC_PREFIX)) return value;
  const raw = Buffer.from(value.slice(ENC_PREFIX.length), 'base64');
  if (raw.length < 28) throw new CredentialError('encrypted credential is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(venueId));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new CredentialError('an encrypted credential does not decrypt with this box\'s key: it was made on another box or the key file changed; encrypt it again here');
  }
}

/**
 * The settings with every encrypted password decrypted, for use in memory only. Plain-text
 * passwords still work but are logged once, naming where they are, so they get encrypted.
 */
export function resolveSecrets(config: EdgeAgentConfig, logger: Logger): EdgeAgentConfig {
  const secrets = [config.defaultCredentials.password, ...config.cameras.map((c) => c.password ?? ''), config.sensors.password ?? ''];
  const anyEncrypted = secrets.some((s) => s.startsWith(ENC_PREFIX));
  const key = anyEncrypted ? loadOrCreateKey(keyFileOf(config)) : null;
  const open = (v: string, where: string): string => {
    if (v.startsWith(ENC_PREFIX)) return decryptSecret(v, key!, config.venue.id);
    if (v) logger.warn({ setting: where }, 'password stored in plain text in the settings: encrypt it (npm run edge-agent:encrypt)');
    return v;
  };
  return {
    ...config,
    defaultCredentials: { ...config.defaultCredentials, password: open(config.defaultCredentials.password, 'defaultCredentials.password') },
    cameras: config.cameras.map((c) => (c.password === undefined ? c : { ...c, password: open(c.password, `cameras[${c.code}].password`) })),
    sensors: { ...config.sensors, password: config.sensors.password === null ? null : open(config.sensors.password, 'sensors.password') },
  };
}
