import express, { Router, type Request } from 'express';
import type { Logger } from 'pino';
import {
  ContentRange,
  CSRF_COOKIE,
  LoginRequest,
  ReconcileRequest,
  SEGMENT_META_HEADER,
  SESSION_COOKIE,
  SessionCreate,
  VodQuery,
  SessionListQuery,
  type HealthResponse,
  type IngestUploadConflict,
  type IngestUploadStatus,
  type LoginResponse,
  type SessionList,
} from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import { AppError } from '../services/errors.ts';
import { UploadOffsetConflict, type IngestService } from '../services/ingest.ts';
import type { FetchService } from '../services/fetch.ts';
import type { PlaybackService } from '../services/playback.ts';
import type { SessionService } from '../services/sessions.ts';
import type { VenueService } from '../services/venues.ts';
import type { AuditService } from '../services/audit.ts';
import type { LoginGuard } from '../services/login-guard.ts';
import { venueOf } from '../../protocol/index.ts';
import { csrfTokenFor, currentUser, requireAgent, requireUser, sessionToken } from './auth.ts';
import { parseWith, sendError } from './errors.ts';

export interface ApiDeps {
  auth: AuthService;
  venues: VenueService;
  sessions: SessionService;
  playback: PlaybackService;
  ingest: IngestService;
  agents: Array<{ venueId: string; token: string }>;
  health: () => Promise<HealthResponse>;
  logger: Logger;
  /** Every login, failed login and footage view goes into the audit trail. */
  audit: AuditService;
  loginGuard: LoginGuard;
  /** Issue 5: footage fetched from the venue on demand. */
  fetch?: FetchService;
}

