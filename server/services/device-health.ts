import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  venueOf,
  type Alert,
  type AlertKind,
  type CameraHealth,
  type DailyIntactRate,
  type DeviceHealthEntry,
  type DeviceHistory,
  type DeviceList,
  type HealthReport,
  type SensorHealth,
  type User,
  type BoxHealth,
} from '../../protocol/index.ts';
import { DEVICE_KIND_NAMES, nameIn } from '../../protocol/index.ts';
import type { DeviceAlertRow, DeviceHealthRow } from '../db/health-schema.ts';
import type { DeviceHealthRepository, HistorySample, NewDeviceHealth } from '../repositories/device-health.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { AppError, type UserText } from './errors.ts';
import { localDay } from './calendar.ts';

/**
 * Health of every device the venue boxes watch: applies health reports and box status, keeps the
 * current state and a bucketed history, raises and clears alerts on state changes, samples the
 * daily camera intact rate, and tells listeners (the SSE stream) what changed.
 */

export interface DeviceHealthSettings {
  historyBucketMinutes: number;
  intactSampleSeconds: number;
  historyDays: number;
}

type HealthData = { camera?: CameraHealth; sensor?: SensorHealth; box?: BoxHealth };

export function toEntry(r: DeviceHealthRow): DeviceHealthEntry {
  const d = r.data as HealthData;
  return {
    id: r.deviceId,
    venueId: r.venueId,
    roomId: r.roomId,
    kind: r.kind as DeviceHealthEntry['kind'],
    name: r.name,
    online: r.online,
    state: r.state,
    updatedAt: r.updatedAt.toISOString(),
    camera: d.camera ? { ...d.camera, online: r.online, state: r.online ? d.camera.state : d.camera.state === 'auth_failed' ? 'auth_failed' : 'unreachable' } : null,
    sensor: d.sensor ? { ...d.sensor, online: r.online, roomId: r.roomId } : null,
    box: d.box ?? null,
  };
}

export function toAlert(r: DeviceAlertRow): Alert {
  return {
    id: r.id,
    venueId: r.venueId,
    deviceId: r.deviceId,
    roomId: r.roomId,
    kind: r.kind as AlertKind,
    message: r.message,
    messageZh: r.messageZh,
    raisedAt: r.raisedAt.toISOString(),
    clearedAt: r.clearedAt?.toISOString() ?? null,
    acknowledgedAt: r.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: r.acknowledgedBy,
  };
}

/** Device kinds as the dashboard names them, for Chinese refusals. */

const CAMERA_ALERTS: Partial<Record<string, { kind: AlertKind; text: (c: CameraHealth) => UserText }>> = {
  auth_failed: {
    kind: 'auth_failed',
    text: (c) => ({
      en: `camera ${c.name} (${c.id}) refuses the box's user name or password: fix the credentials on the box`,
      zh: `摄像机 ${c.name}（${c.id}）拒绝现场主机的用户名或密码：请在现场主机上改正摄像机账号`,
    }),
  },
  clock_drift: {
    kind: 'clock_drift',
    text: (c) => {
      const s = ((c.clockOffsetMs ?? 0) / 1000).toFixed(1);
      return { en: `camera ${c.name} (${c.id}) clock is off by ${s} s: set it to the venue NTP server`, zh: `摄像机 ${c.name}（${c.id}）时钟偏差 ${s} 秒：请将其对时到场地的 NTP 服务器` };
    },
  },
  unreachable: {
    kind: 'device_offline',
    text: (c) => ({ en: `camera ${c.name} (${c.id}) does not answer: check its power and network`, zh: `摄像机 ${c.name}（${c.id}）无应答：请检查其电源和网络` }),
  },
  no_stream: {
    kind: 'not_recording',
    text: (c) => ({
      en: `camera ${c.name} (${c.id}) answers but sends no video: check the stream and restart the camera`,
      zh: `摄像机 ${c.name}（${c.id}）有应答但没有视频：请检查码流设置并重启摄像机`,
    }),
  },
  error: {
    kind: 'not_recording',
    // The recorder's own error stays as ffmpeg wrote it: it is what the technician searches for.
    text: (c) => ({ en: `camera ${c.name} (${c.id}) is not recording: ${c.lastError ?? 'unknown error'}`, zh: `摄像机 ${c.name}（${c.id}）未在录像：${c.lastError ?? '原因不明'}` }),
  },
  offline: { kind: 'device_offline', text: (c) => ({ en: `camera ${c.name} (${c.id}) is offline`, zh: `摄像机 ${c.name}（${c.id}）离线` }) },
};
const CAMERA_ALERT_KINDS: AlertKind[] = ['auth_failed', 'clock_drift', 'device_offline', 'not_recording'];

