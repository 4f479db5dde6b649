import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type * as OnvifTypes from 'onvif';
import type { RoomEvent, RoomEventKind } from '../../protocol/index.ts';
import type { DeviceAddress } from '../discovery/onvif-device.ts';
import { createSoapGuard, guardCam, type SoapGuard } from '../discovery/soap-guard.ts';

/**
 * ONVIF events of one camera through a PullPoint subscription (the `onvif` client's
 * cam.on('event') loop), where the camera offers them: motion, tamper / global scene change and
 * video loss become room events. A camera without an event service, or with one that fails, only
 * loses its events: recording is not touched.
 */
const require = createRequire(import.meta.url);
const onvif = require('onvif') as typeof OnvifTypes.default;

/** ONVIF topic (prefixes ignored) → room event kind. */
export function eventKindOf(topic: string): RoomEventKind | null {
  const t = topic.replace(/\b[a-z0-9]+:/gi, '');
  if (/GlobalSceneChange|Tamper/i.test(t)) return 'tamper';
  if (/SignalLoss|VideoLoss/i.test(t)) return 'video_loss';
  if (/Motion/i.test(t)) return 'motion';
  return null;
}

const text = (v: unknown): string | null => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object' && '_' in v) return text((v as { _: unknown })._);
  return null;
};

type Json = Record<string, unknown>;
const get = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Json)[k] : undefined), v);

/** The boolean data item (State, IsMotion, IsTamper…) of an ONVIF notification; null when none. */
function stateOf(message: unknown): boolean | null {
  const items = get(message, 'message', 'message', 'data', 'simpleItem');
  for (const item of Array.isArray(items) ? items : items ? [items] : []) {
    const v = get(item, '$', 'Value');
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
  }
  return null;
}

/**
 * The client retries a refused or reset event connection after 10 ms, each wait a ninth longer
 * than the last: a camera switched off was asked for its events ~30 times a second for its first
 * seconds, and again after every power cycle — CPU the box spends on nothing while it records the
 * other cameras. Its retries start at 1 s instead, then grow as the client's do (to 2 min).
 */
const MIN_EVENT_RETRY_MS = 1000;

function slowEventRetries(cam: OnvifTypes.Cam): void {
  const c = cam as unknown as { _eventReconnectms?: number; _restartEventRequest?: () => void };
  const original = c._restartEventRequest;
  // A client version without it keeps its own pace; events still work.
  if (typeof original !== 'function') return;
  c._restartEventRequest = function (this: typeof c) {
    if (!this._eventReconnectms || this._eventReconnectms < MIN_EVENT_RETRY_MS) this._eventReconnectms = MIN_EVENT_RETRY_MS;
    return original.call(this);
  };
}

export interface CameraEventOptions {
  cameraId: string;
  roomId: string | null;
  address: DeviceAddress;
  username: string;
  password: string;
  timeoutMs: number;
  logger: Logger;
  onEvent: (event: RoomEvent) => void;
}

const PULL_REPLY_TIMEOUT_MS = 75_000;

export class CameraEventSubscriber {
  private cam: OnvifTypes.Cam | null = null;
  private guard: SoapGuard | null = null;
  private stopped = false;
  /** Notifications received (tests and health). */
  received = 0;

  constructor(private readonly o: CameraEventOptions) {}

  start(): void {
    const o = this.o;
    const cam = new onvif.Cam({
      hostname: o.address.hostname,
      port: o.address.port,
      path: o.address.path,
      username: o.username || undefined,
      password: o.password || undefined,
      // PullMessages asks the camera to hold the answer up to a minute (ONVIF's PT1M): a shorter
      // socket timeout would cut every quiet minute short and turn the long poll into a busy loop.
      timeout: Math.max(o.timeoutMs, PULL_REPLY_TIMEOUT_MS),
      autoconnect: false,
      preserveAddress: true,
    });
    this.cam = cam;
    const guard = createSoapGuard(`${o.address.hostname}:${o.address.port} (events)`);
    this.guard = guard;
    guardCam(cam, guard);
    slowEventRetries(cam);
    guard.tripped.catch((err: Error) => {
      o.logger.warn({ cameraId: o.cameraId, err: err.message }, 'camera events stopped: hostile answer');
      this.stop();
    });
    cam.on('error', () => {});
    cam.on('warning', () => {});
    cam.on('eventsError', (err: unknown) => o.logger.debug({ cameraId: o.cameraId, err: err instanceof Error ? err.message : String(err) }, 'camera events error'));
    cam.connect((err: Error | null) => {
      if (this.stopped) return;
      if (err) {
        o.logger.info({ cameraId: o.cameraId, err: err.message }, 'camera events unavailable (connect failed)');
        return;
      }
      const uri = (cam as unknown as { uri?: { events?: unknown } }).uri;
      if (!uri?.events) {
        o.logger.info({ cameraId: o.cameraId }, 'camera offers no ONVIF event service; no camera events');
        return;
      }
      cam.on('event', (message: unknown) => this.handle(message));
      o.logger.info({ cameraId: o.cameraId }, 'subscribed to camera events (PullPoint)');
    });
  }

  private handle(message: unknown): void {
    try {
      const topic = text(get(message, 'topic')) ?? '';
      const kind = eventKindOf(topic);
      this.received++;
      if (!kind) return;
      // The client turns ISO strings into Dates; accept either.
      const raw = get(message, 'message', 'message', '$', 'UtcTime');
      const utc = raw instanceof Date ? raw : typeof raw === 'string' ? new Date(raw) : null;
      const at = utc && !Number.isNaN(utc.getTime()) ? utc : new Date();
      this.o.onEvent({
        id: randomUUID(),
        deviceId: this.o.cameraId,
        roomId: this.o.roomId,
        kind,
        state: stateOf(message),
        value: null,
        at: at.toISOString(),
        source: 'onvif',
        detail: topic.slice(0, 500),
      });
    } catch (err) {
      this.o.logger.warn({ cameraId: this.o.cameraId, err: (err as Error).message }, 'unreadable camera event ignored');
    }
  }

  stop(): void {
    this.stopped = true;
    this.guard?.dispose();
    this.guard = null;
    const cam = this.cam;
    this.cam = null;
    if (!cam) return;
    // No 'event' listener left: the client's pull loop ends and unsubscribes.
    cam.removeAllListeners('event');
    try {
      if ((cam as unknown as { events?: { subscription?: unknown } }).events?.subscription) cam.unsubscribe(() => {}, false);
    } catch {
      // never subscribed
    }
  }
}
