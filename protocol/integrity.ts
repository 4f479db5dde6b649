import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, FootageManifest, GENESIS_HASH, MANIFEST_KIND, type ManifestSegment, type Signer } from './manifest.ts';

/**
 * Hash chain and Ed25519 signatures shared by the venue box, the centre and `npm run verify`.
 * Node-only (node:crypto), so it is deliberately not exported from protocol/index.ts: the
 * dashboard never bundles it.
 */

export { GENESIS_HASH };

export interface ChainRecord {
  id: string;
  cameraId: string;
  runId: string;
  start: string;
  end: string;
  bytes: number;
  sha256: string;
  hasAudio: boolean;
  prevHash: string;
}

/** SHA-256 of the record's canonical JSON: changing any field, or the link, changes it. */
export function recordHash(r: ChainRecord): string {
  const { id, cameraId, runId, start, end, bytes, sha256, hasAudio, prevHash } = r;
  return createHash('sha256').update(canonicalJson({ id, cameraId, runId, start, end, bytes, sha256, hasAudio, prevHash })).digest('hex');
}

export interface SigningKey {
  privateKey: KeyObject;
  signer: Omit<Signer, 'role'>;
}

export function keyIdOf(publicKeyDerBase64: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyDerBase64, 'base64')).digest('hex').slice(0, 16);
}

export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey, signer: { keyId: keyIdOf(publicKey), publicKey } };
}

export function newSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function signManifest(
  body: { venueId: string; cameraId: string; periodStart: string; periodSeconds: number; supplement?: number; segments: ManifestSegment[]; source?: FootageManifest['source'] },
  key: SigningKey,
  role: Signer['role'],
): FootageManifest {
  const unsigned = {
    kind: MANIFEST_KIND,
    v: 1 as const,
    venueId: body.venueId,
    cameraId: body.cameraId,
    periodStart: body.periodStart,
    periodSeconds: body.periodSeconds,
    ...(body.supplement ? { supplement: body.supplement } : {}),
    segments: body.segments,
    chainHead: body.segments.at(-1)!.recordHash,
    signedAt: new Date().toISOString(),
    signer: { role, ...key.signer },
    source: body.source ?? null,
  };
  const signature = sign(null, Buffer.from(canonicalJson(unsigned)), key.privateKey).toString('base64');
  return FootageManifest.parse({ ...unsigned, signature });
}

export type ManifestCheck = { ok: true } | { ok: false; error: string; segmentId?: string };

/**
 * Checks a manifest on its own: shape, signature by the key it names (and, when given, that the
 * key is the pinned one), every record's hash, and the chain links inside it. Files are not read.
 */
export function checkManifest(json: unknown, pinnedPublicKey?: string): ManifestCheck {
  const parsed = FootageManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `not a valid manifest: ${issue.path.join('.')}: ${issue.message}` };
  }
  const m = parsed.data;
  if (pinnedPublicKey && m.signer.publicKey !== pinnedPublicKey) {
    return { ok: false, error: `signed by key ${m.signer.keyId}, not the pinned key ${keyIdOf(pinnedPublicKey)}` };
  }
  if (keyIdOf(m.signer.publicKey) !== m.signer.keyId) return { ok: false, error: 'key id does not match the public key' };
  const { signature, ...unsigned } = m;
  let good = false;
  try {
    const publicKey = createPublicKey({ key: Buffer.from(m.signer.publicKey, 'base64'), format: 'der', type: 'spki' });
    good = verify(null, Buffer.from(canonicalJson(unsigned)), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, error: `signature does not verify (key ${m.signer.keyId}): the manifest was changed after signing` };
  for (let i = 0; i < m.segments.length; i++) {
    const s = m.segments[i]!;
    if (recordHash({ ...s, cameraId: m.cameraId }) !== s.recordHash) return { ok: false, error: `segment ${s.id}: record hash does not match its fields`, segmentId: s.id };
    if (i > 0 && s.prevHash !== m.segments[i - 1]!.recordHash) return { ok: false, error: `segment ${s.id}: chain broken (prevHash is not the previous record's hash)`, segmentId: s.id };
  }
  if (m.chainHead !== m.segments.at(-1)!.recordHash) return { ok: false, error: 'chain head is not the last record' };
  return { ok: true };
}
