import path from 'node:path';
import type { Writable } from 'node:stream';
import archiver from 'archiver';
import type { Logger } from 'pino';
import type { FootageManifest } from '../../protocol/manifest.ts';
import type { User } from '../../protocol/index.ts';
import { buildVodPlaylist } from '../playback/vod-playlist.ts';
import type { SegmentRepository } from '../repositories/segments.ts';
import type { FootageStore } from '../storage/footage-store.ts';
import { centreManifestKey, type IntegrityService } from './integrity.ts';
import type { ExportPackage } from './export-requests.ts';

/**
 * The evidence package of an approved export request as one ZIP its requester hands on: for every
 * camera of the room, the footage the centre holds in the request's window (a session's includes
 * its pre- and post-roll), the centre's signed manifests of every period that window touches with
 * every file they name (a manifest is checked whole, so the export holds whole periods of what the
 * centre stores), the request (who asked, why, who approved) with the completeness report, its
 * gaps and their causes (`export.json`), a playlist per camera of the window
 * (`<camera>/playlist.m3u8`, playable in any HLS player), and a README saying how to check it:
 * `npm run verify -- FOLDER` proves offline that nothing was altered and finds one changed byte.
 * Paths inside are the store's own (`<camera>/<day>/<segment>.ts`, `<camera>/manifests/…`), so
 * the manifests' relative file names resolve in the unpacked folder as they do in the store.
 * Footage of a period not signed yet (the session is still running, or its last hour is) is
 * included and listed as such. Entries are stored, not deflated: footage is compressed already.
 */
export class EvidenceExportService {
  constructor(
    private readonly segments: SegmentRepository,
    private readonly integrity: Pick<IntegrityService, 'manifests' | 'publicKey'>,
    private readonly store: FootageStore,
    private readonly logger: Logger,
  ) {}

