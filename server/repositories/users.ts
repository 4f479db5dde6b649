import { and, asc, eq, gt, isNull, lt, ne } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { authSessions, users, type UserRow } from '../db/schema.ts';

/** Accounts and their login sessions (stored as token hashes, never the token itself). */
export class UserRepository {
  constructor(private readonly db: Database) {}

  async byUsername(username: string): Promise<UserRow | null> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username));
    return row ?? null;
  }

  async count(): Promise<number> {
    const rows = await this.db.select({ id: users.id }).from(users).limit(1);
    return rows.length;
  }

  async create(row: typeof users.$inferInsert): Promise<UserRow> {
    const [created] = await this.db.insert(users).values(row).returning();
    return created!;
  }

  async byId(id: string): Promise<UserRow | null> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id));
    return row ?? null;
  }

  /** Every account, by username: a centre has tens to a few hundred. */
  list(): Promise<UserRow[]> {
    return this.db.select().from(users).orderBy(asc(users.username));
  }

  async update(id: string, set: Partial<Pick<typeof users.$inferInsert, 'displayName' | 'role' | 'venueIds' | 'disabledAt'>>): Promise<UserRow | null> {
    const [row] = await this.db.update(users).set(set).where(eq(users.id, id)).returning();
    return row ?? null;
  }

  /** Signs the user out everywhere: after a change of role, venues, state or password. */
  async deleteSessionsOf(userId: string, exceptTokenHash: string | null = null): Promise<void> {
    await this.db.delete(authSessions).where(and(eq(authSessions.userId, userId), exceptTokenHash ? ne(authSessions.tokenHash, exceptTokenHash) : undefined));
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.db.update(users).set({ passwordHash }).where(eq(users.id, id));
  }

  async createSession(tokenHash: string, userId: string, expiresAt: Date): Promise<void> {
    await this.db.insert(authSessions).values({ tokenHash, userId, expiresAt });
  }

  async userForSession(tokenHash: string, now: Date): Promise<UserRow | null> {
    const [row] = await this.db
      .select({ user: users })
      .from(authSessions)
      .innerJoin(users, eq(authSessions.userId, users.id))
      .where(and(eq(authSessions.tokenHash, tokenHash), gt(authSessions.expiresAt, now), isNull(users.disabledAt)));
    return row?.user ?? null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.delete(authSessions).where(eq(authSessions.tokenHash, tokenHash));
  }

  async deleteExpiredSessions(now: Date): Promise<void> {
    await this.db.delete(authSessions).where(lt(authSessions.expiresAt, now));
  }
}
