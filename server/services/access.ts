import { can, CAPABILITIES, ROLE_NAMES, type Capability, type User } from '../../protocol/index.ts';
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

export function requireCapability(user: Pick<User, 'role'>, capability: Capability, doing: UserText): void {
  if (!can(user, capability)) {
    const roles = CAPABILITIES[capability].join(', ');
    const rolesZh = CAPABILITIES[capability].map((r) => ROLE_NAMES[r].zh).join('、');
    throw new AppError('forbidden', {
      en: `a ${user.role} account cannot ${doing.en}: ask someone with the role ${roles}`,
      zh: `${ROLE_NAMES[user.role].zh}账号无权${doing.zh}：请联系${rolesZh}办理`,
    });
  }
}
