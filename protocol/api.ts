import { z } from 'zod';
import { CameraId, IsoTime, RoomId, Sha256Hex, Uuid, VenueId } from './ids.ts';
import { Role, RoomKind, SessionKind } from './rooms.ts';
import { SegmentRecord } from './messages.ts';
import { FoundGapCause, GapKind } from './gaps.ts';

/**
 * The centre's HTTP API. Request bodies are schemas (validated by the server, reused by the
 * dashboard's forms); responses are schemas too so tests and the dashboard share one shape.
 * Every error is `{ error: { code, message } }` with a message a person can act on.
 */

export const ErrorCode = z.enum([
  'bad_request',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'integrity_failed',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ApiError = z.object({ error: z.object({ code: ErrorCode, message: z.string() }) });
export type ApiError = z.infer<typeof ApiError>;

// ---- health -------------------------------------------------------------------------------
export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.object({ ok: z.boolean(), kind: z.enum(['pglite', 'postgres']), error: z.string().optional() }),
  broker: z.object({ ok: z.boolean(), kind: z.enum(['embedded', 'external']), url: z.string() }),
  venues: z.array(z.object({ id: VenueId, name: z.string(), online: z.boolean(), lastSeen: IsoTime.nullable() })),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

// ---- auth ---------------------------------------------------------------------------------
export const LoginRequest = z.object({
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(200),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const User = z.object({
  id: Uuid,
  username: z.string(),
  displayName: z.string(),
  role: Role,
  /** Venues the user may see; null = every venue (city level). */
  venueIds: z.array(VenueId).nullable(),
});
export type User = z.infer<typeof User>;

export const LoginResponse = z.object({
  user: User,
  /** Double-submit token: send it back as the CSRF_HEADER on every state-changing request (also in the CSRF_COOKIE). */
  csrfToken: z.string().optional(),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

export const SESSION_COOKIE = 'vw_session';
/** Readable by the dashboard's script (not httpOnly); its value must come back in CSRF_HEADER. */
export const CSRF_COOKIE = 'vw_csrf';
export const CSRF_HEADER = 'x-csrf-token';

// ---- venues, rooms, cameras -----------------------------------------------------------------
export const CameraSummary = z.object({
  id: CameraId,
  name: z.string(),
  roomId: RoomId.nullable(),
  online: z.boolean(),
  recording: z.boolean(),
  videoCodec: z.string().nullable(),
  audioCodec: z.string().nullable(),
  lastSegmentEnd: IsoTime.nullable(),
  lastError: z.string().nullable(),
});
export type CameraSummary = z.infer<typeof CameraSummary>;

export const RoomSummary = z.object({ id: RoomId, name: z.string(), kind: RoomKind });
export type RoomSummary = z.infer<typeof RoomSummary>;

export const Venue = z.object({
  id: VenueId,
  name: z.string(),
  online: z.boolean(),
  lastSeen: IsoTime.nullable(),
  rooms: z.array(RoomSummary),
  cameras: z.array(CameraSummary),
});
export type Venue = z.infer<typeof Venue>;

export const VenueList = z.object({ venues: z.array(Venue) });
export type VenueList = z.infer<typeof VenueList>;

// ---- bid sessions ---------------------------------------------------------------------------
export const SessionCreate = z
  .object({
    projectCode: z.string().trim().min(1).max(100),
    projectName: z.string().trim().min(1).max(300),
    kind: SessionKind,
    roomId: RoomId,
    plannedStart: IsoTime,
    plannedEnd: IsoTime,
    /**
     * A room already booked for an overlapping time refuses the booking (409) unless this is true:
     * the room is shared on purpose (e.g. lots of one project evaluated together).
     */
    allowOverlap: z.boolean().default(false),
  })
  .refine((s) => Date.parse(s.plannedEnd) > Date.parse(s.plannedStart), {
    message: 'plannedEnd must be after plannedStart',
    path: ['plannedEnd'],
  });
/** As sent; `allowOverlap` may be left out. */
export type SessionCreate = z.input<typeof SessionCreate>;

export const SessionStatus = z.enum(['scheduled', 'in_progress', 'ended']);
export type SessionStatus = z.infer<typeof SessionStatus>;

export const BidSession = z.object({
  id: Uuid,
  projectCode: z.string(),
  projectName: z.string(),
  kind: SessionKind,
  venueId: VenueId,
  venueName: z.string(),
  roomId: RoomId,
  roomName: z.string(),
  plannedStart: IsoTime,
  plannedEnd: IsoTime,
  status: SessionStatus,
  createdAt: IsoTime,
});
export type BidSession = z.infer<typeof BidSession>;

/**
 * `GET /api/sessions?from=&to=&venueId=&limit=`: the sessions whose planned time overlaps
 * [from, to) (either bound may be left out), newest first, at most `limit`. A centre books
 * thousands of sessions a year, so the list is always bounded; `truncated` says there were more,
 * to be narrowed down by dates or venue.
 */
export const SessionListQuery = z
  .object({
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    venueId: VenueId.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.to) > Date.parse(q.from), { message: '"from" must be before "to"', path: ['from'] });
export type SessionListQuery = z.input<typeof SessionListQuery>;
/** The query as the centre reads it (limit filled in). */
export type SessionListFilter = z.output<typeof SessionListQuery>;

export const SessionList = z.object({ sessions: z.array(BidSession), truncated: z.boolean() });
export type SessionList = z.infer<typeof SessionList>;

export const TimeRange = z.object({ from: IsoTime, to: IsoTime });
export type TimeRange = z.infer<typeof TimeRange>;

export const SessionCamera = z.object({
  cameraId: CameraId,
  name: z.string(),
  /** Seconds of the session so far (planned start to the earlier of planned end and now). */
  expectedSeconds: z.number(),
  /** Seconds of that window covered by segments the venue recorded. */
  recordedSeconds: z.number(),
  /** Seconds of that window the centre holds and can play. */
  storedSeconds: z.number(),
  /**
   * Stretches of the window longer than the gap threshold with no recorded footage (kind video),
   * and stretches the venue reported without sound (kind audio). `cause` is the venue box's
   * reason, or `before_first_footage` (see FoundGapCause); null while the box has not reported one yet. `ongoing`: the box reports the gap still
   * open (the camera is down now); its `to` is then the end of the window (now).
   */
  gaps: z.array(TimeRange.extend({ kind: GapKind.optional(), cause: FoundGapCause.nullable().optional(), ongoing: z.boolean().optional() })),
  playlistUrl: z.string(),
});
export type SessionCamera = z.infer<typeof SessionCamera>;

export const SessionDetail = z.object({ session: BidSession, cameras: z.array(SessionCamera) });
export type SessionDetail = z.infer<typeof SessionDetail>;

// ---- playback -------------------------------------------------------------------------------
export const VodQuery = z
  .object({ from: IsoTime, to: IsoTime })
  .refine((q) => Date.parse(q.to) > Date.parse(q.from), { message: '"from" must be before "to"', path: ['from'] });
export type VodQuery = z.infer<typeof VodQuery>;

// ---- ingest (venue box → centre) ----------------------------------------------------------
/** Header carrying the segment's catalogue record (JSON) on `PUT /api/ingest/segments/:id`. */
export const SEGMENT_META_HEADER = 'x-vw-segment';
export const IngestSegmentMeta = SegmentRecord;
export const IngestSegmentResponse = z.object({
  id: Uuid,
  stored: z.literal(true),
  duplicate: z.boolean(),
  /** Issue 5: the SHA-256 the centre computed over the bytes it holds; the box keeps its copy until this matches. */
  sha256: Sha256Hex.optional(),
});
export type IngestSegmentResponse = z.infer<typeof IngestSegmentResponse>;

/**
 * Issue 5: resumable uploads, by byte range (the shape of Google Cloud Storage's resumable uploads
 * and of tus, on plain HTTP). Every request about a segment carries its record in `x-vw-segment`.
 * - `GET /api/ingest/segments/:id/upload` → `IngestUploadStatus`: how many bytes the centre holds.
 * - `PUT /api/ingest/segments/:id` with `Content-Range: bytes a-b/total` appends bytes a..b
 *   (a must equal the offset): 202 + `IngestUploadStatus` while bytes are missing, 201 +
 *   `IngestSegmentResponse` when the last byte arrived and the whole file's SHA-256 matched (422
 *   and the partial is deleted when it did not: start again from 0), 200 for a segment already
 *   stored (nothing is stored twice), 409 + `IngestUploadConflict` when a is not the offset.
 * - A PUT without Content-Range is the whole file from byte 0 (it replaces any partial).
 */
export const IngestUploadStatus = z.object({
  id: Uuid,
  /** Bytes of the segment the centre holds; the next Content-Range starts here (= bytes once complete). */
  offset: z.number().int().nonnegative(),
  /** The segment's size, from its record. */
  bytes: z.number().int().positive(),
  /** Stored and checked: nothing more to send. */
  complete: z.boolean(),
  /** When complete: the SHA-256 the centre checked over the stored file. */
  sha256: Sha256Hex.optional(),
});
export type IngestUploadStatus = z.infer<typeof IngestUploadStatus>;

/** 409 to a PUT whose range does not start at the centre's offset: resume from `upload.offset`. */
export const IngestUploadConflict = ApiError.extend({ upload: IngestUploadStatus });
export type IngestUploadConflict = z.infer<typeof IngestUploadConflict>;

/** `Content-Range: bytes first-last/total` (RFC 9110 §14.4) of one chunk; the bounds are inclusive. */
export const ContentRange = z
  .string()
  .trim()
  .regex(/^bytes \d{1,12}-\d{1,12}\/\d{1,12}$/, 'Content-Range must be "bytes first-last/total" with inclusive byte positions')
  .transform((v) => {
    const [first, last, total] = v.slice(6).split(/[-/]/).map(Number) as [number, number, number];
    return { first, last, total };
  })
  .refine((r) => r.first <= r.last && r.last < r.total, { message: 'Content-Range needs first <= last < total' });
export type ContentRange = z.infer<typeof ContentRange>;
export const formatContentRange = (r: ContentRange): string => `bytes ${r.first}-${r.last}/${r.total}`;

/**
 * Issue 5: after an outage the box asks which of the segments it uploaded the centre really holds
 * (stored, same SHA-256, file present); the missing ones are uploaded again.
 */
export const ReconcileRequest = z.object({ segments: z.array(z.object({ id: Uuid, sha256: Sha256Hex })).min(1).max(5000) });
export type ReconcileRequest = z.infer<typeof ReconcileRequest>;
export const ReconcileResponse = z.object({ missing: z.array(Uuid) });
export type ReconcileResponse = z.infer<typeof ReconcileResponse>;

/**
 * Issue 5: footage of a camera over a range, as the player needs to know it. `stored`: the centre
 * holds every recorded second; `at_venue`: some is only at the venue (POST …/fetch asks for it); `fetching`: the venue box was asked to upload the rest; `venue_offline`:
 * the box cannot be reached, so what the centre lacks cannot be fetched now; `not_recorded`: the
 * venue recorded nothing in the range.
 */
export const FootageStatus = z.object({
  status: z.enum(['stored', 'at_venue', 'fetching', 'venue_offline', 'not_recorded']),
  recordedSeconds: z.number(),
  storedSeconds: z.number(),
  message: z.string(),
});
export type FootageStatus = z.infer<typeof FootageStatus>;

/** Everything the API serves, for the docs and the route table. */
export const apiRoutes = {
  health: 'GET /api/health',
  login: 'POST /api/auth/login',
  logout: 'POST /api/auth/logout',
  me: 'GET /api/auth/me',
  venues: 'GET /api/venues',
  sessions: 'GET /api/sessions?from=&to=&venueId=&limit=',
  createSession: 'POST /api/sessions',
  session: 'GET /api/sessions/:id',
  sessionExport: 'GET /api/sessions/:id/export',
  vod: 'GET /api/cameras/:id/vod.m3u8?from=&to=',
  segment: 'GET /api/footage/segments/:id.ts',
  ingestSegment: 'PUT /api/ingest/segments/:id',
  ingestUploadStatus: 'GET /api/ingest/segments/:id/upload',
  ingestReconcile: 'POST /api/ingest/reconcile',
  footageStatus: 'GET /api/cameras/:id/footage-status?from=&to=',
  fetchFootage: 'POST /api/cameras/:id/fetch?from=&to=',
} as const;
