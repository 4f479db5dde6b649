import { z } from 'zod';
import { IsoTime, Uuid, VenueId } from './ids.ts';

/**
 * The audit trail as its readers see it (GET /api/audit): who watched, exported, changed the
 * ledger, signed in or managed accounts, newest first, a page at a time. A venue's staff see their
 * venues' rows (an account of one venue is that venue's); rows of no venue (sign-ins, city and
 * multi-venue accounts, the category list) only city-wide readers.
 */
export const AuditQuery = z
  .object({
    venueId: VenueId.optional(),
    /** An action ("footage.export") or its group ("footage"). */
    action: z.string().regex(/^[a-z_]+(\.[a-z_]+)?$/, 'an action such as footage.export, or a group such as footage').optional(),
    /** Username of whoever acted, exactly. */
    actor: z.string().min(1).max(64).optional(),
    subjectType: z.string().min(1).max(32).optional(),
    subjectId: z.string().min(1).max(200).optional(),
    /**
     * Rows about one bid session: its room's footage watched (playlists of a range that overlaps
     * the session with its pre/post roll, live view during it), exports of such a range, and its
     * ledger entries.
     */
    sessionId: Uuid.optional(),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    /** Rows older than this sequence number: the next page (`nextBefore` of the last). */
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['from'] })
  .refine((q) => !q.subjectId || q.subjectType, { message: 'subjectId needs subjectType', path: ['subjectId'] });
export type AuditQuery = z.infer<typeof AuditQuery>;
/** What a client sends (limit may be left out). */
export type AuditQueryInput = z.input<typeof AuditQuery>;

export const AuditEntry = z.object({
  seq: z.number().int().positive(),
  at: IsoTime,
  actor: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  venueId: z.string().nullable(),
  subjectType: z.string(),
  subjectId: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditList = z.object({
  entries: z.array(AuditEntry),
  /** Pass as `before` for the next (older) page; null when this was the last. */
  nextBefore: z.number().int().positive().nullable(),
});
export type AuditList = z.infer<typeof AuditList>;

/** The whole chain walked at the centre: every row links to the one before and matches its hash. */
export const AuditChainCheck = z.object({
  ok: z.boolean(),
  rows: z.number().int().nonnegative(),
  firstBad: z.object({ seq: z.number().int().positive(), reason: z.string() }).nullable(),
  checkedAt: IsoTime,
});
export type AuditChainCheck = z.infer<typeof AuditChainCheck>;
