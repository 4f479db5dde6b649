import { z } from 'zod';
import { User } from './api.ts';
import { IsoTime, Uuid, VenueId } from './ids.ts';
import { Role } from './rooms.ts';

/**
 * User administration (`/api/users`) and a user's own password (`POST /api/auth/password`). An
 * administrator manages every account; a venue administrator manages the patrol officers,
 * supervisors, technicians and venue administrators of their own venues. Accounts are disabled,
 * never deleted: the ledger and the audit trail name them for years.
 */

export const Username = z.string().trim().regex(/^[a-z0-9][a-z0-9._-]{2,31}$/, 'username: 3–32 lowercase letters, digits, ".", "_" or "-"');
export const NewPassword = z.string().min(10, 'a password of at least 10 characters').max(200, 'a password of at most 200 characters');
const DisplayName = z.string().trim().min(1).max(100).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
/** A venue-scoped account lists its venues; null = the whole city. */
const Scope = z.array(VenueId).min(1, 'name at least one venue, or null for the whole city').max(200).nullable();

export const UserAccount = User.extend({
  disabled: z.boolean(),
  createdAt: IsoTime,
  /** Whether the asking administrator may change this account. */
  canManage: z.boolean(),
});
export type UserAccount = z.infer<typeof UserAccount>;

export const UserAccountList = z.object({ users: z.array(UserAccount) });
export type UserAccountList = z.infer<typeof UserAccountList>;

/** `POST /api/users`: the first password is set by the administrator and handed over in person. */
export const UserCreate = z.strictObject({ username: Username, displayName: DisplayName, role: Role, venueIds: Scope, password: NewPassword });
export type UserCreate = z.infer<typeof UserCreate>;

/** `PATCH /api/users/:id`: any of these; a change of role, venues or state signs the user out everywhere. */
export const UserUpdate = z
  .strictObject({ displayName: DisplayName.optional(), role: Role.optional(), venueIds: Scope.optional(), disabled: z.boolean().optional() })
  .refine((u) => Object.values(u).some((v) => v !== undefined), { message: 'change at least one of displayName, role, venueIds, disabled' });
export type UserUpdate = z.infer<typeof UserUpdate>;

/** `POST /api/users/:id/password`: an administrator sets a new password (the user is signed out everywhere). */
export const PasswordReset = z.strictObject({ password: NewPassword });
export type PasswordReset = z.infer<typeof PasswordReset>;

/** `POST /api/auth/password`: the signed-in user changes their own password. */
export const PasswordChange = z.strictObject({ current: z.string().min(1).max(200), next: NewPassword });
export type PasswordChange = z.infer<typeof PasswordChange>;

export const UserIdParam = Uuid;