export class DeviceHealthService {
  /** 'device' (DeviceHealthEntry) and 'alert' (Alert) for the SSE stream. */
  readonly events = new EventEmitter();
  private readonly log: Logger;

  constructor(
    private readonly repo: DeviceHealthRepository,
    private readonly venues: VenueRepository,
    private readonly settings: DeviceHealthSettings,
    logger: Logger,
    /** Days of the intact rate are the venues' days (ledger.timeZone), as the quarterly report's. */
    private readonly timeZone: string,
  ) {
    this.log = logger;
    this.events.setMaxListeners(1000);
  }

  private bucket(at: Date): Date {
    const ms = this.settings.historyBucketMinutes * 60_000;
    return new Date(Math.floor(at.getTime() / ms) * ms);
  }

  /**
   * One health report. Every device id must belong to the reporting venue: a report naming another
   * venue's device is refused whole and logged (a forged or misconfigured box).
   */
  async applyReport(m: HealthReport): Promise<void> {
    const foreign = [...m.cameras.map((c) => c.id), ...m.sensors.map((s) => s.id)].find((id) => venueOf(id) !== m.venueId);
    if (foreign) throw AppError.forMachines('forbidden', `health report of venue "${m.venueId}" names "${foreign}", which belongs to another venue`);
    const at = new Date(m.sentAt) > new Date() ? new Date() : new Date(m.sentAt);
    // A retained report older than the box's offline status (e.g. read again when the centre
    // restarts) must not bring a gone box back: its devices stay offline until a fresh report.
    const status = (await this.venues.listStatus()).find((s) => s.venueId === m.venueId);
    if (status && !status.online && at <= status.lastSeen) {
      this.log.debug({ venueId: m.venueId, sentAt: m.sentAt }, 'stale health report of an offline box ignored');
      return;
    }
    const venueName = (await this.venues.listVenues([m.venueId]))[0]?.name ?? m.venueId;
    await this.venues.ensureVenue(m.venueId, m.venueId);
    const rows: NewDeviceHealth[] = [
      { deviceId: m.venueId, venueId: m.venueId, kind: 'box', roomId: null, name: venueName, online: true, state: 'ok', data: { box: m.box }, updatedAt: at },
      ...m.cameras.map((c) => ({ deviceId: c.id, venueId: m.venueId, kind: 'camera', roomId: c.roomId, name: c.name, online: c.online, state: c.state, data: { camera: c }, updatedAt: at })),
      ...m.sensors.map((s) => ({
        deviceId: s.id,
        venueId: m.venueId,
        kind: 'sensor',
        roomId: s.roomId,
        name: s.name,
        online: s.online,
        state: s.online ? 'ok' : 'offline',
        data: { sensor: s },
        updatedAt: at,
      })),
    ];
    // Sensors are assigned to rooms here at the centre; the box's own hint is the fallback.
    const assigned = await this.repo.sensorRooms(m.venueId);
    for (const r of rows) if (r.kind === 'sensor') r.roomId = assigned.get(r.deviceId) ?? r.roomId;
    const before = new Map((await this.repo.current([m.venueId])).map((r) => [r.deviceId, r]));
    await this.repo.upsertCurrent(rows);
    const bucket = this.bucket(at);
    const samples: HistorySample[] = [
      ...m.cameras.map((c) => ({ deviceId: c.id, venueId: m.venueId, bucket, online: c.online, fps: c.fps, bitrateKbps: c.bitrateKbps, clockOffsetMs: c.clockOffsetMs, segmentAgeS: c.lastSegmentAgeSeconds })),
      ...m.sensors.map((s) => ({ deviceId: s.id, venueId: m.venueId, bucket, online: s.online, fps: null, bitrateKbps: null, clockOffsetMs: null, segmentAgeS: null })),
      { deviceId: m.venueId, venueId: m.venueId, bucket, online: true, fps: null, bitrateKbps: null, clockOffsetMs: null, segmentAgeS: null },
    ];
    await this.repo.addSamples(samples);

    for (const r of rows) {
      const prev = before.get(r.deviceId);
      const changed = !prev || prev.online !== r.online || prev.state !== r.state;
      // Every report goes out for live numbers; state changes are also logged.
      this.events.emit('device', toEntry({ ...r, updatedAt: at }));
      if (!changed) continue;
      if (prev) this.log.info({ venueId: m.venueId, deviceId: r.deviceId, from: prev.state, to: r.state }, 'device state changed');
    }
    for (const c of m.cameras) await this.cameraAlerts(m.venueId, c, at);
    for (const s of m.sensors) {
      if (!s.online) {
        await this.raise(m.venueId, s.id, s.roomId, 'device_offline', {
          en: `sensor ${s.name} (${s.id}) has not been heard from since ${s.lastSeen ?? 'start'}`,
          zh: `传感器 ${s.name}（${s.id}）${s.lastSeen ? `自 ${s.lastSeen} 起` : '启动以来'}没有消息：请检查电池和无线连接`,
        }, at);
      }
      else await this.clear(s.id, ['device_offline'], at);
    }
    await this.clear(m.venueId, ['box_offline'], at);
  }

