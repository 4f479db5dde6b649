import { z } from 'zod';
import { CameraId, DeviceId, IsoTime, RoomId, Uuid, VenueId } from './ids.ts';
import type { Names } from './language.ts';

/**
 * Health of every device of a venue: its cameras, room sensors and the venue box itself. The box
 * publishes one retained report per venue (topic `health`); the centre keeps the current state,
 * a downsampled history and the alerts, and serves them to the dashboard.
 */

/** Why a camera is or is not usable. "auth_failed" is a state to fix, never a reason to hammer the camera. */
export const CameraState = z.enum(['ok', 'starting', 'auth_failed', 'unreachable', 'no_stream', 'clock_drift', 'error', 'unknown']);
export type CameraState = z.infer<typeof CameraState>;

export const CameraHealth = z.object({
  id: CameraId,
  roomId: RoomId.nullable(),
  name: z.string().max(200),
  online: z.boolean(),
  state: CameraState,
  recording: z.boolean(),
  fps: z.number().min(0).max(1000).nullable(),
  bitrateKbps: z.number().min(0).max(1_000_000).nullable(),
  /** Seconds since the end of the last recorded segment; null = never recorded. */
  lastSegmentAgeSeconds: z.number().min(0).nullable(),
  reconnectsLastHour: z.number().int().min(0),
  /** Camera clock minus the box clock (GetSystemDateAndTime); null = not measured yet. */
  clockOffsetMs: z.number().nullable(),
  hasAudio: z.boolean().nullable(),
  lastError: z.string().max(1000).nullable(),
});
export type CameraHealth = z.infer<typeof CameraHealth>;

export const SensorKind = z.enum(['door', 'occupancy', 'noise', 'shielding', 'access', 'temperature', 'humidity', 'power', 'other']);
export type SensorKind = z.infer<typeof SensorKind>;

export const SensorHealth = z.object({
  id: DeviceId,
  roomId: RoomId.nullable(),
  name: z.string().max(200),
  kind: SensorKind,
  online: z.boolean(),
  lastSeen: IsoTime.nullable(),
  /** Percent. */
  battery: z.number().min(0).max(100).nullable(),
  /** Zigbee link quality 0–255 (or the source's own scale). */
  linkQuality: z.number().min(0).max(1000).nullable(),
  /** Last reported value, as the source gave it (door open, 23.5 °C, …). */
  value: z.union([z.string().max(200), z.number(), z.boolean()]).nullable(),
});
export type SensorHealth = z.infer<typeof SensorHealth>;

export const BoxHealth = z.object({
  /** Whole-machine CPU use over the last interval, 0–100. */
  cpuPercent: z.number().min(0).max(100),
  memoryUsedBytes: z.number().min(0),
  memoryTotalBytes: z.number().min(0),
  diskFreeBytes: z.number().min(0),
  diskTotalBytes: z.number().min(0),
  /** Footage written per day at the current rate (last hour × 24). */
  recordingBytesPerDay: z.number().min(0),
  /** Days of recording the free disk still holds at that rate; null when nothing records. */
  forecastDays: z.number().min(0).nullable(),
  brokerConnected: z.boolean(),
  outboxDepth: z.number().int().min(0),
  uptimeSeconds: z.number().min(0),
  agentVersion: z.string().max(64),
});
export type BoxHealth = z.infer<typeof BoxHealth>;

// ---- centre API ---------------------------------------------------------------------------

export const DeviceKind = z.enum(['camera', 'sensor', 'box']);
export type DeviceKind = z.infer<typeof DeviceKind>;
export const DEVICE_KIND_NAMES: Names<DeviceKind> = {
  camera: { zh: '摄像机', en: 'camera' },
  sensor: { zh: '传感器', en: 'sensor' },
  box: { zh: '现场主机', en: 'venue box' },
};

/** One device as the health board shows it. A box's id is its venue id. */
export const DeviceHealthEntry = z.object({
  id: z.string(),
  venueId: VenueId,
  roomId: RoomId.nullable(),
  kind: DeviceKind,
  name: z.string(),
  online: z.boolean(),
  /** camera: CameraState; sensor/box: "ok" | "offline". */
  state: z.string(),
  updatedAt: IsoTime,
  camera: CameraHealth.nullable(),
  sensor: SensorHealth.nullable(),
  box: BoxHealth.nullable(),
});
export type DeviceHealthEntry = z.infer<typeof DeviceHealthEntry>;

export const VenueHealth = z.object({
  id: VenueId,
  name: z.string(),
  online: z.boolean(),
  lastSeen: IsoTime.nullable(),
  rooms: z.array(z.object({ id: RoomId, name: z.string() })),
  /** Today's camera intact rate (摄像机完好率), 0–1; null before the first sample. */
  intactRateToday: z.number().min(0).max(1).nullable(),
});
export type VenueHealth = z.infer<typeof VenueHealth>;

export const DeviceList = z.object({ venues: z.array(VenueHealth), devices: z.array(DeviceHealthEntry) });
export type DeviceList = z.infer<typeof DeviceList>;

export const DeviceHistoryPoint = z.object({
  at: IsoTime,
  /** Share of samples in the bucket the device was online, 0–1. */
  online: z.number().min(0).max(1),
  fps: z.number().nullable(),
  bitrateKbps: z.number().nullable(),
  clockOffsetMs: z.number().nullable(),
  lastSegmentAgeSeconds: z.number().nullable(),
});
export type DeviceHistoryPoint = z.infer<typeof DeviceHistoryPoint>;

export const DeviceHistory = z.object({ deviceId: z.string(), bucketMinutes: z.number(), points: z.array(DeviceHistoryPoint) });
export type DeviceHistory = z.infer<typeof DeviceHistory>;

export const AlertKind = z.enum(['device_offline', 'box_offline', 'auth_failed', 'clock_drift', 'not_recording', 'camera_event', 'pre_session_check']);
export type AlertKind = z.infer<typeof AlertKind>;

export const Alert = z.object({
  id: Uuid,
  venueId: VenueId,
  deviceId: z.string(),
  roomId: RoomId.nullable(),
  kind: AlertKind,
  message: z.string(),
  /** The same in Chinese, for the dashboard's default language; null on alerts older than it. */
  messageZh: z.string().nullable(),
  raisedAt: IsoTime,
  /** When the condition went away (device back); null = still present. */
  clearedAt: IsoTime.nullable(),
  acknowledgedAt: IsoTime.nullable(),
  acknowledgedBy: z.string().nullable(),
});
export type Alert = z.infer<typeof Alert>;

export const AlertList = z.object({ alerts: z.array(Alert) });
export type AlertList = z.infer<typeof AlertList>;

export const DailyIntactRate = z.object({ venueId: VenueId, day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), rate: z.number().min(0).max(1), samples: z.number().int() });
export type DailyIntactRate = z.infer<typeof DailyIntactRate>;

/** Server-sent events on GET /api/devices/events: `event: device` / `event: alert`, data = JSON. */
export const DEVICE_EVENTS_PATH = '/api/devices/events';
