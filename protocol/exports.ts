import { z } from 'zod';
import { BidSession, SessionCamera } from './api.ts';
import { IsoTime, RoomId, Uuid, VenueId } from './ids.ts';
import type { Names } from './language.ts';

/**
 * Footage export requests (调取录像申请): copying footage out of VenueWatch takes a request that says
 * why, approved by someone else, before its requester can download the evidence package
 * (shared/brief/domain.md: "Copying footage out needs a request that someone approves… Every export
 * is recorded: who, what, when, why"). A request names a bid session (its rooms' cameras, pre- and
 * post-roll included) or a room and a time range (an incident in a hall, a ledger entry's footage).
 */

export const ExportStatus = z.enum(['pending', 'approved', 'rejected', 'withdrawn']);
export type ExportStatus = z.infer<typeof ExportStatus>;
/** Also "expired": an approved request past its expiresAt, as the dashboard shows it. */
export const EXPORT_STATUS_NAMES: Names<ExportStatus | 'expired'> = {
  pending: { zh: '待审批', en: 'Pending' },
  approved: { zh: '已批准', en: 'Approved' },
  rejected: { zh: '已驳回', en: 'Refused' },
  withdrawn: { zh: '已撤回', en: 'Withdrawn' },
  expired: { zh: '已过期', en: 'Expired' },
};

const noNul = (s: string) => !s.includes('\u0000');
const purpose = z.string().trim().min(4, 'say why the footage is needed (at least 4 characters)').max(500).refine(noNul, 'must not contain NUL characters');

/** `POST /api/exports`: `{purpose, sessionId}` for a bid session or `{purpose, roomId, from, to}` for a room and time range. */
export const ExportRequestCreate = z
  .strictObject({ purpose, sessionId: Uuid.optional(), roomId: RoomId.optional(), from: IsoTime.optional(), to: IsoTime.optional() })
  .superRefine((r, ctx) => {
    const range = r.roomId !== undefined || r.from !== undefined || r.to !== undefined;
    if (r.sessionId !== undefined && range) ctx.addIssue({ code: 'custom', message: 'name either a session (sessionId) or a room and time range (roomId, from, to), not both', path: ['sessionId'] });
    else if (r.sessionId === undefined && (r.roomId === undefined || r.from === undefined || r.to === undefined))
      ctx.addIssue({ code: 'custom', message: 'name a session (sessionId) or a room and time range (roomId, from and to)', path: [r.roomId === undefined ? 'roomId' : r.from === undefined ? 'from' : 'to'] });
    else if (r.from !== undefined && r.to !== undefined && Date.parse(r.to) <= Date.parse(r.from)) ctx.addIssue({ code: 'custom', message: '"from" must be before "to"', path: ['from'] });
  });
export type ExportRequestCreate = z.infer<typeof ExportRequestCreate>;

/** `POST /api/exports/:id/decision`. A refusal says why. */
export const ExportDecision = z
  .strictObject({ approve: z.boolean(), note: z.string().trim().max(500).refine(noNul, 'must not contain NUL characters').default('') })
  .refine((d) => d.approve || d.note.length > 0, { message: 'a refusal needs a note saying why', path: ['note'] });
/** As sent (note optional) and as read (note filled in). */
export type ExportDecisionInput = z.input<typeof ExportDecision>;
export type ExportDecision = z.output<typeof ExportDecision>;

export const ExportRequest = z.object({
  id: Uuid,
  venueId: VenueId,
  venueName: z.string(),
  roomId: RoomId,
  roomName: z.string(),
  /** The session asked for; null for a room and time range. */
  sessionId: Uuid.nullable(),
  projectCode: z.string().nullable(),
  projectName: z.string().nullable(),
  /** The footage window (a session's includes its pre- and post-roll). */
  from: IsoTime,
  to: IsoTime,
  purpose: z.string(),
  status: ExportStatus,
  requestedBy: z.string(),
  requestedAt: IsoTime,
  decidedBy: z.string().nullable(),
  decidedAt: IsoTime.nullable(),
  decisionNote: z.string().nullable(),
  /** Until when an approved request can be downloaded. */
  expiresAt: IsoTime.nullable(),
  downloads: z.number().int(),
  /** What the asking user may do with it now. */
  canDecide: z.boolean(),
  canWithdraw: z.boolean(),
  canDownload: z.boolean(),
});
export type ExportRequest = z.infer<typeof ExportRequest>;

export const ExportRequestList = z.object({ requests: z.array(ExportRequest) });
export type ExportRequestList = z.infer<typeof ExportRequestList>;

/** `GET /api/exports/:id`: the request and what the centre holds of its window, camera by camera. */
export const ExportRequestDetail = z.object({
  request: ExportRequest,
  session: BidSession.nullable(),
  cameras: z.array(SessionCamera),
});
export type ExportRequestDetail = z.infer<typeof ExportRequestDetail>;
