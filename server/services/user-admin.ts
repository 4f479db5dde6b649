import type { Logger } from 'pino';
import { ROLE_NAMES, type Role, type User, type UserAccount, type UserAccountList, type UserCreate, type UserUpdate } from '../../protocol/index.ts';
import type { UserRow } from '../db/schema.ts';
import type { UserRepository } from '../repositories/users.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { requireCapability } from './access.ts';
import type { AuditService } from './audit.ts';
import { toApiUser, type AuthService } from './auth.ts';
import { AppError } from './errors.ts';

/** Roles a venue administrator may give: the people who work in a county venue. */
const VENUE_ROLES: readonly Role[] = ['patrol', 'supervisor', 'maintenance', 'venue_admin'];

/**
 * The venue an account's audit rows belong to: an account of one venue is that venue's business,
 * so its administrator and supervisors read them in the trail; an account of several venues or of
 * the whole city stays with the city's readers.
 */
function venueOfAccount(account: { venueIds: string[] | null }): string | null {
  return account.venueIds?.length === 1 ? account.venueIds[0]! : null;
}

/**
 * User administration. A city-wide administrator manages every account; a venue administrator (or
 * an administrator of some venues) manages the accounts scoped to their own venues only, and gives
 * only the roles of a county venue (never admin, never city-wide). Accounts are disabled, not
 * deleted. Every change that narrows what an account may do (role, venues, disabled, password)
 * ends its sessions, so it takes effect at once.
 */
export class UserAdminService {
  constructor(
    private readonly users: UserRepository,
    private readonly venues: VenueRepository,
    private readonly audit: AuditService,
    private readonly auth: Pick<AuthService, 'createUser' | 'setPassword' | 'changePassword'>,
    private readonly logger: Logger,
  ) {}

  async list(actor: User): Promise<UserAccountList> {
    requireCapability(actor, 'user.manage', { en: 'manage user accounts', zh: '管理用户账号' });
    const rows = await this.users.list();
    return { users: rows.filter((r) => actor.venueIds === null || this.within(actor, r.venueIds ?? null)).map((r) => this.toApi(r, actor)) };
  }

  async create(input: UserCreate, actor: User): Promise<UserAccount> {
    requireCapability(actor, 'user.manage', { en: 'create user accounts', zh: '新建用户账号' });
    await this.checkGrant(actor, input.role, input.venueIds);
    if (await this.users.byUsername(input.username)) throw new AppError('conflict', { en: `the username "${input.username}" is taken: choose another`, zh: `用户名“${input.username}”已被占用：请换一个` });
    let row: UserRow;
    try {
      const created = await this.auth.createUser(input);
      row = (await this.users.byId(created.id))!;
    } catch (err) {
      // Two administrators creating the same name at once: the unique index decides.
      if (await this.users.byUsername(input.username)) throw new AppError('conflict', { en: `the username "${input.username}" is taken: choose another`, zh: `用户名“${input.username}”已被占用：请换一个` });
      throw err;
    }
    await this.audit.append({ actorId: actor.id, actor: actor.username, action: 'user.create', venueId: venueOfAccount(row), subjectType: 'user', subjectId: row.id, detail: { username: row.username, role: row.role, venueIds: row.venueIds } });
    this.logger.info({ username: row.username, role: row.role, by: actor.username }, 'user account created');
    return this.toApi(row, actor);
  }

  async update(id: string, patch: UserUpdate, actor: User): Promise<UserAccount> {
    requireCapability(actor, 'user.manage', { en: 'change user accounts', zh: '修改用户账号' });
    const before = await this.managed(id, actor);
    const role = (patch.role ?? before.role) as Role;
    const venueIds = patch.venueIds !== undefined ? patch.venueIds : (before.venueIds ?? null);
    if (patch.role !== undefined || patch.venueIds !== undefined) await this.checkGrant(actor, role, venueIds);
    const disabledAt = patch.disabled === undefined ? before.disabledAt : patch.disabled ? (before.disabledAt ?? new Date()) : null;
    // Any of these takes something away from the account: it must take effect at once.
    const narrowed = role !== before.role || JSON.stringify(venueIds) !== JSON.stringify(before.venueIds ?? null) || (disabledAt !== null && before.disabledAt === null);
    // An administrator cannot lock themselves out: another administrator has to.
    if (before.id === actor.id && narrowed) throw new AppError('forbidden', { en: 'you cannot disable your own account or change your own role or venues: ask another administrator', zh: '不能停用本人账号，也不能修改本人的角色或所属场地：请联系其他管理员' });
    const after = await this.users.update(id, { displayName: patch.displayName ?? before.displayName, role, venueIds, disabledAt });
    if (!after) throw new AppError('not_found', { en: `user ${id} does not exist`, zh: `用户 ${id} 不存在` });
    if (narrowed) await this.users.deleteSessionsOf(id);
    const view = (r: UserRow) => ({ displayName: r.displayName, role: r.role, venueIds: r.venueIds ?? null, disabled: r.disabledAt !== null });
    await this.audit.append({ actorId: actor.id, actor: actor.username, action: 'user.update', venueId: venueOfAccount(after) ?? venueOfAccount(before), subjectType: 'user', subjectId: id, detail: { username: before.username, before: view(before), after: view(after), signedOut: narrowed } });
    this.logger.info({ username: before.username, by: actor.username, signedOut: narrowed }, 'user account changed');
    return this.toApi(after, actor);
  }

