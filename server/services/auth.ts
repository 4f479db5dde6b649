import { createHash, randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import type { Logger } from 'pino';
import type { Role, User } from '../../protocol/index.ts';
import type { UserRow } from '../db/schema.ts';
import type { UserRepository } from '../repositories/users.ts';
import { AppError } from './errors.ts';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function toApiUser(row: UserRow): User {
  return { id: row.id, username: row.username, displayName: row.displayName, role: row.role as Role, venueIds: row.venueIds ?? null };
}

const DEMO_ACCOUNTS: Array<{ username: Role; displayName: string }> = [
  { username: 'admin', displayName: 'Administrator' },
  { username: 'patrol', displayName: 'Patrol officer' },
  { username: 'supervisor', displayName: 'Supervisor' },
  { username: 'maintenance', displayName: 'Maintenance technician' },
  { username: 'venue_admin', displayName: 'Venue administrator' },
  { username: 'city_supervisor', displayName: 'City supervisor' },
];

/** Passwords (argon2id) and cookie sessions. The browser holds a random token; the database its hash. */
export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessionHours: number,
    private readonly logger: Logger,
  ) {}

  async createUser(input: { username: string; password: string; displayName: string; role: Role; venueIds?: string[] | null }): Promise<User> {
    const row = await this.users.create({
      id: randomUUID(),
      username: input.username,
      displayName: input.displayName,
      role: input.role,
      venueIds: input.venueIds ?? null,
      passwordHash: await argon2.hash(input.password),
    });
    return toApiUser(row);
  }

  /** The demo's four accounts, one per role: created when missing, password reset when it changed. */
  async ensureDemoAccounts(password: string): Promise<void> {
    for (const account of DEMO_ACCOUNTS) {
      const existing = await this.users.byUsername(account.username);
      if (!existing) {
        await this.createUser({ ...account, role: account.username, password });
        this.logger.info({ username: account.username }, 'created demo account');
      } else if (!(await argon2.verify(existing.passwordHash, password))) {
        await this.users.setPasswordHash(existing.id, await argon2.hash(password));
        this.logger.info({ username: account.username }, 'updated demo account password');
      }
    }
  }

  /**
   * First start: with no account at all (and no demo accounts), creates "admin" with a random
   * password and returns it so the caller prints it once. Null when any account exists.
   */
  async ensureFirstAdmin(): Promise<{ username: string; password: string } | null> {
    if ((await this.users.count()) > 0) return null;
    const password = randomBytes(12).toString('base64url');
    try {
      await this.createUser({ username: 'admin', password, displayName: 'Administrator', role: 'admin', venueIds: null });
    } catch (err) {
      // Another centre on the same database created it first.
      if (await this.users.byUsername('admin')) return null;
      throw err;
    }
    return { username: 'admin', password };
  }

  /** Returns the session token and user, or null when the username or password is wrong. */
  async login(username: string, password: string): Promise<{ token: string; user: User; expiresAt: Date } | null> {
    const row = await this.users.byUsername(username);
    if (!row) return null;
    let ok = false;
    try {
      ok = await argon2.verify(row.passwordHash, password);
    } catch (err) {
      this.logger.warn({ username, err: (err as Error).message }, 'stored password hash unreadable');
    }
    if (!ok) return null;
    // Said only to someone who knows the password: a disabled account is not a wrong password.
    if (row.disabledAt) throw new AppError('forbidden', { en: `the account "${username}" is disabled: ask an administrator to enable it`, zh: `账号“${username}”已停用：请联系管理员启用` });
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.sessionHours * 3600_000);
    await this.users.createSession(hashToken(token), row.id, expiresAt);
    await this.users.deleteExpiredSessions(new Date());
    return { token, user: toApiUser(row), expiresAt };
  }

  async userForToken(token: string): Promise<User | null> {
    const row = await this.users.userForSession(hashToken(token), new Date());
    return row ? toApiUser(row) : null;
  }

  /** The signed-in user's own password: the current one must be right; every other session of theirs ends. */
  async changePassword(user: User, current: string, next: string, keepTokenHash: string | null): Promise<void> {
    const row = await this.users.byId(user.id);
    if (!row || !(await argon2.verify(row.passwordHash, current).catch(() => false))) throw new AppError('forbidden', { en: 'the current password is wrong: type the password you signed in with', zh: '当前密码错误：请输入您登录时使用的密码' });
    if (current === next) throw new AppError('bad_request', { en: 'the new password is the same as the current one: choose another', zh: '新密码与当前密码相同：请换一个' });
    await this.users.setPasswordHash(row.id, await argon2.hash(next));
    // The session that changed it stays signed in: it knew the password.
    await this.users.deleteSessionsOf(row.id, keepTokenHash);
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.users.setPasswordHash(userId, await argon2.hash(password));
    await this.users.deleteSessionsOf(userId);
  }

  async logout(token: string): Promise<void> {
    await this.users.deleteSession(hashToken(token));
  }
}
