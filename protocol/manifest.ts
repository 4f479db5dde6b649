import { z } from 'zod';
import { CameraId, IsoTime, Sha256Hex, Uuid, VenueId } from './ids.ts';

/**
 * Signed manifest of one camera's footage over one period (an hour by default): every segment
 * record of the period in chain order, the chain head, and an Ed25519 signature by the venue box
 * (role agent) or the centre (role centre) over the canonical JSON of everything but the
 * signature. `file` is where the signer keeps the segment, relative to the folder the manifest
 * file sits beside (null when the signer does not hold the bytes, e.g. unheld footage at the
 * centre): the chain still proves the record existed and what it hashed to.
 */
export const MANIFEST_KIND = 'venuewatch.footage-manifest';
export const GENESIS_HASH = '0'.repeat(64);

export const ManifestSegment = z.object({
  id: Uuid,
  runId: Uuid,
  start: IsoTime,
  end: IsoTime,
  bytes: z.number().int().positive(),
  sha256: Sha256Hex,
  hasAudio: z.boolean(),
  /** Record hash of the camera's previous segment (GENESIS_HASH for the first). */
  prevHash: Sha256Hex,
  /** SHA-256 of this record's canonical JSON (see integrity.ts recordHash). */
  recordHash: Sha256Hex,
  file: z.string().max(500).nullable(),
});
export type ManifestSegment = z.infer<typeof ManifestSegment>;

export const Signer = z.object({
  role: z.enum(['agent', 'centre']),
  /** First 16 hex digits of the SHA-256 of the public key (SPKI DER). */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  /** Ed25519 public key, SPKI DER, base64. */
  publicKey: z.string().max(200),
});
export type Signer = z.infer<typeof Signer>;

export const FootageManifest = z.object({
  kind: z.literal(MANIFEST_KIND),
  v: z.literal(1),
  venueId: VenueId,
  cameraId: CameraId,
  periodStart: IsoTime,
  periodSeconds: z.number().int().positive(),
  /**
   * Absent for a period's first manifest. n ≥ 1: the period's n-th supplementary manifest, holding
   * records of the period catalogued after it was signed (late segments, footage of an orphaned
   * recorder). Every manifest of a camera continues the chain from the one signed before it, so
   * manifests follow each other in chain order, not in period order.
   */
  supplement: z.number().int().positive().optional(),
  segments: z.array(ManifestSegment).min(1).max(10_000),
  /** recordHash of the last segment: the next period's first prevHash continues from it. */
  chainHead: Sha256Hex,
  signedAt: IsoTime,
  signer: Signer,
  /** For a centre manifest: the venue box's signature it was checked against. */
  source: z.object({ keyId: z.string(), signature: z.string() }).nullable(),
  /** Ed25519 signature (base64) of canonicalJson(manifest without `signature`). */
  signature: z.string().max(200),
});
export type FootageManifest = z.infer<typeof FootageManifest>;

/** JSON with object keys sorted at every level: the bytes a signature covers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
