import { z } from 'zod';
import { CameraId, IsoTime, RoomId, Uuid, VenueId } from './ids.ts';
import type { Names } from './language.ts';

/**
 * The patrol issue ledger (巡场问题台账): request and answer schemas of `/api/ledger/...`.
 * Columns and flow follow the centres' ledgers (shared/brief/domain.md).
 */

export const SubjectType = z.enum(['expert', 'agency', 'bidder', 'tenderee', 'staff', 'equipment']);
export type SubjectType = z.infer<typeof SubjectType>;
export const SUBJECT_TYPE_NAMES: Names<SubjectType> = {
  expert: { zh: '评审专家', en: 'Evaluation expert' },
  agency: { zh: '招标代理机构', en: 'Bidding agency' },
  bidder: { zh: '投标人', en: 'Bidder' },
  tenderee: { zh: '招标人', en: 'Tenderee' },
  staff: { zh: '工作人员及其他', en: 'Staff and others' },
  equipment: { zh: '设备', en: 'Equipment' },
};

/** found → stopped → reported → handled → published, or closed_unfounded from any open state. */
export const LedgerStatus = z.enum(['found', 'stopped', 'reported', 'handled', 'published', 'closed_unfounded']);
export type LedgerStatus = z.infer<typeof LedgerStatus>;
export const LEDGER_STATUS_NAMES: Names<LedgerStatus> = {
  found: { zh: '已发现', en: 'Found' },
  stopped: { zh: '已制止', en: 'Stopped on site' },
  reported: { zh: '已上报', en: 'Reported' },
  handled: { zh: '已处理', en: 'Handled' },
  published: { zh: '已公示', en: 'Published' },
  closed_unfounded: { zh: '查无实据', en: 'Closed as unfounded' },
};

export const LedgerAction = z.enum(['stop', 'report', 'handle', 'publish', 'close_unfounded']);
export type LedgerAction = z.infer<typeof LedgerAction>;
export const LEDGER_ACTION_NAMES: Names<LedgerAction> = {
  stop: { zh: '现场制止', en: 'Stop on site' },
  report: { zh: '上报监督部门', en: 'Report to the supervising department' },
  handle: { zh: '登记处理结果', en: 'Record the handling result' },
  publish: { zh: '公示', en: 'Publish' },
  close_unfounded: { zh: '查无实据关闭', en: 'Close as unfounded' },
};

/** Which status each action needs and which it leads to: the one table the server and dashboard share. */
export const LEDGER_FLOW: Record<LedgerAction, { from: LedgerStatus[]; to: LedgerStatus }> = {
  stop: { from: ['found'], to: 'stopped' },
  report: { from: ['stopped'], to: 'reported' },
  handle: { from: ['reported'], to: 'handled' },
  publish: { from: ['handled'], to: 'published' },
  close_unfounded: { from: ['found', 'stopped', 'reported'], to: 'closed_unfounded' },
};

/** Text fields: trimmed, bounded, and without NUL (PostgreSQL cannot store it; refuse it clearly instead). */
const noNul = (s: string) => !s.includes('\u0000');
const NUL_MESSAGE = 'must not contain NUL characters';
const text = (max: number) => z.string().trim().max(max).refine(noNul, NUL_MESSAGE);
const required = (max: number) => z.string().trim().min(1).max(max).refine(noNul, NUL_MESSAGE);
const DateOnly = z.iso.date();
/** A code for a category: lowercase letters, digits, "_" or "-". */
export const CategoryCode = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'category code: lowercase letters, digits, "_" or "-"');

export const LedgerCategory = z.object({
  code: CategoryCode,
  subjectType: SubjectType,
  zh: z.string(),
  en: z.string(),
  active: z.boolean(),
});
export type LedgerCategory = z.infer<typeof LedgerCategory>;
export const LedgerCategoryList = z.object({ categories: z.array(LedgerCategory) });
export type LedgerCategoryList = z.infer<typeof LedgerCategoryList>;
export const LedgerCategoryUpsert = z.object({ code: CategoryCode, subjectType: SubjectType, zh: required(100), en: required(100), active: z.boolean().default(true) });
export type LedgerCategoryUpsert = z.infer<typeof LedgerCategoryUpsert>;