  private async cameraAlerts(venueId: string, c: CameraHealth, at: Date): Promise<void> {
    const want = CAMERA_ALERTS[c.state];
    const keep = want ? [want.kind] : [];
    await this.clear(c.id, CAMERA_ALERT_KINDS.filter((k) => !keep.includes(k)), at);
    if (want) await this.raise(venueId, c.id, c.roomId, want.kind, want.text(c), at);
  }

  async raise(venueId: string, deviceId: string, roomId: string | null, kind: AlertKind, message: UserText, at: Date): Promise<void> {
    const row = await this.repo.raise({ id: randomUUID(), venueId, deviceId, roomId, kind, message: message.en, messageZh: message.zh, raisedAt: at });
    if (!row) return;
    this.log.warn({ venueId, deviceId, roomId, kind }, message.en);
    this.events.emit('alert', toAlert(row));
  }

  async clear(deviceId: string, kinds: AlertKind[], at: Date): Promise<void> {
    if (kinds.length === 0) return;
    for (const row of await this.repo.clear(deviceId, kinds, at)) this.events.emit('alert', toAlert(row));
  }

  /** The box's status (retained, and its last will): offline takes every device of the venue with it. */
  async boxStatus(venueId: string, online: boolean): Promise<void> {
    const at = new Date();
    if (online) {
      await this.clear(venueId, ['box_offline'], at);
      const box = await this.repo.get(venueId);
      if (box && !box.online) {
        await this.repo.upsertCurrent([{ ...box, online: true, state: 'ok', updatedAt: at }]);
        this.events.emit('device', toEntry({ ...box, online: true, state: 'ok', updatedAt: at }));
      }
      return;
    }
    const went = await this.repo.setVenueOffline(venueId, at);
    for (const r of went) this.events.emit('device', toEntry(r));
    const name = (await this.venues.listVenues([venueId]))[0]?.name ?? venueId;
    await this.raise(venueId, venueId, null, 'box_offline', {
      en: `venue box of ${name} (${venueId}) is offline: its cameras are not watched; check its power and uplink`,
      zh: `${name}（${venueId}）的现场主机离线：其摄像机无人监看；请检查主机电源和上行网络`,
    }, at);
  }

  /** Room of each assigned sensor of a venue (room events of sensors get it at the centre). */
  sensorRooms(venueId: string): Promise<Map<string, string>> {
    return this.repo.sensorRooms(venueId);
  }

  /** Assigns a sensor to a room of its own venue (null = unassign). */
  async assignSensor(sensorId: string, roomId: string | null, user: Pick<User, 'venueIds' | 'username' | 'role'>): Promise<DeviceHealthEntry> {
    if (user.role !== 'admin' && user.role !== 'maintenance') throw new AppError('forbidden', { en: 'only administrators and maintenance staff assign sensors to rooms', zh: '只有系统管理员和运维人员可以为传感器分配房间' });
    const row = await this.visible(sensorId, user);
    if (row.kind !== 'sensor') throw new AppError('bad_request', { en: `${sensorId} is a ${row.kind}, not a sensor`, zh: `${sensorId} 是${nameIn(DEVICE_KIND_NAMES, row.kind, 'zh')}，不是传感器` });
    if (roomId !== null) {
      if (venueOf(roomId) !== row.venueId) throw new AppError('bad_request', { en: `room ${roomId} is not in the sensor's venue ${row.venueId}`, zh: `房间 ${roomId} 不在该传感器所在的场地 ${row.venueId}` });
      if (!(await this.venues.listRooms([row.venueId])).some((r) => r.id === roomId)) throw new AppError('not_found', { en: `room ${roomId} does not exist: the venue box must list it`, zh: `房间 ${roomId} 不存在：须先由现场主机上报该房间` });
    }
    await this.repo.assignSensor(sensorId, row.venueId, roomId, user.username);
    this.log.info({ sensorId, roomId, by: user.username }, 'sensor assigned to a room');
    const entry = toEntry({ ...row, roomId, data: { ...(row.data as object), sensor: { ...((row.data as HealthData).sensor as SensorHealth), roomId } } });
    this.events.emit('device', entry);
    return entry;
  }

