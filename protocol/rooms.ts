import { z } from 'zod';

/** Room kinds named in the 2020 notice and the centres' rules (docs/domain in shared/brief). */
export const RoomKind = z.enum([
  'bid_opening', // 开标室
  'evaluation', // 评标室
  'electronic_evaluation', // 电子评标室
  'remote_evaluation', // 远程异地评标室
  'expert_drawing', // 专家抽取室
  'waiting', // 等候室
  'monitoring', // 监控室
  'corridor',
  'hall',
  'other',
]);
export type RoomKind = z.infer<typeof RoomKind>;

export const SessionKind = z.enum(['bid_opening', 'evaluation', 'remote_evaluation']);
export type SessionKind = z.infer<typeof SessionKind>;

/**
 * Who a user is. The first four are the original roles; venue_admin runs one or more venues
 * (county centres), city_supervisor reads every county. Scope (which venues) is users.venue_ids.
 */
export const Role = z.enum(['admin', 'patrol', 'supervisor', 'maintenance', 'venue_admin', 'city_supervisor']);
export type Role = z.infer<typeof Role>;
