import express, { Router, type Request } from 'express';
import { PasswordChange, PasswordReset, UserCreate, UserUpdate } from '../../protocol/index.ts';
import { hashToken, type AuthService } from '../services/auth.ts';
import type { UserAdminService } from '../services/user-admin.ts';
import { currentUser, requireUser, sessionToken } from './auth.ts';
import { parseWith } from './errors.ts';

export interface UserRouteDeps {
  auth: AuthService;
  users: UserAdminService;
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** `/api/users/...` (user administration) and `/api/auth/password` (one's own password). */
export function userRouter(deps: UserRouteDeps): Router {
  const r = Router();
  const json = express.json({ limit: '16kb' });
  const signedIn = requireUser(deps.auth);

  r.get('/users', signedIn, async (_req, res) => {
    res.json(await deps.users.list(currentUser(res)));
  });

  r.post('/users', signedIn, json, async (req, res) => {
    const body = parseWith(UserCreate, req.body, { en: 'user account', zh: '用户账号' });
    res.status(201).json(await deps.users.create(body, currentUser(res)));
  });

  r.patch('/users/:id', signedIn, json, async (req, res) => {
    const body = parseWith(UserUpdate, req.body, { en: 'user account change', zh: '账号修改内容' });
    res.json(await deps.users.update(param(req, 'id'), body, currentUser(res)));
  });

  r.post('/users/:id/password', signedIn, json, async (req, res) => {
    const body = parseWith(PasswordReset, req.body, { en: 'new password', zh: '新密码' });
    await deps.users.resetPassword(param(req, 'id'), body.password, currentUser(res));
    res.status(204).end();
  });

  r.post('/auth/password', signedIn, json, async (req, res) => {
    const body = parseWith(PasswordChange, req.body, { en: 'password change ({current, next})', zh: '修改密码信息' });
    const token = sessionToken(req);
    await deps.users.changeOwnPassword(currentUser(res), body.current, body.next, token ? hashToken(token) : null);
    res.status(204).end();
  });

  return r;
}
