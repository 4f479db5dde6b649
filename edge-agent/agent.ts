import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { EdgeAgentConfig } from '../config/schema.ts';
import { deviceId, type CameraInfo, type RoomInfo, type UploadWindow } from '../protocol/index.ts';
import { Catalogue } from './catalogue/catalogue.ts';
import { GapTracker } from './continuity/gap-tracker.ts';
import { HoldBook } from './retention/holds.ts';
import { Retention } from './retention/retention.ts';
import { loadOrCreateAgentKey } from './integrity/agent-key.ts';
import { ManifestSigner } from './integrity/manifest-signer.ts';
import { SegmentChain } from './integrity/segment-chain.ts';
import { Reconciler } from './upload/reconciler.ts';
import { discoverCameras, describeConfigured, type FoundCamera } from './discovery/discovery.ts';
import { MqttLink } from './link/mqtt-link.ts';
import { CameraRecorder } from './recorder/camera-recorder.ts';
import { Uploader } from './upload/uploader.ts';

/**
 * The venue box: finds the cameras, records each one continuously, catalogues every segment,
 * tells the centre what it has over MQTT, and uploads the footage the centre asks for.
 */

export interface AgentOptions {
  logger?: Logger;
  /** How often configured cameras that failed are tried again (default 30 s). */
  retryFailedMs?: number;
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
  /** Every camera the agent knows, as it tells the centre. */
  cameras(): CameraInfo[];
  /** Recorder of a camera (tests read its ffmpeg arguments). */
  recorder(cameraId: string): CameraRecorder | null;
  rooms(): RoomInfo[];
  /** Runs discovery now (it also runs at start and every discovery.intervalMinutes). */
  discover(): Promise<void>;
  /** Graceful: ffmpeg stopped with SIGINT (playlists closed, last segments catalogued), offline status, catalogue closed. */
  stop(): Promise<void>;
}

export async function startAgent(config: EdgeAgentConfig, options: AgentOptions = {}): Promise<Agent> {
  const logger = (options.logger ?? pino({ level: config.logLevel })).child({ venueId: config.venue.id });
  const dataDir = resolve(config.dataDir);
  const catalogue = new Catalogue(join(dataDir, 'catalogue.db'));
  const recordingsDir = join(dataDir, 'recordings');
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

  let inventoryTimer: NodeJS.Timeout | null = null;
  const inventoryChanged = (): void => {
    if (inventoryTimer || stopped) return;
    // Codec, recording and error changes come in bursts: one inventory per burst.
    inventoryTimer = setTimeout(() => {
      inventoryTimer = null;
      link.publishInventory();
    }, 300);
  };

  const uploader = new Uploader({ config, catalogue, logger });
  const chain = new SegmentChain(catalogue);
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
  const link = new MqttLink({
    config,
    catalogue,
    logger,
    startedAt,
    inventory: () => ({ venue: { id: config.venue.id, name: config.venue.name }, rooms: rooms(), cameras: cameras() }),
    onFetch: (f) => uploader.addFetch(f),
    onWindows: (windows: UploadWindow[]) => {
      holds.setWindows(windows);
      uploader.setWindows(windows);
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
    endpoint: f.description?.endpoint ?? prev?.endpoint ?? null,
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
        if (chain.append(s).added) {
          gaps.onSegment(s);
          uploader.kick();
        }
      },
      onState: (st) => {
        const patch: Partial<CameraInfo> = { recording: st.recording };
        if (st.codecs?.video) {
          patch.videoCodec = st.codecs.video;
          patch.audioCodec = st.codecs.audio;
        }
        if (st.error !== undefined) patch.lastError = st.error;
        update(state, patch);
      },
    });
    state.recorder = recorder;
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
      if (f.description && !state.recorder && !stopped) {
        log.info({ streamUri: f.description.streamUri, roomId: f.roomId }, 'camera found; recording');
        startRecorder(state);
      }
    }
  };

  let discovering: Promise<void> | null = null;
  const discover = (): Promise<void> => {
    discovering ??= discoverCameras(config, logger)
      .then(apply)
      .catch((err: Error) => logger.error({ err: err.message }, 'discovery failed'))
      .finally(() => (discovering = null));
    return discovering;
  };

  const retryFailed = async (): Promise<void> => {
    if (discovering || stopped) return;
    const failed = config.cameras.filter((c) => {
      const s = states.get(deviceId(config.venue.id, c.code));
      return !s?.recorder;
    });
    if (failed.length === 0) return;
    await apply(await Promise.all(failed.map((c) => describeConfigured(config, c))));
  };

  uploader.start();
  link.start();
  retention.start();
  manifests.start();
  reconciler.start();
  // Reconcile at start-up too: the centre may have lost what it acknowledged while we were down.
  void reconciler.run();
  const discoveryTimer = setInterval(() => void discover(), config.discovery.intervalMinutes * 60_000);
  const retryTimer = setInterval(() => void retryFailed().catch(() => {}), options.retryFailedMs ?? 30_000);
  logger.info({ dataDir, cameras: config.cameras.length, discovery: config.discovery.enabled ? config.discovery.interfaces : 'off' }, 'edge agent started');
  await discover();

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
    cameras,
    rooms,
    recorder: (id) => states.get(id)?.recorder ?? null,
    discover,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(discoveryTimer);
      clearInterval(retryTimer);
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
