import { Router } from 'express';
import { AuditQuery } from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import type { AuditTrailService } from '../services/audit-trail.ts';
import { currentUser, requireUser } from './auth.ts';
import { parseWith } from './errors.ts';

/** `GET /api/audit` (the trail, newest first, a page at a time) and `POST /api/audit/check` (walk the chain). */
export function auditRouter(deps: { auth: AuthService; trail: AuditTrailService }): Router {
  const r = Router();
  r.get('/audit', requireUser(deps.auth), async (req, res) => {
    const q = parseWith(AuditQuery, req.query, { en: 'audit query (venueId, action, actor, subjectType + subjectId, ISO 8601 from and to, before, limit 1–500)', zh: '审计日志查询条件' });
    res.json(await deps.trail.list(currentUser(res), q));
  });
  r.post('/audit/check', requireUser(deps.auth), async (_req, res) => {
    res.json(await deps.trail.checkChain(currentUser(res)));
  });
  return r;
}
