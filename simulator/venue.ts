import { createHash } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { startRtspServer, type RtspServer } from './rtsp/rtsp-server.ts';
import { startVideoSource, type VideoSource } from './camera/video-source.ts';
import { startOnvifDevice, type OnvifDevice, type SimulatedEventKind } from './onvif/device.ts';
import { startWsDiscovery, type DiscoverableDevice, type WsDiscoveryResponder } from './onvif/ws-discovery.ts';

/**
 * A virtual venue: one RTSP server carrying every camera's stream, one ffmpeg source and one ONVIF
 * device (own HTTP port) per camera, and optionally a WS-Discovery responder. It stands in for the
 * physical cameras in the demo (`npm start`) and in the edge agent's tests; everything speaks the
 * real protocols.
 */

export interface VirtualCameraSpec {
  /** Local code, also the RTSP path. */
  code: string;
  name: string;
  username: string;
  password: string;
  audio?: boolean;
  codec?: 'h264' | 'h265';
  width?: number;
  height?: number;
  fps?: number;
  bitrateKbps?: number;
  /** Seconds between keyframes (default 1). */
  keyframeSeconds?: number;
  /** Offsets the camera's clock (ONVIF time and burned-in clock) against the machine's. */
  clockOffsetMs?: number;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  location?: string;
}

export interface VirtualVenueOptions {
  venueId?: string;
  cameras: VirtualCameraSpec[];
  /** Address every server listens on and advertises (default 127.0.0.1). */
  host?: string;
  /**
   * Address the ONVIF devices listen on when it must differ from `host` — e.g. 0.0.0.0 inside a
   * test's network namespace, so a camera can change its advertised IP (changeAddress) and still answer.
   */
  onvifListenHost?: string;
  /** WS-Discovery responder on that interface address; false/absent = none. */
  discovery?: { interfaceAddress: string } | false;
  logger?: Logger;
  /** How long start waits for every camera to be publishing (default 20 s). */
  startTimeoutMs?: number;
}

export interface VirtualCamera {
  code: string;
  name: string;
  /** ONVIF device service URL (follows changeAddress). */
  readonly xaddr: string;
  /** rtsp://host:port/<code>, no credentials. */
  rtspUrl: string;
  snapshotUri: string;
  /** urn:uuid:… stable for (venueId, code). */
  endpoint: string;
  username: string;
  password: string;
  /** Powers the camera off: stream, ONVIF and discovery answers stop. Resolves when ffmpeg exited. */
  stop(): Promise<void>;
  /** Powers it on again (same ports, same identity). */
  start(): Promise<void>;
  /** Only the stream stops (ONVIF still answers), as when the encoder hangs. */
  pauseStream(): Promise<void>;
  resumeStream(): void;
  /** The camera's audio stops (its RTP is no longer sent) while video continues; restoreAudio() ends it. */
  dropAudio(): void;
  restoreAudio(): void;
  /** Shifts the clock GetSystemDateAndTime reports (takes effect at once). */
  setClockOffset(ms: number): void;
  /**
   * An IP change: the camera advertises `host` from now on (XAddrs, WS-Discovery answers with a
   * new MetadataVersion), keeping its endpoint reference. The ONVIF device must listen on an
   * address that covers `host` (see onvifListenHost).
   */
  changeAddress(host: string): void;
  /** Emits an ONVIF event (motion, tamper, video loss) to the camera's PullPoint subscribers. */
  emitEvent(kind: SimulatedEventKind, state: boolean): void;
  /** Live PullPoint subscriptions on the camera. */
  eventSubscriptions(): number;
  /** True while its publisher is recording into the RTSP server. */
  isStreaming(): boolean;
  /** The video source, for tests that need its details (epochStartMs, starts). */
  readonly source: VideoSource;
}

export interface VirtualVenue {
  venueId: string;
  host: string;
  rtspPort: number;
  cameras: VirtualCamera[];
  rtsp: RtspServer;
  discovery: WsDiscoveryResponder | null;
  /** Stops everything; no ffmpeg survives. */
  stop(): Promise<void>;
}

