import { Router } from 'express';
import type { AuthService } from '../services/auth.ts';
import type { OverviewService } from '../services/overview.ts';
import { currentUser, requireUser } from './auth.ts';

/** `GET /api/overview`: the city centre's one-screen view of its counties (every role, within its scope). */
export function overviewRouter(deps: { auth: AuthService; overview: OverviewService }): Router {
  const r = Router();
  r.get('/overview', requireUser(deps.auth), async (_req, res) => {
    res.json(await deps.overview.overview(currentUser(res)));
  });
  return r;
}
