import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { ManifestSigner } from '../../edge-agent/integrity/manifest-signer.ts';
import { SegmentChain } from '../../edge-agent/integrity/segment-chain.ts';
import { newSigningKeyPem, signingKeyFromPem } from '../../protocol/integrity.ts';
import { FootageManifest } from '../../protocol/index.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { quietLogger, scratchDir, uniqueVenue } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, serverConfig, silent } from '../server/support.ts';
import { runVerify } from '../support/verify-cli.ts';

/**
 * Issue 5: a segment catalogued after its period's manifest was signed. It goes into a
 * supplementary manifest of that period, which continues the chain from the manifest signed just
 * before it; `npm run verify` and the centre accept the sequence, and still find a changed byte in
 * the late segment or a missing supplement.
 */

describe('late segments: supplementary manifests keep the chain verifiable', () => {
  const venueId = uniqueVenue('late');
  const cam = `${venueId}.cam-1`;
  const scratch = scratchDir('late');
  const serverScratch = scratchDir('late-centre');
  const recordings = join(scratch.dir, 'recordings');
  let catalogue: Catalogue;
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  const period = 4000;
  const p0 = Math.floor(Date.now() / period) * period - 40_000;
  const runA = randomUUID();
  const runB = randomUUID();
  let n = 0;
  let late: { id: string; path: string };

  /** A segment file with real bytes, catalogued through the chain as the recorder does. */
  function segment(runId: string, startMs: number): { id: string; path: string } {
    const dir = join(recordings, cam, runId);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `seg_${String(n++).padStart(6, '0')}.ts`);
    const bytes = randomBytes(2000 + n);
    writeFileSync(path, bytes);
    const rec = {
      id: randomUUID(),
      cameraId: cam,
      runId,
      start: new Date(startMs).toISOString(),
      end: new Date(startMs + 1000).toISOString(),
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      hasAudio: false,
      path,
    };
    expect(new SegmentChain(catalogue).append(rec).added).toBe(true);
    return { id: rec.id, path };
  }

  beforeAll(async () => {
    catalogue = new Catalogue(join(scratch.dir, 'catalogue.db'));
    pg = await createPgDatabase();
    server = await startServer(serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token: randomToken() }] }), { logger: silent });
  }, 60_000);

  afterAll(async () => {
    catalogue?.close();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('signs a late segment into a supplementary manifest of its period that continues the chain; verify and the centre accept it', async () => {
    const signer = new ManifestSigner({ catalogue, key: signingKeyFromPem(newSigningKeyPem()), venueId, recordingsDir: recordings, periodSeconds: period / 1000, graceMs: 0, logger: quietLogger() });
    for (let i = 0; i < 4; i++) segment(runA, p0 + i * 1000);
    expect(signer.run(p0 + period + 1)).toBe(1); // period 0 is over and signed
    segment(runA, p0 + period);
    segment(runA, p0 + period + 1000);
    // Footage of period 0 catalogued only now (e.g. the final pass of a recorder that was slow to stop).
    late = segment(runB, p0 + 3500);
    segment(runA, p0 + period + 2000);
    segment(runA, p0 + period + 3000);
    segment(runA, p0 + 2 * period);
    // Period 1 is over: its segments and the late one are signed in chain order; period 2 waits.
    expect(signer.run(p0 + 2 * period + 1)).toBe(3);
    const list = signer.list(cam);
    expect(list.map((m) => [m.periodStart, m.supplement, m.segments])).toEqual([
      [new Date(p0).toISOString(), 0, 4],
      [new Date(p0 + period).toISOString(), 0, 2],
      [new Date(p0).toISOString(), 1, 1],
      [new Date(p0 + period).toISOString(), 1, 2],
    ]);
    const manifests = list.map((m) => FootageManifest.parse(JSON.parse(readFileSync(m.file, 'utf8'))));
    expect(manifests[2]!.supplement).toBe(1);
    expect(manifests[2]!.segments[0]!.id).toBe(late.id);
    // Each manifest continues from the one signed before it.
    for (let i = 1; i < manifests.length; i++) expect(manifests[i]!.segments[0]!.prevHash).toBe(manifests[i - 1]!.chainHead);
    expect(signer.run(p0 + 3 * period + 1)).toBe(1);

    const ok = await runVerify(recordings);
    expect(ok.out).toMatch(/^OK: 5 manifest\(s\), 10 segment file\(s\) verified$/m);
    expect(ok.code).toBe(0);

    // The centre verifies and stores each one, supplements included, and signs its own.
    for (const m of signer.list(cam)) {
      await server.services.integrity.receive({ venueId, manifest: FootageManifest.parse(JSON.parse(readFileSync(m.file, 'utf8'))) });
    }
    const stored = await server.services.integrity.manifests(cam);
    expect(stored.map((r) => [r.periodStart.toISOString(), r.part])).toEqual([
      [new Date(p0).toISOString(), 0],
      [new Date(p0).toISOString(), 1],
      [new Date(p0 + period).toISOString(), 0],
      [new Date(p0 + period).toISOString(), 1],
      [new Date(p0 + 2 * period).toISOString(), 0],
    ]);
    const centre = await runVerify(join(serverScratch.dir, 'footage'));
    expect(centre.out).toMatch(/^OK: 5 manifest\(s\)/m);
  }, 60_000);

  it('still finds one changed byte in the late segment, and a missing supplementary manifest', async () => {
    const copy = join(scratch.dir, 'copy');
    cpSync(recordings, copy, { recursive: true });
    const victim = join(copy, cam, late.path.slice(join(recordings, cam).length + 1));
    const buf = readFileSync(victim);
    buf[100] = buf[100]! ^ 0x01;
    writeFileSync(victim, buf);
    const bad = await runVerify(copy);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`first failing segment: ${late.id}`);

    const copy2 = join(scratch.dir, 'copy2');
    cpSync(recordings, copy2, { recursive: true });
    const supplement = manifestFiles(copy2).find((f) => f.endsWith('.supplement-1.json') && f.includes(new Date(p0).toISOString().replace(/[:.]/g, '-')))!;
    rmSync(supplement);
    const broken = await runVerify(copy2);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/chain broken between manifests/);
  }, 60_000);

  it('never reuses the rowid of a removed newest segment, also after a restart: the next segment is still signed', () => {
    const dbFile = join(scratch.dir, 'rowid.db');
    const signerOf = (c: Catalogue) => new ManifestSigner({ catalogue: c, key: signingKeyFromPem(newSigningKeyPem()), venueId, recordingsDir: join(scratch.dir, 'rowid-recordings'), periodSeconds: period / 1000, graceMs: 0, logger: quietLogger() });
    const saved = catalogue;
    try {
      catalogue = new Catalogue(dbFile);
      const t0 = p0 + 10 * period;
      segment(runA, t0);
      const newest = segment(runA, t0 + 1000);
      expect(signerOf(catalogue).run(t0 + period + 1)).toBe(1);
      // The newest row goes (as retention would remove it), then the box restarts.
      catalogue.db.prepare('DELETE FROM segments WHERE id = ?').run(newest.id);
      catalogue.close();
      catalogue = new Catalogue(dbFile);
      const next = segment(runA, t0 + period);
      const rowidOf = (id: string) => (catalogue.db.prepare('SELECT rowid AS r FROM segments WHERE id = ?').get(id) as { r: number }).r;
      expect(rowidOf(next.id)).toBe(3);
      // Within one run too: remove the newest again, the next one still goes above it.
      catalogue.db.prepare('DELETE FROM segments WHERE id = ?').run(next.id);
      const after = segment(runA, t0 + period + 1000);
      expect(rowidOf(after.id)).toBe(4);
      const signer = signerOf(catalogue);
      expect(signer.run(t0 + 2 * period + 1)).toBe(1);
      expect(signer.list(cam).at(-1)!.segments).toBe(1);
    } finally {
      catalogue.close();
      catalogue = saved;
    }
  });

  /** The box's manifest files, as they are in a copy of its recordings at `root`. */
  function manifestFiles(root: string): string[] {
    return (catalogue.db.prepare('SELECT file FROM manifests').all() as { file: string }[]).map((r) => r.file.replace(recordings, root));
  }
});