  async list(user: Pick<User, 'venueIds'>): Promise<DeviceList> {
    const ids = user.venueIds;
    const [venueRows, rooms, status, current, intact] = await Promise.all([
      this.venues.listVenues(ids),
      this.venues.listRooms(ids),
      this.venues.listStatus(),
      this.repo.current(ids),
      this.repo.intactDaily(ids, localDay(new Date(), this.timeZone)),
    ]);
    const st = new Map(status.map((s) => [s.venueId, s]));
    return {
      venues: venueRows.map((v) => {
        const today = intact.find((i) => i.venueId === v.id);
        return {
          id: v.id,
          name: v.name,
          online: st.get(v.id)?.online ?? false,
          lastSeen: st.get(v.id)?.lastSeen.toISOString() ?? null,
          rooms: rooms.filter((r) => r.venueId === v.id).map((r) => ({ id: r.id, name: r.name })),
          intactRateToday: today && today.cameraSamples > 0 ? today.intactSamples / today.cameraSamples : null,
        };
      }),
      devices: current.map(toEntry),
    };
  }

  private async visible(deviceId: string, user: Pick<User, 'venueIds'>): Promise<DeviceHealthRow> {
    const row = await this.repo.get(deviceId);
    if (!row || (user.venueIds && !user.venueIds.includes(row.venueId))) throw new AppError('not_found', { en: `device ${deviceId} is not known (or not yours to see)`, zh: `设备 ${deviceId} 不存在（或不在您的查看范围内）` });
    return row;
  }

  async history(deviceId: string, hours: number, user: Pick<User, 'venueIds'>): Promise<DeviceHistory> {
    await this.visible(deviceId, user);
    const rows = await this.repo.history(deviceId, new Date(Date.now() - hours * 3600_000));
    return {
      deviceId,
      bucketMinutes: this.settings.historyBucketMinutes,
      points: rows.map((r) => ({
        at: r.bucket.toISOString(),
        online: r.samples > 0 ? r.onlineSamples / r.samples : 0,
        fps: r.fpsN > 0 ? Math.round((r.fpsSum / r.fpsN) * 10) / 10 : null,
        bitrateKbps: r.bitrateN > 0 ? Math.round(r.bitrateSum / r.bitrateN) : null,
        clockOffsetMs: r.clockOffsetMs,
        lastSegmentAgeSeconds: r.maxSegmentAgeS,
      })),
    };
  }

  async alerts(user: Pick<User, 'venueIds'>, openOnly: boolean): Promise<Alert[]> {
    return (await this.repo.alerts(user.venueIds, openOnly)).map(toAlert);
  }

  async acknowledge(id: string, user: Pick<User, 'venueIds' | 'username'>): Promise<Alert> {
    const row = await this.repo.alert(id);
    if (!row || (user.venueIds && !user.venueIds.includes(row.venueId))) throw new AppError('not_found', { en: `alert ${id} does not exist`, zh: `告警 ${id} 不存在` });
    const acked = await this.repo.acknowledge(id, user.username, new Date());
    const alert = toAlert(acked!);
    this.events.emit('alert', alert);
    return alert;
  }

  async intactDaily(user: Pick<User, 'venueIds'>, days: number): Promise<DailyIntactRate[]> {
    const from = localDay(new Date(Date.now() - (days - 1) * 86_400_000), this.timeZone);
    return (await this.repo.intactDaily(user.venueIds, from)).map((r) => ({
      venueId: r.venueId,
      day: r.day,
      rate: r.cameraSamples > 0 ? r.intactSamples / r.cameraSamples : 0,
      samples: r.cameraSamples,
    }));
  }

  /** One sample of the camera intact rate: a camera counts as intact when it is online, recording and in state ok. */
  async sampleIntact(at = new Date()): Promise<void> {
    const rows = (await this.repo.current(null)).filter((r) => r.kind === 'camera');
    const byVenue = new Map<string, { cameras: number; intact: number }>();
    for (const r of rows) {
      const v = byVenue.get(r.venueId) ?? { cameras: 0, intact: 0 };
      v.cameras++;
      const cam = (r.data as HealthData).camera;
      if (r.online && r.state === 'ok' && cam?.recording) v.intact++;
      byVenue.set(r.venueId, v);
    }
    const day = localDay(at, this.timeZone);
    for (const [venueId, v] of byVenue) await this.repo.addIntactSample(venueId, day, v.cameras, v.intact);
  }

  /** Intact-rate sampling and history pruning; returns the stopper. */
  startTimers(): () => void {
    const sample = setInterval(() => void this.sampleIntact().catch((err: Error) => this.log.warn({ err: err.message }, 'intact-rate sample failed')), this.settings.intactSampleSeconds * 1000);
    const prune = setInterval(() => void this.repo.pruneHistory(new Date(Date.now() - this.settings.historyDays * 86_400_000)).catch(() => {}), 3600_000);
    sample.unref();
    prune.unref();
    return () => {
      clearInterval(sample);
      clearInterval(prune);
    };
  }
}
