import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { checkManifest } from '../../protocol/integrity.ts';
import { MANIFEST_KIND, type FootageManifest } from '../../protocol/manifest.ts';

/**
 * `npm run verify -- PATH`: checks a folder of footage (a venue box's recordings, the centre's
 * store, or an export) against the signed manifests inside it, offline. A manifest must carry a
 * valid Ed25519 signature over exactly its content; every record's hash and chain link must hold,
 * inside a manifest and from one manifest of a camera to the next; every segment file a manifest
 * names must exist with the size and SHA-256 it records. One changed byte anywhere fails.
 */

export interface Failure {
  manifest: string;
  segmentId: string | null;
  file: string | null;
  error: string;
}

export interface FootageReport {
  ok: boolean;
  manifests: number;
  segmentsChecked: number;
  failures: Failure[];
  /** Segment files (.ts) no manifest names: footage of a period not yet signed, or planted files. */
  unmanifested: string[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

type Found = { path: string; m: FootageManifest };
const byPeriod = (a: Found, b: Found) => a.m.periodStart.localeCompare(b.m.periodStart) || (a.m.supplement ?? 0) - (b.m.supplement ?? 0);

/**
 * Puts each camera's manifests in chain order: each continues from the chain head of the one
 * signed before it (a supplementary manifest of an earlier period may follow a later period's).
 * The earliest manifest may continue from footage no longer kept (retention); any other manifest
 * that continues from no manifest here, or from one another manifest already continues, is a
 * broken chain (a manifest or its footage is missing, or was replaced).
 */
function chainOrder(manifests: Found[], base: string, failures: Failure[]): Found[] {
  const cameras = new Map<string, Found[]>();
  for (const f of manifests) cameras.set(f.m.cameraId, [...(cameras.get(f.m.cameraId) ?? []), f]);
  const out: Found[] = [];
  for (const cameraId of [...cameras.keys()].sort()) {
    const list = cameras.get(cameraId)!.sort(byPeriod);
    const next = new Map<string, Found[]>();
    for (const f of list) next.set(f.m.segments[0]!.prevHash, [...(next.get(f.m.segments[0]!.prevHash) ?? []), f]);
    const heads = new Set(list.map((f) => f.m.chainHead));
    const visited = new Set<Found>();
    let prev: Found | null = null;
    for (const start of list.filter((f) => !heads.has(f.m.segments[0]!.prevHash))) {
      if (visited.has(start)) continue;
      if (prev) {
        failures.push({ manifest: relative(base, start.path), segmentId: start.m.segments[0]!.id, file: null, error: `chain broken between manifests: does not continue from ${relative(base, prev.path)} or any other manifest of this camera (a manifest or its footage is missing or was replaced)` });
      }
      for (let cur: Found | undefined = start; cur && !visited.has(cur); ) {
        visited.add(cur);
        out.push(cur);
        prev = cur;
        const after: Found[] = (next.get(cur.m.chainHead) ?? []).filter((f) => !visited.has(f));
        for (const extra of after.slice(1)) {
          failures.push({ manifest: relative(base, extra.path), segmentId: extra.m.segments[0]!.id, file: null, error: `chain forked: continues from ${relative(base, cur.path)} like ${relative(base, after[0]!.path)}` });
        }
        cur = after[0];
      }
    }
    // Manifests in a loop or behind a fork were not reached from any start: still check their files.
    for (const f of list) if (!visited.has(f)) out.push(f);
  }
  return out;
}

export async function verifyFootage(root: string, opts: { publicKey?: string } = {}): Promise<FootageReport> {
  const base = resolve(root);
  statSync(base);
  const files = walk(base);
  const failures: Failure[] = [];
  const manifests: Array<{ path: string; m: FootageManifest }> = [];
  for (const path of files.filter((f) => f.endsWith('.json'))) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      if (/\/manifests\//.test(path)) failures.push({ manifest: relative(base, path), segmentId: null, file: null, error: 'manifest is not valid JSON' });
      continue;
    }
    if (!json || typeof json !== 'object' || (json as { kind?: unknown }).kind !== MANIFEST_KIND) continue;
    const check = checkManifest(json, opts.publicKey);
    if (!check.ok) {
      failures.push({ manifest: relative(base, path), segmentId: check.segmentId ?? null, file: null, error: check.error });
      continue;
    }
    manifests.push({ path, m: json as FootageManifest });
  }
  const ordered = chainOrder(manifests, base, failures);

  const named = new Set<string>();
  let segmentsChecked = 0;
  for (const { path, m } of ordered) {
    const where = relative(base, path);
    for (const s of m.segments) {
      if (s.file === null) continue;
      const file = resolve(dirname(path), s.file);
      named.add(file);
      segmentsChecked++;
      let got: { sha256: string; bytes: number };
      try {
        got = await sha256File(file);
      } catch {
        failures.push({ manifest: where, segmentId: s.id, file: relative(base, file), error: 'segment file is missing' });
        continue;
      }
      if (got.bytes !== s.bytes || got.sha256 !== s.sha256) {
        failures.push({ manifest: where, segmentId: s.id, file: relative(base, file), error: `content changed: ${got.bytes} bytes with SHA-256 ${got.sha256}, the manifest records ${s.bytes} bytes with ${s.sha256}` });
      }
    }
  }
  const unmanifested = files.filter((f) => f.endsWith('.ts') && !named.has(f)).map((f) => relative(base, f));
  if (manifests.length === 0 && failures.length === 0) {
    failures.push({ manifest: '', segmentId: null, file: null, error: `no signed manifest found under ${base}: nothing can be verified` });
  }
  return { ok: failures.length === 0, manifests: manifests.length, segmentsChecked, failures, unmanifested };
}

/** CLI entry: prints a summary and the first failing segment; exit code 0 = verified. */
export async function main(args: string[]): Promise<number> {
  const path = args.find((a) => !a.startsWith('--'));
  if (!path) {
    console.error('usage: npm run verify -- PATH   (a folder of footage with its manifests)');
    return 2;
  }
  const keyArg = args.find((a) => a.startsWith('--public-key='));
  let report: FootageReport;
  try {
    report = await verifyFootage(path, { publicKey: keyArg?.slice('--public-key='.length) });
  } catch (err) {
    console.error(`cannot read ${path}: ${(err as Error).message}`);
    return 2;
  }
  if (report.ok) {
    console.log(`OK: ${report.manifests} manifest(s), ${report.segmentsChecked} segment file(s) verified${report.unmanifested.length ? `; ${report.unmanifested.length} segment file(s) not yet in any manifest` : ''}`);
    return 0;
  }
  const first = report.failures[0]!;
  console.log(`FAIL: first failing segment: ${first.segmentId ?? '(none)'}${first.file ? ` (${first.file})` : ''} in ${first.manifest || path}: ${first.error}`);
  for (const f of report.failures.slice(1, 20)) console.log(`  also: ${f.segmentId ?? '(manifest)'} ${f.file ?? f.manifest}: ${f.error}`);
  if (report.failures.length > 20) console.log(`  … ${report.failures.length - 20} more`);
  return 1;
}
