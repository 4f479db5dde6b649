import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { EdgeAgentConfig } from '../config/schema.ts';
import { deviceId, type CameraHealth, type CameraInfo, type RoomInfo, type UploadWindow } from '../protocol/index.ts';
import { Catalogue } from './catalogue/catalogue.ts';
import { GapTracker } from './continuity/gap-tracker.ts';
import { HoldBook } from './retention/holds.ts';
import { Retention } from './retention/retention.ts';
import { loadOrCreateAgentKey } from './integrity/agent-key.ts';
import { ManifestSigner } from './integrity/manifest-signer.ts';
import { SegmentChain } from './integrity/segment-chain.ts';
import { catalogueCommitMs, SegmentIntake } from './catalogue/segment-intake.ts';
import { Reconciler } from './upload/reconciler.ts';
import { discoverCameras, describeConfigured, type FoundCamera } from './discovery/discovery.ts';
import { CameraEventSubscriber } from './events/camera-events.ts';
import { RoomEventSender } from './events/room-event-sender.ts';
import { parseDeviceAddress } from './discovery/onvif-device.ts';
import { CameraHealthTracker } from './health/camera-health.ts';
import { SensorHub } from './sensors/sensor-hub.ts';
import { runCommand } from './commands/command-handler.ts';
import { grabSnapshot } from './recorder/snapshot.ts';
import { resolveSecrets } from './credentials/credential-store.ts';
import { HealthReporter } from './health/health-reporter.ts';
import { AGENT_VERSION, MqttLink } from './link/mqtt-link.ts';
import { CameraRecorder } from './recorder/camera-recorder.ts';
import { catalogueOrphanFootage } from './recorder/orphan-footage.ts';
import { reapOrphanRecorders } from './recorder/orphan-recorders.ts';
import { Uploader } from './upload/uploader.ts';
import { LivePusher } from './live/live-pusher.ts';
import { everyTick } from './schedule/shared-tick.ts';

/**
 * The venue box: finds the cameras, records each one continuously, catalogues every segment,
 * tells the centre what it has over MQTT, and uploads the footage the centre asks for.
 */

export interface AgentOptions {
  logger?: Logger;
  /** How often configured cameras that failed are tried again (default 30 s). */
  retryFailedMs?: number;
  /** Re-reads the settings for the reload_settings command (main.ts: the config file again). */
  reloadConfig?: () => EdgeAgentConfig;
}

interface CameraState {
  found: FoundCamera;
  info: CameraInfo;
  recorder: CameraRecorder | null;
}

export interface Agent {
  readonly config: EdgeAgentConfig;
  readonly catalogue: Catalogue;
  readonly link: MqttLink;
  readonly uploader: Uploader;
  readonly logger: Logger;
  /** Recording gaps with their causes (issue 5). */
  readonly gaps: GapTracker;
  /** Holds (centre windows + local manual holds) and disk retention (issue 5). */
  readonly holds: HoldBook;
  readonly retention: Retention;
  /** Hash chain and signed period manifests (issue 5). */
  readonly manifests: ManifestSigner;
  /** Compares uploaded footage with the centre after outages (issue 5). */
  readonly reconciler: Reconciler;
  /** Live view: pushes watched cameras' new segments to the centre. */
  readonly live: LivePusher;
  /** Every camera the agent knows, as it tells the centre. */
  cameras(): CameraInfo[];
  /** Recorder of a camera (tests read its ffmpeg arguments). */
  recorder(cameraId: string): CameraRecorder | null;
  rooms(): RoomInfo[];
  /** Health of every camera as the box sees it (also published retained on the health topic). */
  cameraHealth(): CameraHealth[];
  readonly health: HealthReporter;
  /** Room events (camera ONVIF events, clock drift) on their way to the centre through the outbox. */
  readonly roomEvents: RoomEventSender;
  /** Room sensors on the venue's own broker (null when sensors.brokerUrl is not set). */
  readonly sensors: SensorHub | null;
  /** Runs discovery now (it also runs at start and every discovery.intervalMinutes). */
  discover(): Promise<void>;
  /** Graceful: ffmpeg stopped with SIGINT (playlists closed, last segments catalogued), offline status, catalogue closed. */
  stop(): Promise<void>;
}

