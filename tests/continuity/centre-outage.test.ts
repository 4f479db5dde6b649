import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import type { ServerConfig } from '../../config/schema.ts';
import { eq } from 'drizzle-orm';
import { segments } from '../../server/db/schema.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, serverConfig, silent } from '../server/support.ts';
import { runVerify } from '../support/verify-cli.ts';

/**
 * Issue 5, priority 4: the centre (HTTP, its embedded broker, everything) is down for 30 s while
 * 4 cameras record a running session (the 10 minutes, shortened). Afterwards every held
 * segment is stored at the centre and verified, every message (segment batches, gaps, manifests)
 * arrived once, and a stored file the centre then loses is found by reconciliation and sent again.
 */
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function filesUnder(dir: string, ext: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, ext, out);
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out;
}

describe('centre unreachable while 4 cameras record a session', () => {
  const venueId = uniqueVenue('outage');
  const scratch = scratchDir('outage');
  const serverScratch = scratchDir('outage-centre');
  let pg: { url: string; drop: () => Promise<void> };
  let config: ServerConfig;
  let server: RunningServer | null = null;
  let venue: VirtualVenue;
  let agent: Agent;
  const cams = ['cam-1', 'cam-2', 'cam-3', 'cam-4'].map((c) => `${venueId}.${c}`);

  beforeAll(async () => {
    pg = await createPgDatabase();
    const token = randomToken();
    config = serverConfig(serverScratch.dir, {
      databaseUrl: pg.url,
      port: await freePort(),
      mqtt: { url: null, embeddedPort: await freePort() },
      agents: [{ venueId, token }],
      demo: { accounts: true, password: 'demo-password-1' },
    });
    server = await startServer(config, { logger: silent });
    const small = { width: 320, height: 240, fps: 10, bitrateKbps: 120, audio: false };
    venue = await startVirtualVenue({
      cameras: ['cam-1', 'cam-2', 'cam-3', 'cam-4'].map((code) => ({ code, name: code, username: 'admin', password: `pw-${code}`, ...small })),
      logger: quietLogger(),
    });
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Outage venue' },
        rooms: [{ code: 'eval-1', name: 'Evaluation room', kind: 'evaluation' }],
        cameras: venue.cameras.map((c) => ({ code: c.code, name: c.name, room: 'eval-1', address: c.xaddr, username: c.username, password: c.password })),
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: join(scratch.dir, 'edge'),
        integrity: { manifestPeriodSeconds: 10 },
        footageTransfer: { maxBytesPerSecond: 0, reconcileSeconds: 3 },
      }),
      { logger: quietLogger() },
    );
    const cookie = await login(server.url, 'admin', 'demo-password-1');
    await waitFor('room at the centre', async () => {
      const body = (await (await fetch(`${server!.url}/api/venues`, { headers: { cookie } })).json()) as { venues: { id: string; rooms: unknown[] }[] };
      return body.venues.find((v) => v.id === venueId)?.rooms.length;
    });
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({ projectCode: 'OUT-1', projectName: 'Outage', kind: 'evaluation', roomId: `${venueId}.eval-1`, plannedStart: new Date(Date.now() - 60_000).toISOString(), plannedEnd: new Date(Date.now() + 3600_000).toISOString() }),
    });
    expect(res.status).toBe(201);
    await waitFor('uploads flowing for all four cameras', () => cams.every((c) => agent.catalogue.segments(c).some((s) => s.uploadedAt)), 60_000, 200);
  }, 150_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('afterwards the centre holds every held segment, verified, and every message once', async () => {
    await server!.stop();
    server = null;
    const downAt = Date.now();
    // During the outage a camera drops out: its gap travels through the outbox too.
    await sleep(8_000);
    await venue.cameras[3]!.stop();
    await sleep(5_000);
    await venue.cameras[3]!.start();
    await sleep(Math.max(0, 30_000 - (Date.now() - downAt)));
    expect(agent.catalogue.outboxSize()).toBeGreaterThan(0);
    const pendingUploads = agent.catalogue.segments().filter((s) => !s.uploadedAt).length;
    expect(pendingUploads).toBeGreaterThan(20);

    server = await startServer(config, { logger: silent });
    const upAt = Date.now();
    // Caught up: outbox drained and every segment recorded before the centre came back uploaded.
    await waitFor(
      'the box caught up with the centre',
      () => agent.catalogue.outboxSize() === 0 && agent.catalogue.segments().every((s) => s.uploadedAt || Date.parse(s.start) > upAt),
      90_000,
      500,
    );
    const s = server;
    const segmentRow = async (id: string) => (await s.db.select().from(segments).where(eq(segments.id, id)))[0] ?? null;
    // The centre loses one stored file (disk fault, restore): reconciliation finds it and it comes back.
    const lost = agent.catalogue.segments(cams[0]!).find((x) => x.uploadedAt && Date.parse(x.uploadedAt) < downAt)!;
    const lostRow = (await segmentRow(lost.id))!;
    rmSync(join(serverScratch.dir, 'footage', ...lostRow.storageKey!.split('/')));
    await waitFor('lost file uploaded again', () => agent.reconciler.requeued > 0 && agent.catalogue.segment(lost.id)?.uploadedAt, 30_000, 200);
    await waitFor('lost file back at the centre', () => {
      try {
        return statSync(join(serverScratch.dir, 'footage', ...lostRow.storageKey!.split('/'))).size === lost.bytes;
      } catch {
        return false;
      }
    }, 20_000, 200);

    // Every held segment recorded before the check, at the centre, same bytes.
    const edge = agent.catalogue.segments().filter((x) => x.uploadedAt);
    expect(edge.length).toBeGreaterThan(50);
    for (const seg of edge) {
      const row = await segmentRow(seg.id);
      expect(row?.storedAt, seg.id).toBeTruthy();
      expect(row!.sha256).toBe(seg.sha256);
      expect(sha256(join(serverScratch.dir, 'footage', ...row!.storageKey!.split('/')))).toBe(seg.sha256);
    }
    // No duplicates: one file per stored segment id.
    const storedFiles = filesUnder(join(serverScratch.dir, 'footage'), '.ts');
    expect(new Set(storedFiles.map((f) => f.split('/').pop())).size).toBe(storedFiles.length);
    expect(storedFiles.length).toBeGreaterThanOrEqual(edge.length);
    // Every gap row at the box reached the centre (the outage one included), once each.
    const edgeGaps = agent.gaps.log.list();
    expect(edgeGaps.some((g) => g.cameraId === cams[3] && g.cause === 'camera_offline')).toBe(true);
    for (const g of edgeGaps) {
      // (A gap still open has no end: look from its start on.)
      const there = await s.services.gaps.reported(g.cameraId, new Date(Date.parse(g.start)), g.end ? new Date(Date.parse(g.end)) : new Date(Date.now() + 60_000));
      expect(there.filter((r) => r.id === g.id)).toHaveLength(1);
    }
    // Every manifest the box signed was verified at the centre.
    await waitFor('manifests verified', async () => {
      for (const c of cams) if ((await s.services.integrity.manifests(c)).length < agent.manifests.list(c).length) return false;
      return true;
    }, 20_000, 250);
    // And the centre's folder verifies offline.
    const { code, out: stdout } = await runVerify(join(serverScratch.dir, 'footage'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OK:/m);
    console.info(`outage: ${pendingUploads} uploads and ${edgeGaps.length} gap rows waited; duplicates dropped by message id: ${s.link.counters.duplicates}`);
  }, 200_000);
});
