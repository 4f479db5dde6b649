import express, { Router, type Request } from 'express';
import type { Logger } from 'pino';
import { LIVE_SEGMENT_HEADER, LiveSegmentMeta, MAX_LIVE_SEGMENT_BYTES } from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import { currentUser, requireAgent, requireUser } from '../http/auth.ts';
import { parseWith } from '../http/errors.ts';
import { AppError } from '../services/errors.ts';
import { LiveStartingError, type LiveService } from './live-service.ts';

/** Live view routes: the box pushes segments (bearer token); signed-in users watch. */
export interface LiveRouteDeps {
  auth: AuthService;
  live: LiveService;
  agents: Array<{ venueId: string; token: string }>;
  logger: Logger;
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

export function liveRouter(deps: LiveRouteDeps): Router {
  const r = Router();
  const signedIn = requireUser(deps.auth);
  const body = express.raw({ type: () => true, limit: MAX_LIVE_SEGMENT_BYTES });

  r.put('/live/:id/segments', requireAgent(deps.agents), body, (req, res) => {
    const header = req.headers[LIVE_SEGMENT_HEADER];
    let json: unknown;
    try {
      json = JSON.parse(String(Array.isArray(header) ? header[0] : (header ?? '')));
    } catch {
      throw AppError.forMachines('bad_request', `send the segment's ${LIVE_SEGMENT_HEADER} header as JSON`);
    }
    const meta = parseWith(LiveSegmentMeta, json, 'live segment header');
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw AppError.forMachines('bad_request', 'the live segment body is empty');
    deps.live.ingest(res.locals.venueId as string, param(req, 'id'), meta, req.body);
    res.status(204).end();
  });

  // A 503 is either "box offline" or "starting" (with Retry-After): the message says which.
  r.get('/cameras/:id/live.m3u8', signedIn, async (req, res) => {
    try {
      const msnParam = Number(req.query._HLS_msn);
      const msn = Number.isInteger(msnParam) && msnParam >= 0 ? msnParam : undefined;
      const playlist = await deps.live.playlist(param(req, 'id'), currentUser(res), msn);
      res.set({ 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache, no-store' }).send(playlist);
    } catch (err) {
      if (err instanceof LiveStartingError) res.set('Retry-After', '2');
      throw err;
    }
  });

  r.get('/cameras/:id/live/:seq.ts', signedIn, async (req, res) => {
    const seq = Number(param(req, 'seq'));
    if (!Number.isInteger(seq) || seq < 0) throw new AppError('not_found', { en: 'no such live segment', zh: '没有这个直播片段' });
    const data = await deps.live.segment(param(req, 'id'), seq, currentUser(res));
    res.set({ 'Content-Type': 'video/mp2t', 'Content-Length': String(data.length), 'Cache-Control': 'private, max-age=60' }).end(data);
  });

  return r;
}
