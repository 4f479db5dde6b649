import { and, eq, gt, lte } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { CameraHealth, PreSessionCheckItem, PreSessionCheckResult, SensorHealth, User } from '../../protocol/index.ts';
import { PRE_SESSION_CHECK_NAMES } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import { deviceHealth, preSessionChecks } from '../db/health-schema.ts';
import { bidSessions, cameras } from '../db/schema.ts';
import type { SessionRepository, SessionWithPlace } from '../repositories/sessions.ts';
import type { DeviceHealthService } from './device-health.ts';
import { AppError, type UserText } from './errors.ts';


/**
 * Pre-session check: `minutesBefore` a bid session's start, every camera and sensor of its room is
 * checked (online, recording, audio present, clock, shielding). Each failure raises an alert naming
 * the room, the device and the session, so maintenance can arrange a fallback recording in time;
 * the result is kept with the session (and can be run again by hand).
 */

export interface PreSessionCheckSettings {
  minutesBefore: number;
  intervalSeconds: number;
  requireAudio: boolean;
}

export class PreSessionCheckService {
  constructor(
    private readonly db: Database,
    private readonly sessions: SessionRepository,
    private readonly health: DeviceHealthService,
    private readonly settings: PreSessionCheckSettings,
    private readonly log: Logger,
  ) {}

  /** The checks of one session's room as things stand now. */
  private async evaluate(s: SessionWithPlace): Promise<PreSessionCheckItem[]> {
    const [roomCameras, current] = await Promise.all([
      this.db.select().from(cameras).where(eq(cameras.roomId, s.roomId)),
      this.db.select().from(deviceHealth).where(eq(deviceHealth.roomId, s.roomId)),
    ]);
    const byId = new Map(current.map((r) => [r.deviceId, r]));
    const items: PreSessionCheckItem[] = [];
    const add = (deviceId: string, name: string, kind: PreSessionCheckItem['kind'], check: PreSessionCheckItem['check'], ok: boolean, detail: UserText): void => {
      items.push({ deviceId, name, kind, check, ok, detail: detail.en, detailZh: detail.zh });
    };
    const cameraIds = new Set([...roomCameras.map((c) => c.id), ...current.filter((r) => r.kind === 'camera').map((r) => r.deviceId)]);
    if (cameraIds.size === 0) add(s.roomId, s.roomName, 'room', 'present', false, { en: 'no camera is assigned to this room: the session would not be recorded', zh: '该房间没有配置摄像机：场次将无法录像' });
    for (const id of [...cameraIds].sort()) {
      const row = byId.get(id);
      const inv = roomCameras.find((c) => c.id === id);
      const name = row?.name ?? inv?.name ?? id;
      const cam = (row?.data as { camera?: CameraHealth } | undefined)?.camera;
      const online = !!row?.online;
      add(id, name, 'camera', 'online', online, online ? { en: 'online', zh: '在线' } : { en: `offline (${row?.state ?? 'no health report'}${cam?.lastError ? `: ${cam.lastError}` : ''})`, zh: `离线（${row?.state ?? '没有健康报告'}${cam?.lastError ? `：${cam.lastError}` : ''}）` });
      const recording = online && !!cam?.recording;
      add(id, name, 'camera', 'recording', recording, recording ? { en: `recording, last segment ${cam?.lastSegmentAgeSeconds ?? '?'} s ago`, zh: `正在录像，最近分段于 ${cam?.lastSegmentAgeSeconds ?? '?'} 秒前` } : { en: 'not recording', zh: '未在录像' });
      if (this.settings.requireAudio) {
        const audio = cam?.hasAudio === true || (cam?.hasAudio == null && !!inv?.audioCodec);
        add(id, name, 'camera', 'audio', audio, audio ? { en: 'audio present', zh: '有音频' } : { en: 'no audio track: check the audio pickup (拾音器)', zh: '没有音轨：请检查拾音器' });
      }
      const offset = cam?.clockOffsetMs ?? null;
      const clockOk = row?.state !== 'clock_drift';
      add(id, name, 'camera', 'clock', clockOk, offset === null ? { en: 'clock not measured yet', zh: '时钟尚未测量' } : { en: `clock offset ${(offset / 1000).toFixed(1)} s`, zh: `时钟偏差 ${(offset / 1000).toFixed(1)} 秒` });
    }
    for (const r of current.filter((r) => r.kind === 'sensor')) {
      const sensor = (r.data as { sensor?: SensorHealth }).sensor;
      add(r.deviceId, r.name, 'sensor', 'online', r.online, r.online ? { en: `last seen ${sensor?.lastSeen ?? '?'}`, zh: `最近消息 ${sensor?.lastSeen ?? '?'}` } : { en: 'not heard from: check its battery and radio link', zh: '没有消息：请检查电池和无线连接' });
      if (sensor?.kind === 'shielding') add(r.deviceId, r.name, 'sensor', 'shielding', r.online, r.online ? { en: `shielding reports ${sensor.value === true ? 'on' : 'off'}`, zh: `屏蔽器报告${sensor.value === true ? '开启' : '关闭'}` } : { en: 'shielding state unknown', zh: '屏蔽状态未知' });
    }
    return items;
  }

