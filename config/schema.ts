import { z } from 'zod';
import { RoomKind, VenueId } from '../protocol/index.ts';

/**
 * Every setting of the two programs. Objects are strict so a misspelt key stops start-up with its
 * name instead of being ignored; defaults live in defaults.json beside this file.
 */
const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const Port = z.number().int().min(0).max(65535);
/** PEM certificate and key files (HTTPS, MQTT over TLS). */
const TlsFiles = z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) });
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
    /** The embedded broker speaks MQTT over TLS (mqtts://) with these files; null = plain MQTT. */
    tls: TlsFiles.nullable(),
    /** CA (PEM) to trust for an mqtts:// broker with a private certificate (also used for the embedded one). */
    caFile: z.string().min(1).nullable(),
  }),
  /** HTTPS for the API and dashboard with these files; null = plain HTTP (behind a TLS proxy). */
  tls: TlsFiles.nullable(),
  /** Venue boxes allowed to connect: each authenticates with its venue id and token. */
  agents: z.array(z.strictObject({ venueId: VenueId, token: z.string().min(16, 'at least 16 characters') })),
  sessions: z.strictObject({
    preRollMinutes: z.number().min(0).max(240),
    postRollMinutes: z.number().min(0).max(240),
    gapThresholdSeconds: z.number().min(0).max(600),
    /**
     * How late a venue's footage may reach the centre (segment length, cataloguing, outbox, upload of
     * the index). While a session runs, a stretch at its end no longer than the gap threshold plus
     * this is footage on its way, not a gap, unless the venue has reported a gap there.
     */
    reportLagSeconds: z.number().min(0).max(600),
  }),
  auth: z.strictObject({
    sessionHours: z.number().min(0.1).max(24 * 30),
    /** Failed logins per username (and per client address) within the window before logins are refused. */
    maxFailedLogins: z.number().int().min(1).max(1000).default(5),
    lockoutMinutes: z.number().min(0.01).max(24 * 60).default(15),
  }),
  /** The patrol issue ledger (巡场问题台账). */
  ledger: z
    .strictObject({
      /** Footage attached to an entry: the room's cameras from N minutes before to N minutes after. */
      footageMinutesBefore: z.number().min(0).max(240).default(5),
      footageMinutesAfter: z.number().min(0).max(240).default(5),
      /** Entry numbers run per venue and per year in this time zone (2026-0001 …). */
      timeZone: z.string().min(1).default('Asia/Shanghai'),
      /** Largest photo accepted after the tablet resized it. */
      maxPhotoBytes: z.number().int().min(10_000).max(50 * 1024 * 1024).default(3 * 1024 * 1024),
      /** The public disclosure page hides personal names (subject names and reporters). */
      redactNames: z.boolean().default(true),
    })
    .default({ footageMinutesBefore: 5, footageMinutesAfter: 5, timeZone: 'Asia/Shanghai', maxPhotoBytes: 3 * 1024 * 1024, redactNames: true }),
  /** Footage export requests (调取录像申请): copying footage out takes a request that someone else approves. */
  exports: z
    .strictObject({
      /** Local rule: an export needs another person's approval. Off = a request is approved as it is made (still recorded with its purpose). */
      requireApproval: z.boolean().default(true),
      /** Days an approved request stays downloadable. */
      validDays: z.number().min(0.01).max(365).default(7),
      /** Longest room-and-time-range request, hours (a session's window is whatever it was booked for). */
      maxRangeHours: z.number().min(0.1).max(24 * 31).default(24),
    })
    .default({ requireApproval: true, validDays: 7, maxRangeHours: 24 }),
  demo: z.strictObject({ accounts: z.boolean(), password: z.string().min(8).nullable() }),
  dashboardDir: z.string().min(1),
  deviceHealth: z.strictObject({
    /** Width of one history bucket (downsampling). */
    historyBucketMinutes: z.number().min(0.05).max(24 * 60),
    /** How often the camera intact rate (摄像机完好率) is sampled. */
    intactSampleSeconds: z.number().min(0.5).max(3600),
    historyDays: z.number().int().min(1).max(3650),
  }),
  preSessionCheck: z.strictObject({
    /** How long before a session's planned start its room is checked. */
    minutesBefore: z.number().min(1).max(24 * 60),
    /** How often the centre looks for sessions due for their check. */
    intervalSeconds: z.number().min(0.5).max(3600),
    /** Audio is part of the record (拾音器): a camera without audio fails the check. */
    requireAudio: z.boolean(),
  }),
  /** Live view through the centre (docs/live-view.md). */
  live: z.strictObject({
    /** Nobody fetched the live playlist or a segment for this long: the box is told to stop. */
    idleSeconds: z.number().min(1).max(3600),
    /** Segments in the sliding live playlist. */
    playlistSegments: z.number().int().min(2).max(30),
    /** How long the first playlist request waits for the box's first segment before answering 503 "starting". */
    startWaitSeconds: z.number().min(0).max(60),
  }),
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
    /** Multicast probes per discovery run: a lost UDP packet is covered by the next round. */
    probeRounds: z.number().int().min(1).max(10),
    /** Cameras on other subnets: GetSystemDateAndTime to every host of small CIDR ranges. */
    unicast: z.strictObject({
      /** "10.1.2.0/24" or a single address; at most 1024 addresses per range. */
      ranges: z.array(z.string().min(1)).max(64),
      ports: z.array(Port.min(1)).min(1).max(8),
      concurrency: z.number().int().min(1).max(256),
      timeoutMs: z.number().int().min(100).max(30_000),
    }),
  }),
  centre: z.strictObject({ url: z.url(), token: z.string() }),
  mqtt: z.strictObject({
    url: z.string().regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL'),
    /** The broker declares the box gone (last will) after 1.5 × this: 10 s keeps it under 30 s. */
    keepaliveSeconds: z.number().int().min(2).max(60),
    /** CA (PEM) to trust for mqtts:// with a private certificate. (HTTPS to the centre: NODE_EXTRA_CA_CERTS.) */
    caFile: z.string().min(1).nullable(),
  }),
  dataDir: z.string().min(1),
  health: z.strictObject({
    /** How often the retained health report is refreshed (also sent on every change). */
    intervalSeconds: z.number().min(0.5).max(600),
    /** Camera clock offset above which a clock-drift state is raised. */
    clockDriftMs: z.number().int().min(100).max(3_600_000),
    /** GetSystemDateAndTime on first contact and then this often. */
    clockCheckMinutes: z.number().min(0.05).max(24 * 60),
    /** Prometheus /metrics listener; port 0 = any free port (tests). */
    metrics: z.strictObject({ host: z.string().min(1), port: Port }),
  }),
  /** Passwords in these settings may be "enc:v1:…" (AES-256-GCM under this box's key file). */
  credentials: z.strictObject({ keyFile: z.string().min(1).nullable() }),
  events: z.strictObject({
    /** Subscribe to ONVIF events (PullPoint) of cameras that offer them: motion, tamper, video loss. */
    camera: z.boolean(),
  }),
  /** Room sensors on the venue's own MQTT broker (Zigbee2MQTT, Home Assistant discovery, native). */
  sensors: z.strictObject({
    /** mqtt://… of the venue's sensor broker; null = no room sensors. May be the centre's broker in tests. */
    brokerUrl: z.string().regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL').nullable(),
    username: z.string().nullable(),
    password: z.string().nullable(),
    zigbee2mqttPrefix: z.string().min(1).max(100),
    homeAssistantPrefix: z.string().min(1).max(100),
    nativePrefix: z.string().min(1).max(100),
    /** A sensor silent this long is shown offline. */
    offlineAfterSeconds: z.number().min(5).max(7 * 86_400),
  }),
  recording: z.strictObject({
    segmentSeconds: z.number().min(1).max(4),
    restartDelayMs: z.number().int().min(100).max(300_000),
    rtspTransport: z.enum(['tcp', 'udp']),
    /**
     * How often each run's playlist is read for finished segments (default: once a catalogue
     * commit, on its tick, but at least every 10 s, while the playlist still lists every segment
     * since the last read; twice a second while someone watches the camera live).
     */
    catalogueIntervalMs: z.number().int().min(50).max(10_000).optional(),
    /** Segments a run holds back to settle its clock correction (default 3; 1 = first segment at once). */
    clockAnchorSegments: z.number().int().min(1).max(10).optional(),
    /**
     * How often new segments are committed to the catalogue and announced to the centre, in one
     * transaction and one message for all cameras (default: every three segment durations, 6 s).
     * The watchdog goes by when segments were written, whatever this is.
     */
    catalogueCommitSeconds: z.number().int().min(1).max(60).optional(),
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
