import type { LedgerAction } from './ledger.ts';
import { Role } from './rooms.ts';
import type { Names } from './language.ts';

/**
 * Who may do what, in one table the centre enforces (server/services/access.ts) and the dashboard
 * reads to offer only the buttons a role may press. Venue scope is checked by the centre per
 * request; this table is about roles only.
 */

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
  | 'equipment.check'
  | 'ticket.work'
  | 'audit.read'
  | 'audit.verify'
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
  'equipment.check': ['admin', 'patrol', 'maintenance', 'supervisor', 'venue_admin'],
  'ticket.work': ['admin', 'maintenance', 'venue_admin'],
  // The audit trail is read by those who answer for the venues (within their scope, in the service);
  // walking the whole chain reads every venue's rows, so only city-wide readers may (also checked there).
  'audit.read': ['admin', 'supervisor', 'venue_admin', 'city_supervisor'],
  'audit.verify': ['admin', 'city_supervisor'],
};

export function can(user: { role: Role }, capability: Capability): boolean {
  return CAPABILITIES[capability].includes(user.role);
}


/**
 * Each role's name as people read it: the dashboard's translations take them from here, and the
 * centre names roles in its Chinese refusals with the same words.
 */
export const ROLE_NAMES: Names<Role> = {
  admin: { zh: '系统管理员', en: 'Administrator' },
  patrol: { zh: '巡场人员', en: 'Patrol officer' },
  supervisor: { zh: '监督人员', en: 'Supervisor' },
  maintenance: { zh: '运维人员', en: 'Maintenance' },
  venue_admin: { zh: '场地管理员', en: 'Venue administrator' },
  city_supervisor: { zh: '市级监督人员', en: 'City supervisor' },
};