/** Parses "bytes=a-b" / "bytes=a-" / "bytes=-n" for a single range; null = whole file, 'invalid' = 416. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? 'invalid' : { start, end };
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** Thin controllers: parse and validate, call a service, shape the answer. */
export function apiRouter(deps: ApiDeps): Router {
  const r = Router();
  const json = express.json({ limit: '1mb' });
  const signedIn = requireUser(deps.auth);

  r.get('/health', async (_req, res) => {
    const health = await deps.health();
    res.status(health.status === 'ok' ? 200 : 503).json(health);
  });

  // ---- auth ----
  r.post('/auth/login', json, async (req, res) => {
    const body = parseWith(LoginRequest, req.body, { en: 'login', zh: '登录信息' });
    const address = req.ip ?? 'unknown';
    try {
      deps.loginGuard.check(body.username, address);
    } catch (err) {
      await deps.audit.append({ actorId: null, actor: body.username, action: 'auth.login_throttled', venueId: null, subjectType: 'user', subjectId: body.username, detail: { address } });
      throw err;
    }
    let result: Awaited<ReturnType<AuthService['login']>>;
    try {
      result = await deps.auth.login(body.username, body.password);
    } catch (err) {
      // The right password for a disabled account: refused, and in the trail like any failed sign-in.
      if (err instanceof AppError && err.code === 'forbidden') await deps.audit.append({ actorId: null, actor: body.username, action: 'auth.login_disabled', venueId: null, subjectType: 'user', subjectId: body.username, detail: { address } });
      throw err;
    }
    if (!result) {
      deps.loginGuard.fail(body.username, address);
      await deps.audit.append({ actorId: null, actor: body.username, action: 'auth.login_failed', venueId: null, subjectType: 'user', subjectId: body.username, detail: { address } });
      deps.logger.warn({ username: body.username, address }, 'failed sign-in');
      return sendError(res, 'unauthenticated', { en: 'wrong username or password', zh: '用户名或密码错误' });
    }
    deps.loginGuard.succeed(body.username);
    await deps.audit.append({ actorId: result.user.id, actor: result.user.username, action: 'auth.login', venueId: null, subjectType: 'user', subjectId: result.user.id, detail: { address } });
    const csrfToken = csrfTokenFor(result.token);
    res.cookie(SESSION_COOKIE, result.token, { httpOnly: true, sameSite: 'lax', path: '/', expires: result.expiresAt, secure: req.secure });
    res.cookie(CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'strict', path: '/', expires: result.expiresAt, secure: req.secure });
    deps.logger.info({ username: result.user.username }, 'signed in');
    const answer: LoginResponse = { user: result.user, csrfToken };
    res.json(answer);
  });

  r.post('/auth/logout', async (req, res) => {
    const token = sessionToken(req);
    if (token) await deps.auth.logout(token);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.clearCookie(CSRF_COOKIE, { path: '/' });
    res.status(204).end();
  });

  // ---- ingest (venue box, bearer token; not a browser session) ----
  // Resumable by byte range (protocol/api.ts IngestUploadStatus): GET tells the offset, PUT with
  // Content-Range appends from it; the last byte triggers the SHA-256 check of the whole file.
  const segmentMeta = (req: Request): string | undefined => {
    const header = req.headers[SEGMENT_META_HEADER];
    return Array.isArray(header) ? header[0] : header;
  };
  r.get('/ingest/segments/:id/upload', requireAgent(deps.agents), async (req, res) => {
    const answer: IngestUploadStatus = await deps.ingest.status(res.locals.venueId as string, param(req, 'id'), segmentMeta(req));
    res.set('cache-control', 'no-store').json(answer);
  });

  r.put('/ingest/segments/:id', requireAgent(deps.agents), async (req, res) => {
    const venueId = res.locals.venueId as string;
    try {
      const rangeHeader = req.headers['content-range'];
      const range = rangeHeader === undefined ? null : parseWith(ContentRange, rangeHeader, 'Content-Range header');
      const lengthHeader = req.headers['content-length'];
      const contentLength = lengthHeader === undefined ? null : Number(lengthHeader);
      const result = await deps.ingest.ingest(venueId, param(req, 'id'), segmentMeta(req), range, contentLength, req);
      // A segment already stored is answered without reading its body.
      if (!req.readableEnded && !req.destroyed) deps.ingest.drainRefused(venueId, req);
      if (result.kind === 'partial') {
        res.status(202).json(result.status);
      } else {
        res.status(result.answer.duplicate ? 200 : 201).json(result.answer);
      }
    } catch (err) {
      // Refused before or while reading: drain the rest so the connection stays usable.
      if (!req.readableEnded && !req.destroyed) deps.ingest.drainRefused(venueId, req);
      if (err instanceof AppError) deps.logger.warn({ venueId, segmentId: param(req, 'id'), code: err.code, reason: err.message }, 'segment upload refused');
      if (err instanceof UploadOffsetConflict) {
        const body: IngestUploadConflict = { error: { code: err.code, message: err.message }, upload: err.upload };
        res.status(409).json(body);
        return;
      }
      throw err;
    }
  });

  // Issue 5: reconcile after an outage — which uploaded segments the centre does not hold intact.
  r.post('/ingest/reconcile', requireAgent(deps.agents), json, async (req, res) => {
    const body = parseWith(ReconcileRequest, req.body, 'reconcile request');
    res.json({ missing: await deps.ingest.reconcile(res.locals.venueId as string, body.segments) });
  });

  // ---- everything below needs a signed-in user ----
  r.get('/auth/me', signedIn, (req, res) => {
    const answer: LoginResponse = { user: currentUser(res), csrfToken: csrfTokenFor(sessionToken(req)!) };
    res.json(answer);
  });

  r.get('/venues', signedIn, async (_req, res) => {
    res.json(await deps.venues.list(currentUser(res)));
  });

  r.get('/sessions', signedIn, async (req, res) => {
    const q = parseWith(SessionListQuery, { from: req.query.from, to: req.query.to, venueId: req.query.venueId, limit: req.query.limit }, { en: 'session list query (ISO 8601 from and to, venueId, limit 1–1000)', zh: '场次查询条件' });
    const answer: SessionList = await deps.sessions.list(currentUser(res), q);
    res.json(answer);
  });

  r.post('/sessions', signedIn, json, async (req, res) => {
    const body = parseWith(SessionCreate, req.body, { en: 'session', zh: '场次' });
    res.status(201).json(await deps.sessions.create(body, currentUser(res)));
  });

  r.get('/sessions/:id', signedIn, async (req, res) => {
    const id = param(req, 'id');
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('not_found', { en: `session ${id} does not exist`, zh: `场次 ${id} 不存在` });
    res.json(await deps.sessions.detail(id, currentUser(res)));
  });

  r.get('/cameras/:id/vod.m3u8', signedIn, async (req, res) => {
    const q = parseWith(VodQuery, { from: req.query.from, to: req.query.to }, { en: 'playlist range (ISO 8601 from and to)', zh: '录像时段' });
    const user = currentUser(res);
    const cameraId = param(req, 'id');
    const playlist = await deps.playback.playlist(cameraId, new Date(q.from), new Date(q.to), user);
    await deps.audit.append({ actorId: user.id, actor: user.username, action: 'footage.playlist', venueId: venueOf(cameraId), subjectType: 'camera', subjectId: cameraId, detail: { from: q.from, to: q.to } });
    res.set({ 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache' }).send(playlist);
  });

  // Issue 5: what the player should show for a range, and asking the venue for what the centre lacks.
  r.get('/cameras/:id/footage-status', signedIn, async (req, res) => {
    if (!deps.fetch) throw new AppError('not_found', { en: 'footage fetching is not enabled', zh: '本中心未启用从场地调取录像' });
    const q = parseWith(VodQuery, { from: req.query.from, to: req.query.to }, { en: 'range (ISO 8601 from and to)', zh: '录像时段' });
    res.json(await deps.fetch.status(param(req, 'id'), new Date(q.from), new Date(q.to), currentUser(res)));
  });
  r.post('/cameras/:id/fetch', signedIn, async (req, res) => {
    if (!deps.fetch) throw new AppError('not_found', { en: 'footage fetching is not enabled', zh: '本中心未启用从场地调取录像' });
    const q = parseWith(VodQuery, { from: req.query.from, to: req.query.to }, { en: 'range (ISO 8601 from and to)', zh: '录像时段' });
    const status = await deps.fetch.request(param(req, 'id'), new Date(q.from), new Date(q.to), currentUser(res));
    res.status(status.status === 'fetching' ? 202 : 200).json(status);
  });

  r.get('/footage/segments/:id.ts', signedIn, async (req, res) => {
    const id = param(req, 'id');
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('not_found', { en: `segment ${id} is not stored at the centre`, zh: `录像片段 ${id} 未存于中心` });
    const user = currentUser(res);
    const seg = await deps.playback.segment(id, user);
    await deps.audit.append({ actorId: user.id, actor: user.username, action: 'footage.segment', venueId: venueOf(seg.cameraId), subjectType: 'segment', subjectId: id, detail: { cameraId: seg.cameraId, range: req.headers.range ?? null } });
    const range = parseRange(req.headers.range, seg.bytes);
    res.set({ 'Content-Type': 'video/mp2t', 'Accept-Ranges': 'bytes', 'Cache-Control': 'private, max-age=86400' });
    if (range === 'invalid') {
      res.status(416).set('Content-Range', `bytes */${seg.bytes}`).end();
      return;
    }
    if (range) res.status(206).set({ 'Content-Range': `bytes ${range.start}-${range.end}/${seg.bytes}`, 'Content-Length': String(range.end - range.start + 1) });
    else res.set('Content-Length', String(seg.bytes));
    if (req.method === 'HEAD') return void res.end();
    const stream = await seg.open(range ?? undefined);
    stream.on('error', (err) => {
      deps.logger.error({ segmentId: id, err: err.message }, 'reading a stored segment failed');
      res.destroy(err);
    });
    stream.pipe(res);
  });

  return r;
}