/** `POST /api/ledger/entries`. `clientKey` is generated on the tablet per entry: a resend is answered with the first save. */
export const LedgerEntryCreate = z.object({
  clientKey: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'clientKey: 8–64 letters, digits, "_" or "-"'),
  roomId: RoomId,
  /** When it was seen; default now. */
  foundAt: IsoTime.optional(),
  /** Omitted = found from the room and time; null = none. */
  sessionId: Uuid.nullable().optional(),
  subjectType: SubjectType,
  subjectName: text(200).default(''),
  category: CategoryCode,
  description: text(4000).default(''),
});
export type LedgerEntryCreate = z.input<typeof LedgerEntryCreate>;

/** `POST /api/ledger/entries/:id/revisions`: a correction; the fields given replace the current ones. */
export const LedgerEntryCorrection = z
  .object({
    reason: required(500),
    roomId: RoomId.optional(),
    foundAt: IsoTime.optional(),
    sessionId: Uuid.nullable().optional(),
    subjectType: SubjectType.optional(),
    subjectName: text(200).optional(),
    category: CategoryCode.optional(),
    description: text(4000).optional(),
  })
  .refine((c) => Object.keys(c).some((k) => k !== 'reason'), { message: 'a correction must change at least one field' });
export type LedgerEntryCorrection = z.infer<typeof LedgerEntryCorrection>;

/** `POST /api/ledger/entries/:id/transitions`: one flow step with what that step records. */
export const LedgerTransition = z.discriminatedUnion('action', [
  z.object({ action: z.literal('stop'), actionTaken: required(2000) }),
  z.object({ action: z.literal('report'), department: required(200), reportedOn: DateOnly }),
  /** `legalBasis`: the provisions the decision rests on (e.g. 《招标投标法》第五十三条), named on the public notice. */
  z.object({ action: z.literal('handle'), result: required(2000), legalBasis: text(500).default(''), decisionNumber: text(200).default('') }),
  z.object({ action: z.literal('publish'), publishedOn: DateOnly, publishedWhere: required(300) }),
  z.object({ action: z.literal('close_unfounded'), reason: required(2000) }),
]);
export type LedgerTransition = z.input<typeof LedgerTransition>;

export const LedgerStep = z.object({
  action: LedgerAction,
  from: LedgerStatus,
  to: LedgerStatus,
  data: z.record(z.string(), z.string()),
  byId: Uuid,
  byName: z.string(),
  at: IsoTime,
});
export type LedgerStep = z.infer<typeof LedgerStep>;

export const LedgerRevision = z.object({
  revision: z.number().int().positive(),
  reason: z.string(),
  byName: z.string(),
  at: IsoTime,
  /** The entry's fields as they stood in this revision. */
  fields: z.record(z.string(), z.union([z.string(), z.null()])),
});
export type LedgerRevision = z.infer<typeof LedgerRevision>;

export const LedgerFootage = z.object({ cameraId: CameraId, name: z.string(), from: IsoTime, to: IsoTime, playlistUrl: z.string() });
export type LedgerFootage = z.infer<typeof LedgerFootage>;

export const LedgerPhoto = z.object({ id: Uuid, contentType: z.string(), bytes: z.number().int(), url: z.string(), at: IsoTime });
export type LedgerPhoto = z.infer<typeof LedgerPhoto>;

