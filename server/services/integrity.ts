import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { and, asc, eq, lte, gt } from 'drizzle-orm';
import type { Logger } from 'pino';
import { checkManifest, newSigningKeyPem, signManifest, signingKeyFromPem, type SigningKey } from '../../protocol/integrity.ts';
import type { FootageManifest, ManifestMessage } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import { agentKeys, footageManifests } from '../db/schema.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { FootageStore } from '../storage/footage-store.ts';
import { AppError } from './errors.ts';

/**
 * The centre's side of footage integrity. A venue box's public key is pinned the first time it
 * sends a signed manifest over its authenticated MQTT link; every later manifest must carry that
 * key and a valid signature, and its records must agree with the catalogue the centre holds. The
 * centre then signs what it stores the same way (its own key, role centre): one manifest per
 * camera and period beside the footage in the store, naming each stored file and, for records it
 * does not hold, no file — so `npm run verify` works on the centre's folder too.
 */

export function loadOrCreateCentreKey(dataDir: string): SigningKey {
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, 'centre-ed25519.pem');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, newSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  }
  return signingKeyFromPem(readFileSync(file, 'utf8'));
}

export const centreManifestKey = (cameraId: string, periodStart: string, supplement = 0): string =>
  `${cameraId}/manifests/${periodStart.replace(/[:.]/g, '-')}${supplement > 0 ? `.supplement-${supplement}` : ''}.json`;

export class IntegrityService {
  /** Manifests verified since start (tests and health). */
  verified = 0;

  constructor(
    private readonly db: Database,
    private readonly segments: SegmentRepository,
    private readonly store: FootageStore,
    private readonly key: SigningKey,
    private readonly logger: Logger,
  ) {}

  get publicKey(): string {
    return this.key.signer.publicKey;
  }

  async pinnedKey(venueId: string): Promise<{ keyId: string; publicKey: string } | null> {
    const [row] = await this.db.select().from(agentKeys).where(eq(agentKeys.venueId, venueId));
    return row ? { keyId: row.keyId, publicKey: row.publicKey } : null;
  }

  /** Verifies and stores a venue's manifest; throws integrity_failed (the message is refused) otherwise. */
  async receive(message: Pick<ManifestMessage, 'venueId' | 'manifest'>): Promise<void> {
    const { venueId, manifest: m } = message;
    const log = this.logger.child({ venueId, cameraId: m.cameraId, periodStart: m.periodStart });
    if (m.venueId !== venueId || !m.cameraId.startsWith(`${venueId}.`)) throw AppError.forMachines('forbidden', `manifest of camera "${m.cameraId}" is not venue "${venueId}"'s`);
    if (m.signer.role !== 'agent') throw AppError.forMachines('integrity_failed', 'a venue manifest must be signed by the venue box (role agent)');
    let pinned = await this.pinnedKey(venueId);
    if (!pinned) {
      // First contact over the authenticated link: pin this box's key.
      await this.db.insert(agentKeys).values({ venueId, keyId: m.signer.keyId, publicKey: m.signer.publicKey }).onConflictDoNothing();
      pinned = (await this.pinnedKey(venueId))!;
      log.info({ keyId: pinned.keyId }, 'pinned the venue box’s manifest key');
    }
    const check = checkManifest(m, pinned.publicKey);
    if (!check.ok) {
      log.error({ err: check.error, segmentId: check.segmentId }, 'venue manifest failed verification');
      throw AppError.forMachines('integrity_failed', `manifest of ${m.cameraId} for ${m.periodStart}: ${check.error}`);
    }
    for (const s of m.segments) {
      const known = await this.segments.get(s.id);
      if (known && (known.sha256 !== s.sha256 || known.bytes !== s.bytes)) {
        log.error({ segmentId: s.id }, 'manifest disagrees with the catalogue');
        throw AppError.forMachines('integrity_failed', `manifest of ${m.cameraId}: segment ${s.id} has SHA-256 ${s.sha256} but the centre catalogued ${known.sha256}`);
      }
    }
    await this.db
      .insert(footageManifests)
      .values({ venueId, cameraId: m.cameraId, periodStart: new Date(m.periodStart), part: m.supplement ?? 0, keyId: m.signer.keyId, chainHead: m.chainHead, segments: m.segments.length, manifest: JSON.stringify(m) })
      .onConflictDoNothing();
    this.verified++;
    log.info({ segments: m.segments.length, supplement: m.supplement }, m.supplement ? 'supplementary venue manifest verified (late segments)' : 'venue manifest verified');
    await this.signStored(m);
  }

  /** (Re)writes the centre's signed manifest of one venue manifest's period, naming the files it holds. */
  private async signStored(m: FootageManifest): Promise<FootageManifest> {
    const dir = `${m.cameraId}/manifests`;
    const segments = [];
    for (const s of m.segments) {
      const row = await this.segments.get(s.id);
      const held = row?.storageKey && row.storedAt && row.sha256 === s.sha256 ? row.storageKey : null;
      segments.push({ ...s, file: held ? path.posix.relative(dir, held) : null });
    }
    const signed = signManifest(
      { venueId: m.venueId, cameraId: m.cameraId, periodStart: m.periodStart, periodSeconds: m.periodSeconds, supplement: m.supplement, segments, source: { keyId: m.signer.keyId, signature: m.signature } },
      this.key,
      'centre',
    );
    await this.store.put(centreManifestKey(m.cameraId, m.periodStart, m.supplement), Buffer.from(`${JSON.stringify(signed, null, 1)}\n`));
    return signed;
  }

  /** A segment was stored: re-sign the centre manifests of its period (first and supplements) that have arrived. */
  async segmentStored(cameraId: string, start: Date): Promise<void> {
    const rows = await this.db
      .select()
      .from(footageManifests)
      .where(and(eq(footageManifests.cameraId, cameraId), lte(footageManifests.periodStart, start)))
      .orderBy(asc(footageManifests.periodStart), asc(footageManifests.part));
    const last = rows.at(-1);
    if (!last) return;
    for (const row of rows.filter((r) => r.periodStart.getTime() === last.periodStart.getTime())) {
      const m = JSON.parse(row.manifest) as FootageManifest;
      if (start.getTime() >= Date.parse(m.periodStart) + m.periodSeconds * 1000) return;
      await this.signStored(m);
    }
  }

  manifests(cameraId: string, after = new Date(0)) {
    return this.db
      .select()
      .from(footageManifests)
      .where(and(eq(footageManifests.cameraId, cameraId), gt(footageManifests.periodStart, after)))
      .orderBy(asc(footageManifests.periodStart), asc(footageManifests.part));
  }
}
