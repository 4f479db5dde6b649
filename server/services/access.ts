import { can, CAPABILITIES, type Capability, type User } from '../../protocol/index.ts';
import { AppError } from './errors.ts';

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

export function requireCapability(user: Pick<User, 'role'>, capability: Capability, doing: string): void {
  if (!can(user, capability)) {
    const roles = CAPABILITIES[capability].join(', ');
    throw new AppError('forbidden', `a ${user.role} account cannot ${doing}: ask someone with the role ${roles}`);
  }
}
