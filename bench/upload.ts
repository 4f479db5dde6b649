import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { and, inArray, isNotNull } from 'drizzle-orm';
import { pino } from 'pino';
import { loadEdgeAgentConfig } from '../config/load.ts';
import { startAgent } from '../edge-agent/agent.ts';
import { randomToken, startServer } from '../server/app.ts';
import { segments } from '../server/db/schema.ts';
import { startVirtualVenue } from '../simulator/venue.ts';
import { createPgDatabase, csrf, login, serverConfig, tempDir } from '../tests/server/support.ts';

/**
 * Issue 5 benchmark: upload of held footage to the centre while the box records N cameras (8 by
 * default), and the CPU the box spends hashing that footage (SHA-256 of every segment plus the
 * record hash chain). Real simulator cameras, real ffmpeg, real centre (PostgreSQL at
 * 127.0.0.1:5432) and embedded broker, all on this machine. Figures are ratios where they can be:
 * upload throughput against the recording rate, hashing CPU against the recorded stream's duration.
 *
 * Export for the bench/run.ts harness: `benchUpload(opts)` → result, `uploadReport(result)` → markdown.
 * Standalone: `tsx bench/upload.ts [seconds] [cameras] [capBytesPerSecond]`.
 */
export interface UploadResult {
  cameras: number;
  seconds: number;
  capBytesPerSecond: number;
  recordedBytesPerSecond: number;
  uploadedBytesPerSecond: number;
  /** uploaded / recorded over the window (1.0 = keeping up). */
  uploadRatio: number;
  /** Segments recorded in the window that were not yet at the centre at its end. */
  backlogSegments: number;
  /** CPU seconds to SHA-256 one second of recorded footage of all cameras (×100 = % of one core). */
  hashCpuPerRecordedSecond: number;
  /** SHA-256 throughput of this machine over the recorded files, MB/s of one core. */
  hashMBps: number;
}

