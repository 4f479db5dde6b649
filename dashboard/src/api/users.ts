import { z } from 'zod';
import { UserAccount, UserAccountList, type PasswordChange, type PasswordReset, type UserCreate, type UserUpdate } from '../../../protocol/users.ts';
import { request } from './client.ts';

const one = (id: string) => `/api/users/${encodeURIComponent(id)}`;
// The password calls answer 204: there is nothing to check.
const NoContent = z.unknown();

/** User administration (`/api/users`) and the signed-in user's own password, checked against the protocol's schemas. */
export const usersApi = {
  list: () => request('/api/users', UserAccountList),
  create: (body: UserCreate) => request('/api/users', UserAccount, { method: 'POST', body }),
  update: (id: string, body: UserUpdate) => request(one(id), UserAccount, { method: 'PATCH', body }),
  resetPassword: (id: string, body: PasswordReset) => request(`${one(id)}/password`, NoContent, { method: 'POST', body }),
  changeOwnPassword: (body: PasswordChange) => request('/api/auth/password', NoContent, { method: 'POST', body }),
};
