import { z } from 'zod';
import { RoomKind, VenueId } from '../protocol/index.ts';

/**
 * Every setting of the two programs. Objects are strict so a misspelt key stops start-up with its
 * name instead of being ignored; defaults live in defaults.json beside this file.
 */
const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const Port = z.number().int().min(0).max(65535);
const LocalCode = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits or "-"');

export const ServerConfig = z.strictObject({
  host: z.string().min(1),
  port: Port,
  dataDir: z.string().min(1),
  /** postgres://… for a PostgreSQL server; null = embedded PGlite under <dataDir>/db. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').nullable(),
  /** Footage store folder; null = <dataDir>/footage. */
  footageDir: z.string().min(1).nullable(),
  mqtt: z.strictObject({
    /** mqtt://… of Mosquitto or EMQX; null = an embedded broker listening on embeddedPort. */
    url: z.string().regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL').nullable(),
    embeddedPort: Port,
  }),
  /** Venue boxes allowed to connect: each authenticates with its venue id and token. */
  agents: z.array(z.strictObject({ venueId: VenueId, token: z.string().min(16, 'at least 16 characters') })),
  sessions: z.strictObject({
    preRollMinutes: z.number().min(0).max(240),
    postRollMinutes: z.number().min(0).max(240),
    gapThresholdSeconds: z.number().min(0).max(600),
  }),
  auth: z.strictObject({ sessionHours: z.number().min(0.1).max(24 * 30) }),
  demo: z.strictObject({ accounts: z.boolean(), password: z.string().min(8).nullable() }),
  dashboardDir: z.string().min(1),
  logLevel: LogLevel,
});
export type ServerConfig = z.infer<typeof ServerConfig>;

export const EdgeAgentConfig = z.strictObject({
  venue: z.strictObject({ id: VenueId, name: z.string().min(1) }),
  rooms: z.array(z.strictObject({ code: LocalCode, name: z.string().min(1), kind: RoomKind })),
  /** Cameras known by address; discovered cameras not listed here are recorded unassigned. */
  cameras: z.array(
    z.strictObject({
      code: LocalCode,
      name: z.string().min(1),
      room: LocalCode.nullable(),
      /** ONVIF device service URL, or host:port. */
      address: z.string().min(1),
      username: z.string().optional(),
      password: z.string().optional(),
    }),
  ),
  defaultCredentials: z.strictObject({ username: z.string(), password: z.string() }),
  discovery: z.strictObject({
    enabled: z.boolean(),
    /** Network interfaces to probe on (the camera LAN); empty = the system's default. */
    interfaces: z.array(z.string().min(1)),
    timeoutMs: z.number().int().min(100).max(60_000),
    intervalMinutes: z.number().min(0.1).max(24 * 60),
  }),
  centre: z.strictObject({ url: z.url(), token: z.string() }),
  mqtt: z.strictObject({ url: z.string().regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL') }),
  dataDir: z.string().min(1),
  recording: z.strictObject({
    segmentSeconds: z.number().min(1).max(4),
    restartDelayMs: z.number().int().min(100).max(300_000),
    rtspTransport: z.enum(['tcp', 'udp']),
  }),
  upload: z.strictObject({
    concurrency: z.number().int().min(1).max(16),
    retryDelayMs: z.number().int().min(100).max(600_000),
  }),
  /** Recording continuity (issue 5): watchdog, restart backoff, what counts as a gap. */
  continuity: z.strictObject({
    /** A recorder with no new segment for this long is restarted. */
    watchdogSeconds: z.number().min(1).max(600),
    /** Ceiling of the restart backoff (restarts begin at recording.restartDelayMs and double). */
    maxRestartDelayMs: z.number().int().min(100).max(300_000),
    /** Missing footage longer than this becomes a gap row with its cause. */
    gapThresholdSeconds: z.number().min(0).max(600),
  }),
  /** Retention with holds (issue 5): rolling window, disk watermark, how often to check. */
  retention: z.strictObject({
    /** Unheld footage older than this is removed. */
    windowDays: z.number().positive().max(3650),
    /** Free space on the data disk below this removes the oldest unheld footage first. */
    minFreeMB: z.number().min(0),
    /** Recording of paused rooms resumes once free space is this much above the watermark. */
    resumeMarginMB: z.number().min(0),
    checkSeconds: z.number().min(0.2).max(3600),
  }),
  /** Footage transfer to the centre (issue 5): bandwidth cap (0 = none), reconcile period. */
  footageTransfer: z.strictObject({
    maxBytesPerSecond: z.number().int().min(0),
    reconcileSeconds: z.number().min(1).max(86_400),
  }),
  /** Integrity (issue 5): how much footage one signed manifest covers (an hour by default). */
  integrity: z.strictObject({ manifestPeriodSeconds: z.number().int().min(2).max(86_400) }),
  logLevel: LogLevel,
});
export type EdgeAgentConfig = z.infer<typeof EdgeAgentConfig>;
