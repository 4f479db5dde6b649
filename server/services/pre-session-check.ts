import { and, eq, gt, lte } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { CameraHealth, PreSessionCheckItem, PreSessionCheckResult, SensorHealth, User } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import { deviceHealth, preSessionChecks } from '../db/health-schema.ts';
import { bidSessions, cameras } from '../db/schema.ts';
import type { SessionRepository, SessionWithPlace } from '../repositories/sessions.ts';
import type { DeviceHealthService } from './device-health.ts';
import { AppError } from './errors.ts';

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
    const add = (deviceId: string, name: string, kind: PreSessionCheckItem['kind'], check: PreSessionCheckItem['check'], ok: boolean, detail: string): void => {
      items.push({ deviceId, name, kind, check, ok, detail });
    };
    const cameraIds = new Set([...roomCameras.map((c) => c.id), ...current.filter((r) => r.kind === 'camera').map((r) => r.deviceId)]);
    if (cameraIds.size === 0) add(s.roomId, s.roomName, 'room', 'present', false, 'no camera is assigned to this room: the session would not be recorded');
    for (const id of [...cameraIds].sort()) {
      const row = byId.get(id);
      const inv = roomCameras.find((c) => c.id === id);
      const name = row?.name ?? inv?.name ?? id;
      const cam = (row?.data as { camera?: CameraHealth } | undefined)?.camera;
      const online = !!row?.online;
      add(id, name, 'camera', 'online', online, online ? 'online' : `offline (${row?.state ?? 'no health report'}${cam?.lastError ? `: ${cam.lastError}` : ''})`);
      const recording = online && !!cam?.recording;
      add(id, name, 'camera', 'recording', recording, recording ? `recording, last segment ${cam?.lastSegmentAgeSeconds ?? '?'} s ago` : 'not recording');
      if (this.settings.requireAudio) {
        const audio = cam?.hasAudio === true || (cam?.hasAudio == null && !!inv?.audioCodec);
        add(id, name, 'camera', 'audio', audio, audio ? 'audio present' : 'no audio track: check the audio pickup (拾音器)');
      }
      const offset = cam?.clockOffsetMs ?? null;
      const clockOk = row?.state !== 'clock_drift';
      add(id, name, 'camera', 'clock', clockOk, offset === null ? 'clock not measured yet' : `clock offset ${(offset / 1000).toFixed(1)} s`);
    }
    for (const r of current.filter((r) => r.kind === 'sensor')) {
      const sensor = (r.data as { sensor?: SensorHealth }).sensor;
      add(r.deviceId, r.name, 'sensor', 'online', r.online, r.online ? `last seen ${sensor?.lastSeen ?? '?'}` : 'not heard from: check its battery and radio link');
      if (sensor?.kind === 'shielding') add(r.deviceId, r.name, 'sensor', 'shielding', r.online, r.online ? `shielding reports ${sensor.value === true ? 'on' : 'off'}` : 'shielding state unknown');
    }
    return items;
  }

  /** Runs the check of one session now, stores it and raises an alert per failing device. */
  async run(sessionId: string, now = new Date()): Promise<PreSessionCheckResult> {
    const s = await this.sessions.get(sessionId);
    if (!s) throw new AppError('not_found', `session ${sessionId} does not exist`);
    const items = await this.evaluate(s);
    const result: PreSessionCheckResult = { sessionId: s.id, roomId: s.roomId, roomName: s.roomName, checkedAt: now.toISOString(), ok: items.every((i) => i.ok), items };
    await this.db
      .insert(preSessionChecks)
      .values({ sessionId: s.id, checkedAt: now, ok: result.ok, result })
      .onConflictDoUpdate({ target: preSessionChecks.sessionId, set: { checkedAt: now, ok: result.ok, result } });
    const failing = new Map<string, PreSessionCheckItem[]>();
    for (const i of items.filter((i) => !i.ok)) failing.set(i.deviceId, [...(failing.get(i.deviceId) ?? []), i]);
    for (const [deviceId, fails] of failing) {
      const message =
        `pre-session check failed in ${s.roomName} (${s.roomId}) for ${fails[0]!.name} (${deviceId}) before session ${s.projectCode} ${s.projectName} ` +
        `at ${s.plannedStart.toISOString()}: ${fails.map((f) => `${f.check}: ${f.detail}`).join('; ')} — arrange a fallback recording`;
      await this.health.raise(s.venueId, deviceId, s.roomId, 'pre_session_check', message, now);
    }
    this.log[result.ok ? 'info' : 'warn']({ sessionId: s.id, roomId: s.roomId, venueId: s.venueId, failures: failing.size }, result.ok ? 'pre-session check passed' : 'pre-session check failed');
    return result;
  }

  async result(sessionId: string, user: Pick<User, 'venueIds'>): Promise<PreSessionCheckResult | null> {
    const s = await this.sessions.get(sessionId);
    if (!s || (user.venueIds && !user.venueIds.includes(s.venueId))) throw new AppError('not_found', `session ${sessionId} does not exist`);
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
