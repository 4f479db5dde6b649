import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { CSRF_HEADER, SESSION_COOKIE, type User } from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import { sendError } from './errors.ts';

/** Reads one cookie from the Cookie header (no cookie-parser dependency for a single value). */
export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

export const sessionToken = (req: Request): string | null => readCookie(req, SESSION_COOKIE);

/** The signed-in user; only valid behind requireUser. */
export function currentUser(res: Response): User {
  return res.locals.user as User;
}

/**
 * The CSRF token of a session: derived from the session token, so it needs no storage and dies
 * with the session. The dashboard reads it from the CSRF cookie (or the login answer) and sends it
 * back in a header, which another site's form or fetch cannot do (double submit).
 */
export const csrfTokenFor = (sessionToken: string): string => createHash('sha256').update(`csrf:${sessionToken}`).digest('base64url');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function requireUser(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    const token = sessionToken(req);
    const user = token ? await auth.userForToken(token) : null;
    if (!user) {
      return sendError(
        res,
        'unauthenticated',
        token ? { en: 'your session has expired: sign in again', zh: '登录已过期，请重新登录' } : { en: 'sign in first (POST /api/auth/login)', zh: '请先登录' },
      );
    }
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      const value = Array.isArray(sent) ? sent[0] : sent;
      if (!value || !sameSecret(value, csrfTokenFor(token!))) {
        return sendError(res, 'forbidden', {
          en: `missing or wrong ${CSRF_HEADER} header: send the CSRF token from the login answer (or the vw_csrf cookie) with every change`,
          zh: `请求缺少 ${CSRF_HEADER} 标头或其值不正确：页面可能已过期，请刷新页面或重新登录后再试`,
        });
      }
    }
    res.locals.user = user;
    next();
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Venue box authentication for ingest: `Authorization: Bearer <agent token>`, venue taken from the token. */
export function requireAgent(agents: Array<{ venueId: string; token: string }>): RequestHandler {
  return (req, res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return sendError(res, 'unauthenticated', 'send the venue box token as "Authorization: Bearer <token>"');
    const agent = agents.find((a) => sameSecret(a.token, m[1]!));
    if (!agent) return sendError(res, 'unauthenticated', 'unknown agent token: check the box token against the centre\'s agents setting');
    res.locals.venueId = agent.venueId;
    next();
  };
}
