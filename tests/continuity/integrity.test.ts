import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobePath } from '../../config/binaries.ts';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { newSigningKeyPem, recordHash, signManifest, signingKeyFromPem } from '../../protocol/integrity.ts';
import { FootageManifest } from '../../protocol/index.ts';
import { randomToken, startServer, type RunningServer } from '../../server/app.ts';
import { AppError } from '../../server/services/errors.ts';
import { startVirtualVenue, type VirtualVenue } from '../../simulator/venue.ts';
import { agentConfig, quietLogger, scratchDir, uniqueVenue, waitFor } from '../edge-agent/agent-fixture.ts';
import { createPgDatabase, csrf, login, serverConfig, silent } from '../server/support.ts';
import { runVerify } from '../support/verify-cli.ts';

/**
 * Issue 5, priority 3: hash chain, signed period manifests (4 s periods here instead of an hour),
 * verification at the centre with the box's key pinned, the centre's own signed manifests, and
 * `npm run verify` over both folders finding one changed byte.
 */

function flipByte(file: string, at: number): void {
  const buf = readFileSync(file);
  buf[at % buf.length] = buf[at % buf.length]! ^ 0x01;
  writeFileSync(file, buf);
}

describe('footage integrity: chain, signed manifests, verify', () => {
  const venueId = uniqueVenue('integ');
  const scratch = scratchDir('integ');
  const serverScratch = scratchDir('integ-centre');
  let pg: { url: string; drop: () => Promise<void> };
  let server: RunningServer;
  let venue: VirtualVenue;
  let agent: Agent;
  const cam = `${venueId}.cam-1`;
  let cookie: string;
  let sessionId: string;

  beforeAll(async () => {
    pg = await createPgDatabase();
    const token = randomToken();
    server = await startServer(
      serverConfig(serverScratch.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'demo-password-1' } }),
      { logger: silent },
    );
    venue = await startVirtualVenue({
      cameras: [{ code: 'cam-1', name: 'Opening', username: 'admin', password: 'pw-integ-1', width: 320, height: 240, fps: 10, bitrateKbps: 150 }],
      logger: quietLogger(),
    });
    const c = venue.cameras[0]!;
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Integrity venue' },
        rooms: [{ code: 'open-1', name: 'Opening room', kind: 'bid_opening' }],
        cameras: [{ code: 'cam-1', name: 'Opening', room: 'open-1', address: c.xaddr, username: c.username, password: c.password }],
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: join(scratch.dir, 'edge'),
        recording: { segmentSeconds: 1, restartDelayMs: 300, rtspTransport: 'tcp' },
        integrity: { manifestPeriodSeconds: 4 },
      }),
      { logger: quietLogger() },
    );
    cookie = await login(server.url, 'admin', 'demo-password-1');
    await waitFor('room at the centre', async () => {
      const body = (await (await fetch(`${server.url}/api/venues`, { headers: { cookie } })).json()) as { venues: { id: string; rooms: unknown[] }[] };
      return body.venues.find((v) => v.id === venueId)?.rooms.length;
    });
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({ projectCode: 'INT-1', projectName: 'Integrity', kind: 'bid_opening', roomId: `${venueId}.open-1`, plannedStart: new Date(Date.now() - 60_000).toISOString(), plannedEnd: new Date(Date.now() + 3600_000).toISOString() }),
    });
    expect(res.status).toBe(201);
    sessionId = ((await res.json()) as { id: string }).id;
    await waitFor('three signed manifests at the box', () => agent.manifests.list(cam).length >= 3, 60_000, 200);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await venue?.stop();
    await server?.stop();
    await pg?.drop();
    scratch.remove();
    serverScratch.remove();
  });

  it('chains every record to the previous one and signs each period with the box’s own key', () => {
    const segs = agent.catalogue.segments(cam);
    expect(segs[0]!.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.prevHash).toBe(recordHash({ ...segs[i - 1]!, prevHash: segs[i - 1]!.prevHash! }));
    const files = agent.manifests.list(cam);
    const m = FootageManifest.parse(JSON.parse(readFileSync(files[1]!.file, 'utf8')));
    expect(m.signer.role).toBe('agent');
    expect(m.segments[0]!.prevHash).toBe(files[0]!.chainHead);
    // The key lives in the data folder, owner-only.
    const keyDir = join(scratch.dir, 'edge', 'keys');
    expect(readdirSync(keyDir)).toEqual(['agent-ed25519.pem']);
  });

  it('the centre pins the key, verifies each manifest, and refuses one signed by another key', async () => {
    await waitFor('manifests verified at the centre', async () => (await server.services.integrity.manifests(cam)).length >= 3, 30_000, 200);
    const pinned = await server.services.integrity.pinnedKey(venueId);
    const local = FootageManifest.parse(JSON.parse(readFileSync(agent.manifests.list(cam)[0]!.file, 'utf8')));
    expect(pinned!.keyId).toBe(local.signer.keyId);
    // An impostor key (same venue credentials, other key): refused.
    const other = signingKeyFromPem(newSigningKeyPem());
    const forged = signManifest({ venueId, cameraId: cam, periodStart: '2026-01-01T00:00:00.000Z', periodSeconds: 4, segments: local.segments }, other, 'agent');
    await expect(server.services.integrity.receive({ venueId, manifest: forged })).rejects.toThrow(AppError);
    await expect(server.services.integrity.receive({ venueId, manifest: forged })).rejects.toThrow(/not the pinned key/);
  });

  it('npm run verify passes on the box’s folder and names the segment with one changed byte', async () => {
    const recordings = join(scratch.dir, 'edge', 'recordings');
    const ok = await runVerify(recordings);
    expect(ok.out).toMatch(/^OK: \d+ manifest/m);
    expect(ok.code).toBe(0);

    // A copy with one byte changed in the middle of a segment the second manifest names.
    const copy = join(scratch.dir, 'copy');
    cpSync(recordings, copy, { recursive: true });
    const second = FootageManifest.parse(JSON.parse(readFileSync(agent.manifests.list(cam)[1]!.file, 'utf8')));
    const victim = second.segments[1]!;
    const manifestDir = join(copy, cam, 'manifests');
    flipByte(join(manifestDir, victim.file!), 5000);
    const bad = await runVerify(copy);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain(`first failing segment: ${victim.id}`);

    // One changed byte in a manifest (a digit of a recorded time) breaks its signature.
    const copy2 = join(scratch.dir, 'copy2');
    cpSync(recordings, copy2, { recursive: true });
    const mfile = join(copy2, cam, 'manifests', readdirSync(join(copy2, cam, 'manifests')).sort()[0]!);
    writeFileSync(mfile, readFileSync(mfile, 'utf8').replace(/"bytes": (\d)/, (_m, d: string) => `"bytes": ${(Number(d) + 1) % 10}`));
    const bad2 = await runVerify(copy2);
    expect(bad2.code).not.toBe(0);
    expect(bad2.out).toMatch(/signature does not verify/);
  }, 60_000);

  it('exports the session, once a request is approved, as one ZIP that verify checks offline: signed periods, their files, the gaps; one changed byte is found', async () => {
    const firstAgentManifest = FootageManifest.parse(JSON.parse(readFileSync(agent.manifests.list(cam)[0]!.file, 'utf8')));
    const centreFile = join(serverScratch.dir, 'footage', cam, 'manifests', `${firstAgentManifest.periodStart.replace(/[:.]/g, '-')}.json`);
    await waitFor('the centre manifest of the first period naming every file', () => {
      try {
        return FootageManifest.parse(JSON.parse(readFileSync(centreFile, 'utf8'))).segments.every((s) => s.file !== null);
      } catch {
        return false;
      }
    }, 30_000, 250);
    // Copying footage out: the supervisor asks, with a purpose; the administrator approves; the supervisor downloads.
    const supervisor = await login(server.url, 'supervisor', 'demo-password-1');
    const post = (who: string, path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: { cookie: who, ...csrf(who), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const asked = await post(supervisor, '/api/exports', { sessionId, purpose: '归档：开标全过程录像' });
    expect(asked.status, await asked.clone().text()).toBe(201);
    const requestId = ((await asked.json()) as { id: string }).id;
    expect((await post(cookie, `/api/exports/${requestId}/decision`, { approve: true, note: '同意归档' })).status).toBe(200);
    const res = await fetch(`${server.url}/api/exports/${requestId}/download`, { headers: { cookie: supervisor } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="INT-1-\d{4}-\d{2}-\d{2}\.zip"/);
    const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()));
    const out = join(scratch.dir, 'export');
    for (const [name, entry] of Object.entries(zip.files)) {
      if (entry.dir) continue;
      mkdirSync(dirname(join(out, name)), { recursive: true });
      writeFileSync(join(out, name), await entry.async('nodebuffer'));
    }
    const report = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8')) as { request: { id: string; purpose: string; decidedBy: string }; session: { id: string; plannedStart: string }; window: { from: string; to: string }; manifests: string[]; cameras: { cameraId: string; gaps: { from: string; cause: string | null }[] }[]; centrePublicKey: string };
    expect(report.session.id).toBe(sessionId);
    expect(report.request).toMatchObject({ id: requestId, purpose: '归档：开标全过程录像' });
    expect(report.centrePublicKey).toBe(server.services.integrity.publicKey);
    expect(report.manifests.length).toBeGreaterThanOrEqual(1);
    // The gaps go with the footage, over the package's whole window (the session's with its pre-roll):
    // the window began before this camera's first footage.
    expect(report.cameras.map((c) => c.cameraId)).toEqual([cam]);
    expect(Date.parse(report.window.from)).toBeLessThan(Date.parse(report.session.plannedStart));
    expect(report.cameras[0]!.gaps[0]).toMatchObject({ from: report.window.from, cause: 'before_first_footage' });
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toContain(`npm run verify -- <this folder, unpacked> --public-key=${server.services.integrity.publicKey}`);
    const ok = await runVerify(out);
    expect(ok.out).toMatch(/^OK:/m);
    expect(ok.code).toBe(0);
    // The unpacked export plays without VenueWatch: ffprobe reads the camera's playlist and its footage.
    const { stdout } = await promisify(execFile)(ffprobePath(), ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', join(out, cam, 'playlist.m3u8')], { timeout: 30_000 });
    const probe = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
    expect(probe.streams.map((s) => s.codec_name)).toContain('h264');
    expect(Number(probe.format.duration)).toBeGreaterThan(2);
    const first = FootageManifest.parse(JSON.parse(readFileSync(join(out, report.manifests[0]!), 'utf8')));
    const named = first.segments.find((s) => s.file !== null)!;
    flipByte(join(out, dirname(report.manifests[0]!), named.file!), 200);
    const bad = await runVerify(out);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain(`first failing segment: ${named.id}`);
    // The request, its approval and the download are in the audit trail.
    expect((await server.services.audit.list({ subjectType: 'export_request', subjectId: requestId })).map((a) => a.action)).toEqual(['export.request', 'export.approve', 'footage.export']);
  }, 60_000);

  it('the centre signs what it stores; verify passes on its folder and finds a changed byte there', async () => {
    const footage = join(serverScratch.dir, 'footage');
    const firstAgentManifest = FootageManifest.parse(JSON.parse(readFileSync(agent.manifests.list(cam)[0]!.file, 'utf8')));
    // Wait until the centre manifest of the first period names every one of its files (all held).
    const centreFile = join(footage, cam, 'manifests', `${firstAgentManifest.periodStart.replace(/[:.]/g, '-')}.json`);
    const centre = await waitFor(
      'centre manifest naming every stored file',
      () => {
        try {
          const m = FootageManifest.parse(JSON.parse(readFileSync(centreFile, 'utf8')));
          return m.segments.every((s) => s.file !== null) ? m : null;
        } catch {
          return null;
        }
      },
      30_000,
      250,
    );
    expect(centre.signer.role).toBe('centre');
    expect(centre.signer.publicKey).toBe(server.services.integrity.publicKey);
    expect(centre.source).toEqual({ keyId: firstAgentManifest.signer.keyId, signature: firstAgentManifest.signature });
    expect(centre.chainHead).toBe(firstAgentManifest.chainHead);
    const ok = await runVerify(footage);
    expect(ok.out).toMatch(/^OK:/m);
    expect(ok.code).toBe(0);
    flipByte(join(footage, cam, 'manifests', centre.segments[0]!.file!), 300);
    const bad = await runVerify(footage);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain(`first failing segment: ${centre.segments[0]!.id}`);
  }, 60_000);
});