  /** An administrator sets a new password (handed over in person); the user is signed out everywhere. */
  async resetPassword(id: string, password: string, actor: User): Promise<void> {
    requireCapability(actor, 'user.manage', { en: 'reset passwords', zh: '重置密码' });
    const row = await this.managed(id, actor);
    await this.auth.setPassword(row.id, password);
    await this.audit.append({ actorId: actor.id, actor: actor.username, action: 'user.password_reset', venueId: venueOfAccount(row), subjectType: 'user', subjectId: id, detail: { username: row.username } });
  }

  /** The signed-in user's own password (any role); the session that changed it stays signed in. */
  async changeOwnPassword(actor: User, current: string, next: string, keepTokenHash: string | null): Promise<void> {
    await this.auth.changePassword(actor, current, next, keepTokenHash);
    await this.audit.append({ actorId: actor.id, actor: actor.username, action: 'user.password_change', venueId: venueOfAccount(actor), subjectType: 'user', subjectId: actor.id });
  }

  /** An account the actor may change; others are as unknown as missing ones. */
  private async managed(id: string, actor: User): Promise<UserRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.users.byId(id) : null;
    if (!row || !this.canManage(actor, row)) throw new AppError('not_found', { en: `user ${id} does not exist`, zh: `用户 ${id} 不存在` });
    return row;
  }

  /** Only a city-wide administrator manages every account; anyone else, the county roles within their venues. */
  private canManage(actor: User, row: UserRow): boolean {
    if (actor.role === 'admin' && actor.venueIds === null) return true;
    return VENUE_ROLES.includes(row.role as Role) && this.within(actor, row.venueIds ?? null);
  }

  /** A venue-scoped actor sees and manages only accounts scoped inside their own venues. */
  private within(actor: User, venueIds: string[] | null): boolean {
    return actor.venueIds === null || (venueIds !== null && venueIds.every((v) => actor.venueIds!.includes(v)));
  }

  /**
   * What the actor may give: a city-wide administrator anything; everyone else (a venue
   * administrator, or an administrator of some venues) the county roles within their own venues.
   */
  private async checkGrant(actor: User, role: Role, venueIds: string[] | null): Promise<void> {
    if (!(actor.role === 'admin' && actor.venueIds === null)) {
      if (!VENUE_ROLES.includes(role)) {
        throw new AppError('forbidden', {
          en: `a ${actor.role} account${actor.venueIds ? ' of some venues' : ''} cannot give the role ${role}: ask a city-wide administrator`,
          zh: `${actor.venueIds ? '部分场地的' : ''}${ROLE_NAMES[actor.role].zh}账号不能授予“${ROLE_NAMES[role].zh}”角色：请联系全市范围的系统管理员`,
        });
      }
      if (venueIds === null) throw new AppError('forbidden', { en: 'only a city-wide administrator can give access to the whole city: name venues of your own', zh: '只有全市范围的系统管理员可以授予全市权限：请选择您所属的场地' });
      if (!this.within(actor, venueIds)) throw new AppError('forbidden', { en: `you can only give access to your own venues (${actor.venueIds?.join(', ')})`, zh: `只能授予您所属场地的权限（${actor.venueIds?.join('、')}）` });
    }
    if (venueIds !== null) {
      const known = new Set((await this.venues.listVenues(venueIds)).map((v) => v.id));
      const unknown = venueIds.filter((v) => !known.has(v));
      if (unknown.length) throw new AppError('bad_request', { en: `unknown venue ${unknown.join(', ')}: GET /api/venues lists the venues`, zh: `场地不存在：${unknown.join('、')}，请从场地列表中选择` });
    }
  }

  private toApi(row: UserRow, actor: User): UserAccount {
    return { ...toApiUser(row), disabled: row.disabledAt !== null, createdAt: row.createdAt.toISOString(), canManage: this.canManage(actor, row) };
  }
}
