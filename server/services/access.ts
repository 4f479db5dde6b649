import { can, CAPABILITIES, type Capability, type Role, type User } from '../../protocol/index.ts';
import { AppError, type UserText } from './errors.ts';

export { can, type Capability };

/**
 * Who may do what: roles from the one table in protocol/access.ts, venues here. Scope: users.venue_ids lists the venues (counties) a user works
 * in; null = the whole city. Every read and write is checked against the scope of the venue it
 * concerns; a thing outside the scope answers "not found" on reads so ids cannot be probed.
 */

export type Scoped = Pick<User, 'venueIds'>;

export function canSeeVenue(user: Scoped, venueId: string): boolean {
  return user.venueIds === null || user.venueIds.includes(venueId);
}

/** The roles as the dashboard names them (dashboard/src/i18n/zh-CN.ts `roles`), for Chinese refusals. */
export const ROLE_ZH: Record<Role, string> = {
  admin: '系统管理员',
  patrol: '巡场人员',
  supervisor: '监督人员',
  maintenance: '运维人员',
  venue_admin: '场地管理员',
  city_supervisor: '市级监督人员',
};

export function requireCapability(user: Pick<User, 'role'>, capability: Capability, doing: UserText): void {
  if (!can(user, capability)) {
    const roles = CAPABILITIES[capability].join(', ');
    const rolesZh = CAPABILITIES[capability].map((r) => ROLE_ZH[r]).join('、');
    throw new AppError('forbidden', {
      en: `a ${user.role} account cannot ${doing.en}: ask someone with the role ${roles}`,
      zh: `${ROLE_ZH[user.role]}账号无权${doing.zh}：请联系${rolesZh}办理`,
    });
  }
}
