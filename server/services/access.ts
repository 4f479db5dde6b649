import type { LedgerAction, Role, User } from '../../protocol/index.ts';
import { AppError } from './errors.ts';

/**
 * Who may do what, in one place. Scope: users.venue_ids lists the venues (counties) a user works
 * in; null = the whole city. Every read and write is checked against the scope of the venue it
 * concerns; a thing outside the scope answers "not found" on reads so ids cannot be probed.
 */

export type Scoped = Pick<User, 'venueIds'>;

export function canSeeVenue(user: Scoped, venueId: string): boolean {
  return user.venueIds === null || user.venueIds.includes(venueId);
}

export type Capability =
  | 'session.create'
  | 'session.precheck'
  | 'device.command'
  | 'device.acknowledge'
  | 'sensor.assign'
  | 'ledger.create'
  | 'ledger.correct'
  | 'ledger.categories'
  | 'export.request'
  | 'export.decide'
  | 'user.manage'
  | `ledger.${LedgerAction}`;

/** Roles allowed each capability. city_supervisor reads every county and changes nothing. */
export const CAPABILITIES: Record<Capability, readonly Role[]> = {
  'session.create': ['admin', 'supervisor', 'venue_admin'],
  // The pre-session check and its alerts concern maintenance and patrol (issue 3).
  'session.precheck': ['admin', 'maintenance', 'patrol', 'supervisor', 'venue_admin'],
  'device.command': ['admin', 'maintenance', 'venue_admin'],
  'device.acknowledge': ['admin', 'maintenance', 'patrol', 'supervisor', 'venue_admin'],
  'sensor.assign': ['admin', 'maintenance', 'venue_admin'],
  'ledger.create': ['admin', 'patrol', 'supervisor', 'venue_admin'],
  'ledger.correct': ['admin', 'patrol', 'supervisor', 'venue_admin'],
  'ledger.categories': ['admin'],
  'ledger.stop': ['admin', 'patrol', 'supervisor', 'venue_admin'],
  'ledger.report': ['admin', 'supervisor', 'venue_admin'],
  'ledger.handle': ['admin', 'supervisor', 'venue_admin'],
  'ledger.publish': ['admin', 'supervisor', 'venue_admin'],
  'ledger.close_unfounded': ['admin', 'supervisor', 'venue_admin'],
  // Copying footage out (domain.md): asked for with a purpose by those who work the sessions and the
  // ledger, decided by a supervisor or an administrator — never by the one who asked (checked in the service).
  'export.request': ['admin', 'patrol', 'supervisor', 'venue_admin'],
  'export.decide': ['admin', 'supervisor', 'venue_admin'],
  // A venue administrator manages only their own venues' accounts, with county roles (checked in the service).
  'user.manage': ['admin', 'venue_admin'],
};

export function can(user: Pick<User, 'role'>, capability: Capability): boolean {
  return CAPABILITIES[capability].includes(user.role);
}

export function requireCapability(user: Pick<User, 'role'>, capability: Capability, doing: string): void {
  if (!can(user, capability)) {
    const roles = CAPABILITIES[capability].join(', ');
    throw new AppError('forbidden', `a ${user.role} account cannot ${doing}: ask someone with the role ${roles}`);
  }
}