export const LedgerEntry = z.object({
  id: Uuid,
  number: z.string(),
  venueId: VenueId,
  venueName: z.string(),
  roomId: RoomId,
  roomName: z.string(),
  foundAt: IsoTime,
  sessionId: Uuid.nullable(),
  projectCode: z.string().nullable(),
  projectName: z.string().nullable(),
  subjectType: SubjectType,
  subjectName: z.string(),
  category: CategoryCode,
  description: z.string(),
  status: LedgerStatus,
  reporterId: Uuid,
  reporterName: z.string(),
  revision: z.number().int().positive(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;

export const LedgerEntryDetail = z.object({
  entry: LedgerEntry,
  steps: z.array(LedgerStep),
  revisions: z.array(LedgerRevision),
  footage: z.array(LedgerFootage),
  photos: z.array(LedgerPhoto),
  /** Actions the signed-in user may take now. */
  allowedActions: z.array(LedgerAction),
});
export type LedgerEntryDetail = z.infer<typeof LedgerEntryDetail>;

export const LedgerEntryList = z.object({ entries: z.array(LedgerEntry) });
export type LedgerEntryList = z.infer<typeof LedgerEntryList>;

export const LedgerListQuery = z.object({
  venueId: VenueId.optional(),
  status: LedgerStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Answer of the create call: `duplicate` = this clientKey was saved before (nothing new written). */
export const LedgerCreateResponse = z.object({ entry: LedgerEntry, duplicate: z.boolean() });
export type LedgerCreateResponse = z.infer<typeof LedgerCreateResponse>;

/** Photo upload: raw image body, `Content-Type` image/jpeg|png|webp. */
export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

/** The public disclosure (公示): what anyone may read of a published entry. */
export const PublicLedgerEntry = z.object({
  number: z.string(),
  venueName: z.string(),
  foundAt: IsoTime,
  projectCode: z.string().nullable(),
  projectName: z.string().nullable(),
  subjectType: SubjectType,
  subjectName: z.string(),
  category: CategoryCode,
  categoryZh: z.string(),
  categoryEn: z.string(),
  description: z.string(),
  result: z.string(),
  legalBasis: z.string(),
  decisionNumber: z.string(),
  department: z.string(),
  publishedOn: z.string(),
  publishedWhere: z.string(),
});
export type PublicLedgerEntry = z.infer<typeof PublicLedgerEntry>;
export const PublicLedgerList = z.object({ entries: z.array(PublicLedgerEntry) });
export type PublicLedgerList = z.infer<typeof PublicLedgerList>;

export const ledgerRoutes = {
  categories: 'GET /api/ledger/categories',
  upsertCategory: 'PUT /api/ledger/categories/:code',
  list: 'GET /api/ledger/entries?venueId=&status=&limit=',
  create: 'POST /api/ledger/entries',
  detail: 'GET /api/ledger/entries/:id',
  correct: 'POST /api/ledger/entries/:id/revisions',
  transition: 'POST /api/ledger/entries/:id/transitions',
  addPhoto: 'POST /api/ledger/entries/:id/photos',
  photo: 'GET /api/ledger/photos/:id',
  public: 'GET /api/ledger/public',
  openapi: 'GET /api/ledger/openapi.json',
  checklist: 'GET /api/ledger/checklists/:roomId',
  equipmentCheck: 'POST /api/ledger/equipment-checks',
  tickets: 'GET /api/ledger/tickets',
  ticketTransition: 'POST /api/ledger/tickets/:id/transitions',
  quarterly: 'GET /api/ledger/reports/quarterly?year=&quarter=&venueId=&format=json|csv|xlsx',
} as const;

// ---- equipment patrol and maintenance tickets ---------------------------------------------
export const ChecklistItem = z.object({ code: z.string(), perCamera: z.boolean(), zh: z.string(), en: z.string() });
export type ChecklistItem = z.infer<typeof ChecklistItem>;

export const RoomChecklist = z.object({
  roomId: RoomId,
  items: z.array(ChecklistItem),
  cameras: z.array(z.object({ id: CameraId, name: z.string() })),
});
export type RoomChecklist = z.infer<typeof RoomChecklist>;

/** `POST /api/ledger/equipment-checks`: one result per item (and per camera for per-camera items). */
export const EquipmentCheckCreate = z.object({
  roomId: RoomId,
  results: z
    .array(z.object({ item: z.string().regex(/^[a-z0-9_]{1,64}$/), deviceId: CameraId.nullable().default(null), ok: z.boolean(), note: text(1000).default('') }))
    .min(1)
    .max(200),
});
export type EquipmentCheckCreate = z.input<typeof EquipmentCheckCreate>;

export const TicketStatus = z.enum(['open', 'in_progress', 'closed']);
export type TicketStatus = z.infer<typeof TicketStatus>;
export const TICKET_STATUS_NAMES: Names<TicketStatus> = {
  open: { zh: '待处理', en: 'Open' },
  in_progress: { zh: '维修中', en: 'In progress' },
  closed: { zh: '已关闭', en: 'Closed' },
};

export const MaintenanceTicket = z.object({
  id: Uuid,
  venueId: VenueId,
  roomId: RoomId,
  deviceId: CameraId.nullable(),
  checkId: Uuid,
  item: z.string(),
  note: z.string(),
  status: TicketStatus,
  openedAt: IsoTime,
  startedAt: IsoTime.nullable(),
  closedAt: IsoTime.nullable(),
  resolution: z.string().nullable(),
});
export type MaintenanceTicket = z.infer<typeof MaintenanceTicket>;

export const EquipmentCheckResponse = z.object({ checkId: Uuid, tickets: z.array(MaintenanceTicket) });
export type EquipmentCheckResponse = z.infer<typeof EquipmentCheckResponse>;
export const TicketList = z.object({ tickets: z.array(MaintenanceTicket) });
export type TicketList = z.infer<typeof TicketList>;

/** open → in_progress → closed (a ticket may also be closed straight from open). */
export const TicketTransition = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start') }),
  z.object({ action: z.literal('close'), resolution: required(2000) }),
]);
export type TicketTransition = z.input<typeof TicketTransition>;

// ---- quarterly report --------------------------------------------------------------------------
export const QuarterlyReportQuery = z.object({
  year: z.coerce.number().int().min(2000).max(2100),
  quarter: z.coerce.number().int().min(1).max(4),
  /** Omitted = every venue in the user's scope (the city report for city-wide users). */
  venueId: VenueId.optional(),
  format: z.enum(['json', 'csv', 'xlsx']).default('json'),
});
export type QuarterlyReportQuery = z.input<typeof QuarterlyReportQuery>;

const Count = z.object({ key: z.string(), label: z.string(), count: z.number().int() });

export const QuarterlyReport = z.object({
  year: z.number().int(),
  quarter: z.number().int(),
  from: IsoTime,
  to: IsoTime,
  timeZone: z.string(),
  venueIds: z.array(VenueId),
  total: z.number().int(),
  byCategory: z.array(Count),
  bySubjectType: z.array(Count),
  byStatus: z.array(Count),
  /** Median hours from found to the "handled" step, over the entries of the quarter that reached it. */
  medianHoursFoundToHandled: z.number().nullable(),
  handledCount: z.number().int(),
  cameras: z.object({
    /** Cameras now, and of them intact now: the venue box reports no error and no maintenance ticket is open. */
    total: z.number().int(),
    intact: z.number().int(),
    /**
     * The quarter's camera intact rate (0–1): `health_samples` — intact samples ÷ camera samples of
     * the device-health sampling on the quarter's days (online, recording, state ok); `current_state`
     * — a quarter without samples: intact ÷ total now. Null without cameras.
     */
    intactRate: z.number().nullable(),
    basis: z.enum(['health_samples', 'current_state']),
    /** Days of the quarter with health samples. */
    sampledDays: z.number().int(),
    /** Share of per-camera equipment-check results in the quarter that passed, null without checks. */
    checkPassRate: z.number().nullable(),
  }),
});
export type QuarterlyReport = z.infer<typeof QuarterlyReport>;
