import { z } from 'zod';
import { CameraId, IsoTime, RoomId, Sha256Hex, Uuid, VenueId } from './ids.ts';
import { RoomKind } from './rooms.ts';
import { BoxHealth, CameraHealth, SensorHealth } from './health.ts';
import { RoomEvent } from './room-events.ts';
import { GapRecord } from './gaps.ts';
import { AlarmBody } from './alarms.ts';
import { FootageManifest } from './manifest.ts';

/**
 * Every MQTT payload is JSON with this envelope. `id` lets the receiver drop the duplicates that
 * QoS 1 and the agent's outbox may deliver; `venueId` must match the topic's venue.
 */
const envelope = {
  v: z.literal(1),
  id: Uuid,
  venueId: VenueId,
  sentAt: IsoTime,
};

export const AgentStatus = z.object({
  ...envelope,
  type: z.literal('status'),
  online: z.boolean(),
  agentVersion: z.string().max(64),
  startedAt: IsoTime.optional(),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

export const RoomInfo = z.object({
  id: RoomId,
  name: z.string().min(1).max(200),
  kind: RoomKind,
});
export type RoomInfo = z.infer<typeof RoomInfo>;

export const CameraInfo = z.object({
  id: CameraId,
  roomId: RoomId.nullable(),
  name: z.string().min(1).max(200),
  /** ONVIF endpoint reference (urn:uuid:…): the camera's identity across IP changes. */
  endpoint: z.string().max(200).nullable(),
  manufacturer: z.string().max(200).nullable(),
  model: z.string().max(200).nullable(),
  serial: z.string().max(200).nullable(),
  firmware: z.string().max(200).nullable(),
  /** ONVIF device service address, e.g. http://10.1.2.3/onvif/device_service. */
  xaddr: z.string().max(500).nullable(),
  /** Stream URI without credentials. */
  streamUri: z.string().max(500).nullable(),
  /** Codecs of the recording as ffmpeg names them ("h264", "hevc"; "aac"), read from its segments. Video is
   * the camera's own (stream copy); audio is always recorded as AAC, so audioCodec says whether the
   * camera sends audio at all; null until the first segment. */
  videoCodec: z.string().max(32).nullable(),
  audioCodec: z.string().max(32).nullable(),
  recording: z.boolean(),
  lastError: z.string().max(1000).nullable(),
});
export type CameraInfo = z.infer<typeof CameraInfo>;

export const VenueInventory = z.object({
  ...envelope,
  type: z.literal('inventory'),
  venue: z.object({ id: VenueId, name: z.string().min(1).max(200) }),
  rooms: z.array(RoomInfo).max(500),
  cameras: z.array(CameraInfo).max(2000),
});
export type VenueInventory = z.infer<typeof VenueInventory>;

/** One recorded HLS segment as catalogued at the venue. Times are wall-clock (the box's NTP clock). */
export const SegmentRecord = z
  .object({
    id: Uuid,
    cameraId: CameraId,
    /** One recorder run: timestamps are continuous within a run, so a new run is a discontinuity. */
    runId: Uuid,
    start: IsoTime,
    end: IsoTime,
    bytes: z.number().int().positive().max(512 * 1024 * 1024),
    sha256: Sha256Hex,
    hasAudio: z.boolean(),
    /** Issue 5: hash of the camera's previous record (hash chain, see protocol/integrity.ts). */
    prevHash: Sha256Hex.optional(),
  })
  .refine((s) => Date.parse(s.end) > Date.parse(s.start), { message: 'segment end must be after its start', path: ['end'] });
export type SegmentRecord = z.infer<typeof SegmentRecord>;

export const SegmentBatch = z.object({
  ...envelope,
  type: z.literal('segments'),
  segments: z.array(SegmentRecord).min(1).max(1000),
});
export type SegmentBatch = z.infer<typeof SegmentBatch>;

/**
 * Centre → venue: the time windows whose footage the centre wants as soon as it is recorded, and
 * which the venue must therefore never loop away (each window is also a hold): a bid session with
 * its pre- and post-roll, a patrol ledger entry's room ± N minutes, or a manual hold.
 * `to: null` means open-ended.
 */
export const HoldReason = z.enum(['session', 'ledger', 'manual']);
export type HoldReason = z.infer<typeof HoldReason>;

export const UploadWindow = z.object({
  roomId: RoomId,
  from: IsoTime,
  to: IsoTime.nullable(),
  reason: HoldReason,
  /** The bid session, ledger entry or manual hold that owns the window. */
  ownerId: Uuid,
});
export type UploadWindow = z.infer<typeof UploadWindow>;

export const UploadWindows = z.object({
  ...envelope,
  type: z.literal('windows'),
  windows: z.array(UploadWindow).max(5000),
});
export type UploadWindows = z.infer<typeof UploadWindows>;

/** Edge → centre, retained: the health of the box and of every camera and sensor it watches. */
export const HealthReport = z.object({
  ...envelope,
  type: z.literal('health'),
  box: BoxHealth,
  cameras: z.array(CameraHealth).max(2000),
  sensors: z.array(SensorHealth).max(5000),
});
export type HealthReport = z.infer<typeof HealthReport>;

/** Edge → centre through the outbox (QoS 1): room events from cameras, sensors and the box. */
export const RoomEventBatch = z.object({
  ...envelope,
  type: z.literal('events'),
  events: z.array(RoomEvent).min(1).max(500),
});
export type RoomEventBatch = z.infer<typeof RoomEventBatch>;

/** Centre → venue box: a command, answered on the replies topic with the same correlation id. */
export const BoxCommandName = z.enum(['rescan', 'snapshot', 'restart_recorder', 'reload_settings']);
export type BoxCommandName = z.infer<typeof BoxCommandName>;

export const BoxCommand = z.object({
  ...envelope,
  type: z.literal('commands'),
  correlationId: Uuid,
  command: BoxCommandName,
  /** snapshot and restart_recorder name a camera of the venue. */
  cameraId: CameraId.optional(),
  /** A command arriving later (the box was offline) is refused, not run late. */
  expiresAt: IsoTime,
});
export type BoxCommand = z.infer<typeof BoxCommand>;

export const CommandReply = z.object({
  ...envelope,
  type: z.literal('replies'),
  correlationId: Uuid,
  command: BoxCommandName,
  ok: z.boolean(),
  message: z.string().max(1000),
  /** snapshot: the JPEG, base64. */
  jpegBase64: z.string().max(700_000).optional(),
});
export type CommandReply = z.infer<typeof CommandReply>;

/** Edge → centre: recording gaps (with their cause) as the venue box opened and closed them. */
export const GapBatch = z.object({
  ...envelope,
  type: z.literal('gaps'),
  gaps: z.array(GapRecord).min(1).max(1000),
});
export type GapBatch = z.infer<typeof GapBatch>;

/** Edge → centre: an alarm raised or cleared at the venue box (e.g. disk full of held footage). */
export const AgentAlarm = z.object({
  ...envelope,
  type: z.literal('alarm'),
  ...AlarmBody.shape,
});
export type AgentAlarm = z.infer<typeof AgentAlarm>;

/** Edge → centre: a signed hour manifest of one camera (verified by the centre on receipt). */
export const ManifestMessage = z.object({
  ...envelope,
  type: z.literal('manifest'),
  manifest: FootageManifest,
});
export type ManifestMessage = z.infer<typeof ManifestMessage>;

/**
 * Centre → venue (issue 5): upload one camera's footage of a time range now, because a user asked
 * to watch footage the centre does not hold. Not retained; a box that is offline cannot be asked.
 */
export const FetchCommand = z.object({
  ...envelope,
  type: z.literal('commands'),
  command: z.literal('fetch'),
  requestId: Uuid,
  cameraId: CameraId,
  from: IsoTime,
  to: IsoTime,
});
export type FetchCommand = z.infer<typeof FetchCommand>;

/**
 * Centre → venue (live view): push this camera's newest segments to the centre's live buffer for
 * `leaseSeconds` from receipt (a relative lease: box and centre clocks may differ). The centre
 * renews the lease while someone watches; `leaseSeconds: 0` stops at once. Not retained.
 */
export const LiveCommand = z.object({
  ...envelope,
  type: z.literal('commands'),
  command: z.literal('live'),
  cameraId: CameraId,
  leaseSeconds: z.number().min(0).max(3600),
});
export type LiveCommand = z.infer<typeof LiveCommand>;

/** Everything the centre may send on a venue's commands topic. */
export const VenueCommand = z.union([BoxCommand, FetchCommand, LiveCommand]);
export type VenueCommand = z.infer<typeof VenueCommand>;

export const messageSchemas = {
  status: AgentStatus,
  inventory: VenueInventory,
  segments: SegmentBatch,
  windows: UploadWindows,
  health: HealthReport,
  events: RoomEventBatch,
  commands: VenueCommand,
  replies: CommandReply,
  gaps: GapBatch,
  alarm: AgentAlarm,
  manifest: ManifestMessage,
} as const;

export type MessageOf<K extends keyof typeof messageSchemas> = z.infer<(typeof messageSchemas)[K]>;

/** The largest payload either side accepts; a bigger one is refused before parsing. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export type DecodeResult<T> = { ok: true; message: T } | { ok: false; error: string };

/**
 * Parses and validates one payload for a topic kind; the error names the first bad field so the
 * log line tells the operator which device sent what.
 */
export function decodeMessage<K extends keyof typeof messageSchemas>(
  kind: K,
  topicVenueId: string,
  payload: Buffer | string,
): DecodeResult<MessageOf<K>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_MESSAGE_BYTES) return { ok: false, error: `payload of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  const parsed = messageSchemas[kind].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  const message = parsed.data as MessageOf<K>;
  if (message.venueId !== topicVenueId) {
    return { ok: false, error: `message claims venue "${message.venueId}" on a topic of venue "${topicVenueId}"` };
  }
  return { ok: true, message };
}

/** Omit over each member of a union (the commands topic carries more than one message shape). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function encodeMessage<K extends keyof typeof messageSchemas>(
  kind: K,
  body: DistributiveOmit<MessageOf<K>, 'v' | 'id' | 'sentAt' | 'type'> & { id?: string; sentAt?: string },
): MessageOf<K> {
  const { id, sentAt, ...rest } = body;
  const message = { v: 1, type: kind, id: id ?? crypto.randomUUID(), sentAt: sentAt ?? new Date().toISOString(), ...rest };
  // Validate on the way out too: a bug in the sender must not become a message the centre drops.
  return messageSchemas[kind].parse(message) as MessageOf<K>;
}