/** A stable RFC 4122-shaped UUID (name-based, SHA-1) for a camera of a venue. */
export function cameraUuid(venueId: string, code: string): string {
  const h = createHash('sha1').update(`venuewatch-simulator/${venueId}/${code}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export async function startVirtualVenue(options: VirtualVenueOptions): Promise<VirtualVenue> {
  const venueId = options.venueId ?? 'sim-venue';
  const host = options.host ?? '127.0.0.1';
  const logger = (options.logger ?? pino({ name: 'virtual-venue', level: process.env.VW_SIM_LOG_LEVEL ?? 'info' })).child({ venue: venueId });
  const codes = new Set<string>();
  for (const c of options.cameras) {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(c.code)) throw new Error(`camera code "${c.code}": use lowercase letters, digits or "-"`);
    if (codes.has(c.code)) throw new Error(`camera code "${c.code}" appears twice`);
    codes.add(c.code);
  }

  const rtsp = await startRtspServer({ host, logger });
  const sources: VideoSource[] = [];
  const devices: OnvifDevice[] = [];
  let discovery: WsDiscoveryResponder | null = null;

  async function stopAll(): Promise<void> {
    await Promise.allSettled(sources.map((s) => s.stop()));
    await Promise.allSettled([...devices.map((d) => d.close()), discovery?.stop()]);
    await rtsp.close();
  }

  try {
    const cameras: VirtualCamera[] = [];
    const discoverable: DiscoverableDevice[] = [];
    for (const spec of options.cameras) {
      const log = logger.child({ camera: spec.code });
      const width = spec.width ?? 640;
      const height = spec.height ?? 360;
      const fps = spec.fps ?? 15;
      const codec = spec.codec ?? 'h264';
      const audio = spec.audio ?? true;
      const bitrateKbps = spec.bitrateKbps ?? 400;
      const endpoint = `urn:uuid:${cameraUuid(venueId, spec.code)}`;
      rtsp.setCredentials(spec.code, { username: spec.username, password: spec.password });
      const source = startVideoSource({
        publishUrl: `rtsp://${host.includes(':') ? `[${host}]` : host}:${rtsp.port}/${spec.code}`,
        width,
        height,
        fps,
        codec,
        audio,
        bitrateKbps,
        clockOffsetMs: spec.clockOffsetMs,
        keyframeSeconds: spec.keyframeSeconds,
        label: spec.code,
        logger: log,
      });
      sources.push(source);
      const deviceOptions = {
        host: options.onvifListenHost ?? host,
        advertiseHost: host,
        username: spec.username,
        password: spec.password,
        endpoint,
        name: spec.name,
        manufacturer: spec.manufacturer,
        model: spec.model,
        firmware: spec.firmware,
        location: spec.location ?? venueId,
        clockOffsetMs: spec.clockOffsetMs,
        stream: { rtspHost: host, rtspPort: rtsp.port, path: spec.code, codec, width, height, fps, audio, bitrateKbps },
        logger: log,
      };
      let device = await startOnvifDevice(deviceOptions);
      const deviceIndex = devices.push(device) - 1;
      const devicePort = device.port;
      let clockOffset = spec.clockOffsetMs ?? 0;
      let powered = true;
      const asDiscoverable = (): DiscoverableDevice => ({ endpoint, xaddrs: [device.xaddr], scopes: device.scopes });
      discoverable.push(asDiscoverable());

      cameras.push({
        code: spec.code,
        name: spec.name,
        get xaddr() {
          return device.xaddr;
        },
        rtspUrl: `rtsp://${host.includes(':') ? `[${host}]` : host}:${rtsp.port}/${spec.code}`,
        snapshotUri: device.snapshotUri,
        endpoint,
        username: spec.username,
        password: spec.password,
        source,
        async stop() {
          if (!powered) return;
          powered = false;
          discovery?.remove(endpoint);
          await Promise.all([source.stop(), device.close()]);
          log.info('camera powered off');
        },
        async start() {
          if (powered) return;
          device = await startOnvifDevice({ ...deviceOptions, port: devicePort, clockOffsetMs: clockOffset });
          devices[deviceIndex] = device;
          source.start();
          discovery?.set(asDiscoverable());
          powered = true;
          log.info('camera powered on');
        },
        pauseStream: () => source.pause(),
        resumeStream: () => source.resume(),
        dropAudio: () => rtsp.muteAudio(spec.code, true),
        restoreAudio: () => rtsp.muteAudio(spec.code, false),
        setClockOffset(ms) {
          clockOffset = ms;
          device.setClockOffset(ms);
        },
        changeAddress(newHost) {
          deviceOptions.advertiseHost = newHost;
          device.setAdvertiseHost(newHost);
          if (powered) discovery?.set(asDiscoverable());
          log.info({ host: newHost }, 'camera address changed');
        },
        emitEvent: (kind, state) => device.emitEvent(kind, state),
        eventSubscriptions: () => device.subscriptions(),
        isStreaming: () => rtsp.isPublishing(spec.code),
      });
    }

    if (options.discovery) {
      discovery = await startWsDiscovery({ interfaceAddress: options.discovery.interfaceAddress, devices: discoverable, logger });
    }

    // Readers that come at once would get 404 until ffmpeg has announced: wait for every stream.
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    while (!options.cameras.every((c) => rtsp.isPublishing(c.code))) {
      if (Date.now() > deadline) {
        const missing = options.cameras.filter((c) => !rtsp.isPublishing(c.code)).map((c) => c.code);
        throw new Error(`virtual cameras ${missing.join(', ')} did not start streaming: check that ffmpeg works (set FFMPEG_PATH) and see the log above`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    logger.info({ rtspPort: rtsp.port, cameras: cameras.map((c) => ({ code: c.code, xaddr: c.xaddr })) }, 'virtual venue running');

    let stopped: Promise<void> | null = null;
    return {
      venueId,
      host,
      rtspPort: rtsp.port,
      cameras,
      rtsp,
      discovery,
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