  /** Runs the check of one session now, stores it and raises an alert per failing device. */
  async run(sessionId: string, now = new Date()): Promise<PreSessionCheckResult> {
    const s = await this.sessions.get(sessionId);
    if (!s) throw new AppError('not_found', { en: `session ${sessionId} does not exist`, zh: `场次 ${sessionId} 不存在` });
    const items = await this.evaluate(s);
    const result: PreSessionCheckResult = { sessionId: s.id, roomId: s.roomId, roomName: s.roomName, checkedAt: now.toISOString(), ok: items.every((i) => i.ok), items };
    await this.db
      .insert(preSessionChecks)
      .values({ sessionId: s.id, checkedAt: now, ok: result.ok, result })
      .onConflictDoUpdate({ target: preSessionChecks.sessionId, set: { checkedAt: now, ok: result.ok, result } });
    const failing = new Map<string, PreSessionCheckItem[]>();
    for (const i of items.filter((i) => !i.ok)) failing.set(i.deviceId, [...(failing.get(i.deviceId) ?? []), i]);
    for (const [deviceId, fails] of failing) {
      const name = fails[0]!.name;
      const at = s.plannedStart.toISOString();
      await this.health.raise(s.venueId, deviceId, s.roomId, 'pre_session_check', {
        en:
          `pre-session check failed in ${s.roomName} (${s.roomId}) for ${name} (${deviceId}) before session ${s.projectCode} ${s.projectName} ` +
          `at ${at}: ${fails.map((f) => `${f.check}: ${f.detail}`).join('; ')} — arrange a fallback recording`,
        zh:
          `场次 ${s.projectCode} ${s.projectName}（${at} 开始）的场前检查未通过：${s.roomName}（${s.roomId}）的 ${name}（${deviceId}）——` +
          `${fails.map((f) => `${PRE_SESSION_CHECK_NAMES[f.check].zh}：${f.detailZh ?? f.detail}`).join('；')}。请安排备用录像`,
      }, now);
    }
    this.log[result.ok ? 'info' : 'warn']({ sessionId: s.id, roomId: s.roomId, venueId: s.venueId, failures: failing.size }, result.ok ? 'pre-session check passed' : 'pre-session check failed');
    return result;
  }

  async result(sessionId: string, user: Pick<User, 'venueIds'>): Promise<PreSessionCheckResult | null> {
    const s = await this.sessions.get(sessionId);
    if (!s || (user.venueIds && !user.venueIds.includes(s.venueId))) throw new AppError('not_found', { en: `session ${sessionId} does not exist`, zh: `场次 ${sessionId} 不存在` });
    const [row] = await this.db.select().from(preSessionChecks).where(eq(preSessionChecks.sessionId, sessionId));
    return row ? (row.result as PreSessionCheckResult) : null;
  }

  async runFor(sessionId: string, user: Pick<User, 'venueIds'>): Promise<PreSessionCheckResult> {
    await this.result(sessionId, user);
    return this.run(sessionId);
  }

  /** Checks sessions starting within minutesBefore that have no check yet. */
  async tick(now = new Date()): Promise<void> {
    const until = new Date(now.getTime() + this.settings.minutesBefore * 60_000);
    const due = await this.db
      .select({ id: bidSessions.id })
      .from(bidSessions)
      .where(and(gt(bidSessions.plannedStart, now), lte(bidSessions.plannedStart, until)));
    const checked = new Set((await this.db.select({ id: preSessionChecks.sessionId }).from(preSessionChecks)).map((r) => r.id));
    for (const { id } of due) {
      if (checked.has(id)) continue;
      try {
        await this.run(id, now);
      } catch (err) {
        this.log.error({ sessionId: id, err: (err as Error).message }, 'pre-session check could not run');
      }
    }
  }

  start(): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.tick()
        .catch((err: Error) => this.log.error({ err: err.message }, 'pre-session check round failed'))
        .finally(() => (running = false));
    }, this.settings.intervalSeconds * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