  /** Writes the ZIP of an opened download (ExportRequestService.openDownload) to `out`; resolves once it is finished. */
  async write(pkg: ExportPackage, user: User, out: Writable, now = new Date()): Promise<{ files: number; bytes: number }> {
    const { from, to } = pkg.window;
    const zip = archiver('zip', { store: true });
    // A reader that goes away (a closed tab, a cut link) ends the export: no footage is read for nobody.
    const gone = new AbortController();
    out.on('close', () => {
      if (!out.writableFinished) gone.abort();
    });
    const finished = new Promise<void>((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', reject);
      zip.on('error', reject);
      gone.signal.addEventListener('abort', () => reject(new ExportCancelled()));
    });
    finished.catch(() => {}); // awaited below; an early failure must not go unhandled meanwhile
    zip.pipe(out);
    /**
     * One entry at a time: a session of hours is thousands of segment files, and a file opened for
     * every one of them at once would run out of descriptors. The next file is opened once the zip
     * has taken the last, which it does as fast as the reader takes the zip (backpressure).
     */
    const add = async (name: string, source: () => Promise<NodeJS.ReadableStream | string>): Promise<void> => {
      if (gone.signal.aborted) throw new ExportCancelled();
      const body = await source();
      const taken = new Promise<void>((resolve) => zip.once('entry', () => resolve()));
      // A file's descriptor is closed a moment after its last byte was read: wait for that too, so
      // the next file is never opened while this one is still open.
      const closed = typeof body === 'string' ? Promise.resolve() : new Promise<void>((resolve) => (body as NodeJS.ReadableStream).once('close', () => resolve()));
      zip.append(body as string, { name });
      try {
        // `finished` rejects when the reader goes away or the zip fails: no wait for an entry that never comes.
        await Promise.race([Promise.all([taken, closed]), finished]);
      } catch (err) {
        if (typeof body !== 'string') (body as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        throw err;
      }
    };
    let files = 0;
    let bytes = 0;
    const unsigned: string[] = [];
    const manifestsOut: string[] = [];
    for (const cam of pkg.cameras) {
      const keys = new Set<string>();
      // Every manifest of a period overlapping the window (a period is an hour; a day back covers any setting).
      for (const row of await this.integrity.manifests(cam.cameraId, new Date(from.getTime() - 86_400_000))) {
        const venueManifest = JSON.parse(row.manifest) as FootageManifest;
        const periodStart = Date.parse(venueManifest.periodStart);
        if (periodStart >= to.getTime() || periodStart + venueManifest.periodSeconds * 1000 <= from.getTime()) continue;
        const key = centreManifestKey(cam.cameraId, venueManifest.periodStart, venueManifest.supplement);
        if (!(await this.store.stat(key))) continue; // not signed by the centre (yet): its footage goes in as unsigned
        const text = await streamText(await this.store.get(key));
        const signed = JSON.parse(text) as FootageManifest;
        await add(key, async () => text);
        manifestsOut.push(key);
        files++;
        for (const seg of signed.segments) if (seg.file !== null) keys.add(path.posix.normalize(path.posix.join(path.posix.dirname(key), seg.file)));
      }
      const named = new Set(keys);
      const inWindow = (await this.segments.overlapping(cam.cameraId, from, to, { storedOnly: true })).filter((seg) => seg.storageKey);
      for (const seg of inWindow) {
        if (!named.has(seg.storageKey!)) unsigned.push(seg.storageKey!);
        keys.add(seg.storageKey!);
      }
      // The window as a playlist beside the footage: any HLS player (VLC, ffplay) plays the unpacked
      // export with its wall-clock times, holes marked as discontinuities, no VenueWatch needed.
      if (inWindow.length > 0) {
        const playlist = buildVodPlaylist(inWindow, { live: false, segmentUrl: (seg) => path.posix.relative(cam.cameraId, seg.storageKey!) });
        await add(`${cam.cameraId}/playlist.m3u8`, async () => playlist);
        files++;
      }
      for (const key of [...keys].sort()) {
        const st = await this.store.stat(key);
        if (!st) continue; // named by a manifest of the period but no longer stored: verify will say so
        await add(key, () => this.store.get(key));
        files++;
        bytes += st.bytes;
      }
    }
    const report = {
      kind: 'venuewatch.evidence-export',
      exportedAt: now.toISOString(),
      exportedBy: user.username,
      request: pkg.request,
      session: pkg.session,
      window: { from: from.toISOString(), to: to.toISOString() },
      centrePublicKey: this.integrity.publicKey,
      manifests: manifestsOut,
      notYetSigned: unsigned,
      cameras: pkg.cameras,
    };
    await add('export.json', async () => `${JSON.stringify(report, null, 1)}\n`);
    await add('README.txt', async () => readme(pkg, report.window, this.integrity.publicKey, unsigned.length));
    void zip.finalize().catch(() => {}); // its failure rejects `finished`
    await finished;
    this.logger.info({ exportRequestId: pkg.request.id, sessionId: pkg.request.sessionId, venueId: pkg.request.venueId, files, bytes, by: user.username }, 'evidence exported');
    return { files, bytes };
  }
}

/** The reader went away before the export was complete. */
export class ExportCancelled extends Error {
  constructor() {
    super('the export was cancelled: its reader went away');
  }
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}

function readme(pkg: ExportPackage, window: { from: string; to: string }, publicKey: string, unsigned: number): string {
  const q = pkg.request;
  const s = pkg.session;
  const gaps = pkg.cameras.flatMap((c) => c.gaps.map((g) => `  ${c.cameraId}  ${g.from} – ${g.to}  ${g.kind ?? 'video'}  ${g.cause ?? 'cause not reported'}${g.ongoing ? ' (ongoing)' : ''}`));
  return [
    s ? `VenueWatch 开评标场次录像证据 / bid session evidence` : `VenueWatch 录像证据 / footage evidence`,
    ``,
    ...(s ? [`项目 Project: ${s.projectCode} ${s.projectName}`, `计划时间 Planned: ${s.plannedStart} – ${s.plannedEnd}`] : []),
    `场地 Venue: ${q.venueName} · ${q.roomName}`,
    `导出范围 Footage window${s ? ' (pre/post-roll included)' : ''}: ${window.from} – ${window.to}`,
    ``,
    `调取申请 Export request ${q.id}`,
    `  申请人 Requested by: ${q.requestedBy}, ${q.requestedAt}`,
    `  事由 Purpose: ${q.purpose}`,
    `  审批 Approved by: ${q.decidedBy ?? ''}, ${q.decidedAt ?? ''}${q.decisionNote ? ` (${q.decisionNote})` : ''}`,
    ``,
    `校验 How to check that nothing was altered (offline, with the VenueWatch sources):`,
    `  npm run verify -- <this folder, unpacked> --public-key=${publicKey}`,
    `  Exit 0 = every manifest signature, hash-chain link and segment file verified; otherwise the`,
    `  first failing segment is named. The manifests are signed by the centre (key above) and carry`,
    `  the venue box's own signature as their source.`,
    ...(unsigned > 0
      ? [
          `  ${unsigned} segment file(s) belong to periods not signed yet (listed in export.json, notYetSigned):`,
          `  the venue box signs each period (an hour by default) when it ends. Download again once the hour of`,
          `  the last footage is over for a package that verify checks whole.`,
          `  尚有 ${unsigned} 个录像文件所在时段未签名（场地主机在每个时段结束后签名，默认一小时），请在该时段结束后重新下载。`,
        ]
      : [`  Every segment file here is named by a signed manifest. 全部录像文件均有签名清单。`]),
    ``,
    `播放 To watch: open <camera>/playlist.m3u8 in an HLS player (VLC, ffplay); gaps are marked as discontinuities.`,
    ``,
    `完整性 Completeness per camera (expected / recorded / stored at the centre, seconds):`,
    ...pkg.cameras.map((c) => `  ${c.cameraId} ${c.name}: ${Math.round(c.expectedSeconds)} / ${Math.round(c.recordedSeconds)} / ${Math.round(c.storedSeconds)}`),
    ``,
    `缺失时段 Gaps (from – to, kind, cause):`,
    ...(gaps.length ? gaps : ['  none']),
    ``,
  ].join('\r\n');
}
