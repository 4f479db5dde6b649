import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { httpRequest } from '../http/http-request.ts';
import { LIVE_SEGMENT_HEADER, type LiveSegmentMeta, type SegmentRecord } from '../../protocol/index.ts';

/**
 * Live view on demand: while the centre holds a lease on a camera (a `live` command, renewed as
 * long as someone watches), every new segment the recorder closes is PUT to the centre's live
 * buffer as it is. Nothing is re-encoded and no second ffmpeg runs: live is the recording itself,
 * one segment (recording.segmentSeconds) behind. The lease is relative to its receipt, so it ends
 * on its own when the centre stops renewing it (centre gone, nobody watching).
 */

type Segment = SegmentRecord & { path: string };

export interface LivePusherOptions {
  centreUrl: string;
  token: string;
  logger: Logger;
  /** Segments kept per camera to send at once when a lease starts (the viewer starts sooner). */
  keep?: number;
  /** A camera's live view started or ended (its recorder then reads its playlist sooner or later). */
  onLeaseChange?: (cameraId: string, active: boolean) => void;
}

export class LivePusher {
  private readonly leases = new Map<string, number>();
  private readonly recent = new Map<string, Segment[]>();
  /** Segments being sent per camera: one at a time, in order; a backlog drops the oldest. */
  private readonly queues = new Map<string, Segment[]>();
  private readonly sending = new Set<string>();
  pushed = 0;
  failed = 0;

  constructor(private readonly opts: LivePusherOptions) {}

  /** Whether the camera is being pushed now. */
  active(cameraId: string): boolean {
    return (this.leases.get(cameraId) ?? 0) > Date.now();
  }

  /** A `live` command: push for `leaseSeconds` from now (0 stops). */
  lease(cameraId: string, leaseSeconds: number): void {
    const log = this.opts.logger.child({ cameraId });
    const was = this.active(cameraId);
    if (leaseSeconds <= 0) {
      this.leases.delete(cameraId);
      if (was) {
        log.info('live view stopped by the centre');
        this.opts.onLeaseChange?.(cameraId, false);
      }
      return;
    }
    this.leases.set(cameraId, Date.now() + leaseSeconds * 1000);
    if (!was) {
      log.info({ leaseSeconds }, 'live view started: pushing segments to the centre');
      this.opts.onLeaseChange?.(cameraId, true);
      // The newest closed segment goes at once: the viewer need not wait a whole segment.
      const last = this.recent.get(cameraId)?.slice(-1) ?? [];
      for (const s of last) this.enqueue(s);
    }
  }

  /** Every segment the recorder closes, of every camera. */
  segment(s: Segment): void {
    const keep = this.opts.keep ?? 2;
    const list = this.recent.get(s.cameraId) ?? [];
    list.push(s);
    if (list.length > keep) list.splice(0, list.length - keep);
    this.recent.set(s.cameraId, list);
    if (this.active(s.cameraId)) this.enqueue(s);
    else if (this.leases.has(s.cameraId)) {
      this.leases.delete(s.cameraId);
      this.opts.logger.info({ cameraId: s.cameraId }, 'live lease expired: push stopped');
      this.opts.onLeaseChange?.(s.cameraId, false);
    }
  }

  private enqueue(s: Segment): void {
    const q = this.queues.get(s.cameraId) ?? [];
    q.push(s);
    // A slow link must not build a backlog: live wants the newest, older ones are stale anyway.
    if (q.length > 3) q.splice(0, q.length - 3);
    this.queues.set(s.cameraId, q);
    void this.drain(s.cameraId);
  }

  private async drain(cameraId: string): Promise<void> {
    if (this.sending.has(cameraId)) return;
    this.sending.add(cameraId);
    try {
      for (;;) {
        const s = this.queues.get(cameraId)?.shift();
        if (!s) break;
        await this.send(s);
      }
    } finally {
      this.sending.delete(cameraId);
    }
  }

  private async send(s: Segment): Promise<void> {
    const meta: LiveSegmentMeta = { runId: s.runId, start: s.start, durationSeconds: (Date.parse(s.end) - Date.parse(s.start)) / 1000 };
    try {
      const body = await readFile(s.path);
      const res = await httpRequest(new URL(`/api/live/${encodeURIComponent(s.cameraId)}/segments`, this.opts.centreUrl), {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'video/mp2t', [LIVE_SEGMENT_HEADER]: JSON.stringify(meta) },
        body,
        timeoutMs: 10_000,
      });
      if (!res.ok) throw new Error(`centre answered ${res.status}`);
      this.pushed++;
    } catch (err) {
      this.failed++;
      this.opts.logger.warn({ cameraId: s.cameraId, segment: s.id, err: (err as Error).message }, 'live segment not delivered to the centre');
    }
  }
}
