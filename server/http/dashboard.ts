import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/**
 * The built dashboard, with the single-page-app fallback: any GET outside /api that is not a file
 * answers index.html so deep links (/sessions/…) survive a reload.
 */
export function dashboardRouter(dir: string): Router | null {
  const root = path.resolve(dir);
  const index = path.join(root, 'index.html');
  if (!existsSync(index)) return null;
  const r = Router();
  r.use(express.static(root, { index: 'index.html' }));
  r.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path.startsWith('/api/') || req.path === '/api') return next();
    res.sendFile(index);
  });
  return r;
}