export async function startAgent(settings: EdgeAgentConfig, options: AgentOptions = {}): Promise<Agent> {
  const logger = (options.logger ?? pino({ level: settings.logLevel })).child({ venueId: settings.venue.id });
  // Encrypted passwords are opened here, in memory only.
  const config = resolveSecrets(settings, logger);
  const dataDir = resolve(config.dataDir);
  const catalogue = new Catalogue(join(dataDir, 'catalogue.db'));
  const recordingsDir = join(dataDir, 'recordings');
  await reapOrphanRecorders(recordingsDir, logger);
  const chain = new SegmentChain(catalogue);
  // What those recorders wrote is footage too: chain and catalogue it before the gap tracker dates
  // the agent's downtime from the last catalogued segment.
  await catalogueOrphanFootage({ recordingsDir, catalogue, add: (s) => chain.append(s).added, logger });
  const startedAt = new Date().toISOString();
  const gaps = new GapTracker({ catalogue, venueId: config.venue.id, thresholdSeconds: config.continuity.gapThresholdSeconds, logger });
  // Before any recorder: the time the agent was down is dated from the catalogue as it was left.
  gaps.start(Date.parse(startedAt));
  const states = new Map<string, CameraState>();
  let stopped = false;

  const roomIds = new Set(config.rooms.map((r) => deviceId(config.venue.id, r.code)));
  for (const c of config.cameras) {
    if (c.room && !roomIds.has(deviceId(config.venue.id, c.room))) {
      logger.warn({ camera: c.code, room: c.room }, 'camera names a room that is not in rooms: add the room or fix the camera');
    }
  }
  const rooms = (): RoomInfo[] => config.rooms.map((r) => ({ id: deviceId(config.venue.id, r.code), name: r.name, kind: r.kind }));
  const cameras = (): CameraInfo[] => [...states.values()].map((s) => s.info);

  const tracker = new CameraHealthTracker({
    clockDriftMs: config.health.clockDriftMs,
    // Two stall periods of the recorder without a segment: not recording.
    staleSegmentMs: Math.max(20_000, config.recording.segmentSeconds * 8_000),
  });
  let inventoryTimer: NodeJS.Timeout | null = null;
  const inventoryChanged = (): void => {
    health.changed();
    if (inventoryTimer || stopped) return;
    // Codec, recording and error changes come in bursts: one inventory per burst.
    inventoryTimer = setTimeout(() => {
      inventoryTimer = null;
      link.publishInventory();
    }, 300);
  };

  const uploader = new Uploader({ config, catalogue, logger });
  const reconciler = new Reconciler({ config, catalogue, logger, windows: () => uploader.currentWindows(), onRequeued: () => uploader.kick() });
  const manifests = new ManifestSigner({
    catalogue,
    key: loadOrCreateAgentKey(dataDir),
    venueId: config.venue.id,
    recordingsDir,
    periodSeconds: config.integrity.manifestPeriodSeconds,
    // A period's last segment is catalogued about one segment after it ends; leave room for a restart.
    graceMs: config.recording.segmentSeconds * 3000 + 2000,
    logger,
  });
  const holds = new HoldBook(catalogue);
  // The windows saved from the last run hold footage from the first moment (not audited again).
  holds.setWindows(uploader.currentWindows(), false);
  const retention = new Retention({
    config,
    catalogue,
    holds,
    logger,
    diskPath: dataDir,
    cameras: () => [...states.values()].map((s) => ({ cameraId: s.info.id, roomId: s.info.roomId, recorder: s.recorder })),
    onPaused: (cameraId, reason) => gaps.noteFailure(cameraId, { cause: 'disk_full', detail: reason }),
  });
  const live = new LivePusher({
    centreUrl: config.centre.url,
    token: config.centre.token,
    logger: logger.child({ component: 'live' }),
    onLeaseChange: (cameraId, active) => states.get(cameraId)?.recorder?.setLive(active),
  });
  const intake = new SegmentIntake({
    chain,
    onAdded: () => uploader.kick(),
  });
  const link = new MqttLink({
    config,
    catalogue,
    intake,
    logger,
    startedAt,
    inventory: () => ({ venue: { id: config.venue.id, name: config.venue.name }, rooms: rooms(), cameras: cameras() }),
    onFetch: (f) => uploader.addFetch(f),
    onLive: (l) => live.lease(l.cameraId, l.leaseSeconds),
    onWindows: (windows: UploadWindow[]) => {
      holds.setWindows(windows);
      uploader.setWindows(windows);
    },
    // A box back online tells the centre its devices' state at once, not at the next interval.
    onConnect: () => health.changed(),
    onCommand: (cmd) =>
      void runCommand(
        cmd,
        {
          venueId: config.venue.id,
          knows: (id) => states.has(id),
          rescan: async () => {
            await discover();
            return `discovery done: ${states.size} cameras known`;
          },
          snapshot: (id) => {
            const st = states.get(id)!;
            if (!st.found.description) throw new Error(`camera ${id} has no stream (${st.info.lastError ?? 'not found'})`);
            return grabSnapshot(st.found.description.streamUri, st.found.username, st.found.password, config.recording.rtspTransport, config.discovery.timeoutMs * 3);
          },
          restartRecorder: async (id) => {
            const st = states.get(id)!;
            if (!st.recorder) throw new Error(`camera ${id} has no recorder (${st.info.lastError ?? 'not found'})`);
            await st.recorder.stop();
            st.recorder = null;
            startRecorder(st);
            return `recorder of ${id} restarted`;
          },
          reloadSettings: async () => {
            if (!options.reloadConfig) throw new Error('this box was started without a settings file to reload');
            const next = resolveSecrets(options.reloadConfig(), logger);
            if (next.venue.id !== config.venue.id) throw new Error('the reloaded settings name another venue: restart the agent instead');
            // What can change at run time: cameras, credentials, discovery; the rest needs a restart.
            Object.assign(config, { cameras: next.cameras, defaultCredentials: next.defaultCredentials, discovery: next.discovery });
            await discover();
            return `settings reloaded: ${next.cameras.length} configured cameras, ${states.size} known`;
          },
        },
        logger,
      ).then((reply) => link.publishReply(reply)),
  });

  const roomEvents = new RoomEventSender({ venueId: config.venue.id, catalogue, logger, flush: () => link.batch() });
  const eventSubs = new Map<string, { xaddr: string; sub: CameraEventSubscriber }>();
  const watchEvents = (state: CameraState): void => {
    const d = state.found.description;
    if (!config.events.camera || !d || stopped) return;
    const current = eventSubs.get(state.info.id);
    if (current?.xaddr === d.xaddr) return;
    current?.sub.stop();
    const sub = new CameraEventSubscriber({
      cameraId: state.info.id,
      roomId: state.info.roomId,
      address: parseDeviceAddress(d.xaddr),
      username: state.found.username,
      password: state.found.password,
      timeoutMs: config.discovery.timeoutMs,
      logger,
      onEvent: (e) => roomEvents.send(e),
    });
    eventSubs.set(state.info.id, { xaddr: d.xaddr, sub });
    sub.start();
  };

  const sensorHub = config.sensors.brokerUrl
    ? new SensorHub({ config, logger, onEvent: (e) => roomEvents.send(e), onChange: () => health.changed() })
    : null;

  const health = new HealthReporter({
    config,
    logger,
    link,
    tracker,
    agentVersion: AGENT_VERSION,
    cameras: () => [...states.values()].map((s) => ({ info: s.info, found: s.found })),
    outboxDepth: () => catalogue.outboxSize(),
    transfer: () => uploader,
    sensors: () => sensorHub?.health() ?? [],
    onClockDrift: (cameraId, offsetMs, drifting) => {
      const s = states.get(cameraId);
      roomEvents.send({
        id: crypto.randomUUID(),
        deviceId: cameraId,
        roomId: s?.info.roomId ?? null,
        kind: 'clock_drift',
        state: drifting,
        value: offsetMs,
        at: new Date().toISOString(),
        source: 'agent',
        detail: `camera clock ${offsetMs >= 0 ? 'ahead' : 'behind'} by ${(Math.abs(offsetMs) / 1000).toFixed(1)} s (threshold ${config.health.clockDriftMs / 1000} s)`,
      });
    },
  });

  const update = (state: CameraState, patch: Partial<CameraInfo>): void => {
    const before = JSON.stringify(state.info);
    state.info = { ...state.info, ...patch };
    if (JSON.stringify(state.info) !== before) {
      catalogue.upsertCamera(state.info);
      inventoryChanged();
    }
  };

  const infoOf = (f: FoundCamera, prev: CameraInfo | undefined): CameraInfo => ({
    id: f.id,
    roomId: f.roomId,
    name: f.name.slice(0, 200),
    endpoint: f.description?.endpoint ?? f.endpoint ?? prev?.endpoint ?? null,
    manufacturer: f.description?.manufacturer ?? prev?.manufacturer ?? null,
    model: f.description?.model ?? prev?.model ?? null,
    serial: f.description?.serial ?? prev?.serial ?? null,
    firmware: f.description?.firmware ?? prev?.firmware ?? null,
    xaddr: f.description?.xaddr ?? prev?.xaddr ?? null,
    streamUri: f.description?.streamUri ?? prev?.streamUri ?? null,
    videoCodec: prev?.videoCodec ?? null,
    audioCodec: prev?.audioCodec ?? null,
    recording: prev?.recording ?? false,
    lastError: f.error ? f.error.slice(0, 1000) : (prev?.lastError ?? null),
  });

  const startRecorder = (state: CameraState): void => {
    const f = state.found;
    if (!f.description) return;
    const log = logger.child({ cameraId: f.id });
    const recorder = new CameraRecorder({
      cameraId: f.id,
      rtspUrl: f.description.streamUri,
      username: f.username,
      password: f.password,
      transport: config.recording.rtspTransport,
      segmentSeconds: config.recording.segmentSeconds,
      restartDelayMs: config.recording.restartDelayMs,
      // Once a commit, on its tick: a segment found sooner would only wait for the commit.
      catalogueIntervalMs: config.recording.catalogueIntervalMs ?? catalogueCommitMs(config.recording),
      clockAnchorSegments: config.recording.clockAnchorSegments,
      watchdogMs: config.continuity.watchdogSeconds * 1000,
      maxRestartDelayMs: config.continuity.maxRestartDelayMs,
      onFailure: (failure) => {
        gaps.noteFailure(f.id, failure);
        if (failure.cause === 'disk_full') void retention.check();
      },
      recordingsDir,
      logger: log,
      known: (path) => catalogue.hasSegmentPath(path),
      onSegment: (s) => {
        tracker.segment(f.id, s);
        live.segment(s);
        // Now, not when catalogued: a failure the recorder reports next must come after it.
        gaps.onSegment(s);
        intake.add(s);
      },
      onFps: (fps) => tracker.fps(f.id, fps),
      onState: (st) => {
        const patch: Partial<CameraInfo> = { recording: st.recording };
        if (st.codecs?.video) {
          patch.videoCodec = st.codecs.video;
          patch.audioCodec = st.codecs.audio;
        }
        if (st.error !== undefined) patch.lastError = st.error;
        if (st.error) tracker.reconnect(f.id);
        update(state, patch);
        health.changed();
      },
    });
    state.recorder = recorder;
    recorder.setLive(live.active(f.id));
    tracker.recorderStarted(f.id);
    recorder.start();
  };

  const apply = async (found: FoundCamera[]): Promise<void> => {
    for (const f of found) {
      if (stopped) return;
      let state = states.get(f.id);
      const log = logger.child({ cameraId: f.id });
      if (f.error) log.warn({ err: f.error }, 'camera not usable');
      if (!state) {
        state = { found: f, info: infoOf(f, undefined), recorder: null };
        states.set(f.id, state);
        catalogue.upsertCamera(state.info);
        inventoryChanged();
        gaps.watch(f.id);
      } else {
        const prevFound = state.found;
        // Keep what still works: an ONVIF hiccup does not stop a recorder whose stream is fine.
        state.found = f.description ? f : { ...f, description: prevFound.description };
        update(state, infoOf(f, state.info));
        const changed =
          f.description &&
          state.recorder &&
          (state.recorder.rtspUrl !== f.description.streamUri || prevFound.username !== f.username || prevFound.password !== f.password);
        if (changed && state.recorder) {
          log.info('stream URI or credentials changed: restarting the recorder');
          await state.recorder.stop();
          state.recorder = null;
        }
      }
      if (f.description && !f.error && state.info.lastError?.startsWith('ONVIF')) update(state, { lastError: null });
      // Not recording because the camera cannot be described: that is the cause of its missing footage.
      if (f.error && !state.recorder && !state.found.description) gaps.noteFailure(f.id, { cause: f.errorKind === 'auth' ? 'auth_failed' : 'camera_offline', detail: f.error });
      watchEvents(state);
      if (f.description && !state.recorder && !stopped) {
        log.info({ streamUri: f.description.streamUri, roomId: f.roomId }, 'camera found; recording');
        startRecorder(state);
      }
    }
  };

  let discovering: Promise<void> | null = null;
  const discover = (): Promise<void> => {
    const known = [...states.values()].map((s) => ({ id: s.info.id, endpoint: s.info.endpoint }));
    discovering ??= discoverCameras(config, logger, known)
      .then(apply)
      .catch((err: Error) => logger.error({ err: err.message }, 'discovery failed'))
      .finally(() => (discovering = null));
    return discovering;
  };

  const retryFailed = async (): Promise<void> => {
    if (discovering || stopped) return;
    const failed = config.cameras.filter((c) => {
      const s = states.get(deviceId(config.venue.id, c.code));
      // A wrong password is retried only by discovery runs: cameras lock accounts after repeated failed logins.
      return !s?.recorder && s?.found.errorKind !== 'auth';
    });
    if (failed.length === 0) return;
    await apply(await Promise.all(failed.map((c) => describeConfigured(config, c))));
  };

  uploader.start();
  link.start();
  await health.start();
  sensorHub?.start();
  retention.start();
  manifests.start();
  reconciler.start();
  // Reconcile at start-up too: the centre may have lost what it acknowledged while we were down.
  void reconciler.run();
  const discoveryTimer = setInterval(() => void discover(), config.discovery.intervalMinutes * 60_000);
  // On the box's grid: with the other jobs' wake-ups, not one of its own (schedule/shared-tick.ts).
  const stopRetry = everyTick(options.retryFailedMs ?? 30_000, () => void retryFailed().catch(() => {}));
  logger.info({ dataDir, cameras: config.cameras.length, discovery: config.discovery.enabled ? config.discovery.interfaces : 'off' }, 'edge agent started');
  await discover();
  void health.checkClocks();

  return {
    config,
    catalogue,
    link,
    uploader,
    logger,
    gaps,
    holds,
    retention,
    manifests,
    reconciler,
    live,
    cameras,
    rooms,
    recorder: (id) => states.get(id)?.recorder ?? null,
    cameraHealth: () => health.cameraHealth(),
    health,
    roomEvents,
    sensors: sensorHub,
    discover,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(discoveryTimer);
      stopRetry();
      await health.stop();
      for (const { sub } of eventSubs.values()) sub.stop();
      await sensorHub?.stop();
      roomEvents.drain();
      if (inventoryTimer) clearTimeout(inventoryTimer);
      await discovering;
      await retention.stop();
      await reconciler.stop();
      await Promise.all([...states.values()].map((s) => s.recorder?.stop()));
      await uploader.stop();
      // Sign what has finished (a graceful stop must not leave a signable period unsigned).
      manifests.stop();
      manifests.run();
      await link.stop();
      gaps.stop();
      catalogue.close();
      logger.info('edge agent stopped');
    },
  };
}