export async function benchUpload(opts: { seconds?: number; cameras?: number; capBytesPerSecond?: number; log?: (line: string) => void } = {}): Promise<UploadResult> {
  const seconds = opts.seconds ?? 30;
  const n = opts.cameras ?? 8;
  const cap = opts.capBytesPerSecond ?? 0;
  const log = opts.log ?? ((l: string) => console.log(l));
  const silent = pino({ level: 'silent' });
  const pg = await createPgDatabase();
  const centreDir = tempDir('bench-upload-centre');
  const edgeDir = tempDir('bench-upload-edge');
  const venueId = `bench-${Math.random().toString(36).slice(2, 8)}`;
  const token = randomToken();
  const server = await startServer(serverConfig(centreDir.dir, { databaseUrl: pg.url, agents: [{ venueId, token }], demo: { accounts: true, password: 'bench-password-1' } }), { logger: silent });
  const venue = await startVirtualVenue({
    cameras: Array.from({ length: n }, (_, i) => ({ code: `cam-${i + 1}`, name: `Camera ${i + 1}`, username: 'admin', password: `pw-${i}`, width: 320, height: 240, fps: 10, bitrateKbps: 400, audio: false })),
    logger: silent,
  });
  const agent = await startAgent(
    loadEdgeAgentConfig({
      env: {},
      file: null,
      overrides: {
        venue: { id: venueId, name: 'Bench venue' },
        rooms: [{ code: 'eval-1', name: 'Evaluation', kind: 'evaluation' }],
        cameras: venue.cameras.map((c) => ({ code: c.code, name: c.name, room: 'eval-1', address: c.xaddr, username: c.username, password: c.password })),
        discovery: { enabled: false, interfaces: [], timeoutMs: 1000, intervalMinutes: 60 },
        mqtt: { url: server.brokerUrl },
        centre: { url: server.url, token },
        dataDir: edgeDir.dir,
        footageTransfer: { maxBytesPerSecond: cap, reconcileSeconds: 300 },
        logLevel: 'silent',
      },
    }),
    { logger: silent },
  );
  try {
    const cookie = await login(server.url, 'admin', 'bench-password-1');
    for (let i = 0; i < 100; i++) {
      const body = (await (await fetch(`${server.url}/api/venues`, { headers: { cookie } })).json()) as { venues: { id: string; rooms: unknown[] }[] };
      if (body.venues.find((v) => v.id === venueId)?.rooms.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const booked = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie, ...csrf(cookie), 'content-type': 'application/json' },
      body: JSON.stringify({ projectCode: 'BENCH', projectName: 'Upload bench', kind: 'evaluation', roomId: `${venueId}.eval-1`, plannedStart: new Date(Date.now() - 60_000).toISOString(), plannedEnd: new Date(Date.now() + 3600_000).toISOString() }),
    });
    if (!booked.ok) throw new Error(`could not book the benchmark session: ${booked.status} ${await booked.text()}`);
    log(`bench/upload: ${n} cameras recording, warming up 10 s…`);
    await new Promise((r) => setTimeout(r, 10_000));
    const ids = venue.cameras.map((c) => `${venueId}.${c.code}`);
    const storedBytes = async () =>
      (await server.db.select({ bytes: segments.bytes }).from(segments).where(and(inArray(segments.cameraId, ids), isNotNull(segments.storedAt)))).reduce((a, r) => a + r.bytes, 0);
    const recordedBytes = () => agent.catalogue.segments().reduce((a, s) => a + s.bytes, 0);
    const r0 = recordedBytes();
    const u0 = await storedBytes();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const dt = (Date.now() - t0) / 1000;
    const recordedRate = (recordedBytes() - r0) / dt;
    const uploadedRate = ((await storedBytes()) - u0) / dt;
    const backlog = agent.catalogue.segments().filter((s) => !s.uploadedAt).length;

    // Hashing cost: hash every recorded file again, timing CPU of this process only.
    const files = agent.catalogue.segments();
    const cpu0 = process.cpuUsage();
    let hashed = 0;
    for (const s of files) {
      const buf = readFileSync(s.path);
      createHash('sha256').update(buf).digest('hex');
      hashed += buf.length;
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const hashMBps = hashed / 1e6 / Math.max(cpuSeconds, 1e-6);
    // One second of recording of all cameras is recordedRate bytes.
    const hashCpuPerRecordedSecond = recordedRate / (hashMBps * 1e6);
    return {
      cameras: n,
      seconds: dt,
      capBytesPerSecond: cap,
      recordedBytesPerSecond: recordedRate,
      uploadedBytesPerSecond: uploadedRate,
      uploadRatio: uploadedRate / Math.max(recordedRate, 1),
      backlogSegments: backlog,
      hashCpuPerRecordedSecond,
      hashMBps,
    };
  } finally {
    await agent.stop();
    await venue.stop();
    await server.stop();
    await pg.drop();
    centreDir.remove();
    edgeDir.remove();
  }
}

export function uploadReport(r: UploadResult): string {
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB/s`;
  return [
    `Held footage of ${r.cameras} simulated cameras (320×240, 10 fps, 400 kb/s) uploaded to a centre on the same machine over ${r.seconds.toFixed(0)} s${r.capBytesPerSecond ? `, cap ${kb(r.capBytesPerSecond)}` : ', no cap'}.`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| recorded | ${kb(r.recordedBytesPerSecond)} |`,
    `| uploaded | ${kb(r.uploadedBytesPerSecond)} |`,
    `| uploaded ÷ recorded | ${r.uploadRatio.toFixed(2)} |`,
    `| segments not yet at the centre at the end | ${r.backlogSegments} |`,
    `| SHA-256 speed (one core) | ${r.hashMBps.toFixed(0)} MB/s |`,
    `| hashing CPU per second of recording (all cameras) | ${(r.hashCpuPerRecordedSecond * 1000).toFixed(2)} ms (${(r.hashCpuPerRecordedSecond * 100).toFixed(3)} % of a core) |`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [s, c, cap] = process.argv.slice(2).map(Number);
  const result = await benchUpload({ seconds: s || 30, cameras: c || 8, capBytesPerSecond: cap || 0 });
  console.log(uploadReport(result));
}
