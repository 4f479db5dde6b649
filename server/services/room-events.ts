import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Logger } from 'pino';
import { venueOf, type RoomEventBatch, type RoomEventKind, type RoomEventList, type User } from '../../protocol/index.ts';
import type { Database } from '../db/client.ts';
import { roomEvents, type RoomEventRow } from '../db/health-schema.ts';
import type { DeviceHealthService } from './device-health.ts';
import { AppError, type UserText } from './errors.ts';

/**
 * Room events from the venue boxes: stored, streamed to the dashboard (SSE `room-event`), and a
 * tamper or video-loss event raises a camera-event alert that clears when the camera reports the
 * condition gone.
 */

const ALERTING: Partial<Record<RoomEventKind, UserText>> = {
  tamper: { en: 'tamper / scene change', zh: '遮挡/画面变化' },
  video_loss: { en: 'video loss', zh: '视频丢失' },
};

const toEvent = (r: RoomEventRow): RoomEventList['events'][number] => ({
  id: r.id,
  venueId: r.venueId,
  deviceId: r.deviceId,
  roomId: r.roomId,
  kind: r.kind as RoomEventKind,
  state: r.state,
  value: r.value === null ? null : Number.isFinite(Number(r.value)) && r.value.trim() !== '' ? Number(r.value) : r.value,
  at: r.at.toISOString(),
  source: r.source as 'onvif' | 'sensor' | 'agent',
  detail: r.detail,
});

export class RoomEventService {
  constructor(
    private readonly db: Database,
    private readonly health: DeviceHealthService,
    private readonly log: Logger,
  ) {}

  /** A batch naming another venue's device or room is refused whole (forged or misconfigured box). */
  async applyBatch(m: RoomEventBatch): Promise<void> {
    const foreign = m.events.flatMap((e) => [e.deviceId, ...(e.roomId ? [e.roomId] : [])]).find((id) => venueOf(id) !== m.venueId);
    if (foreign) throw AppError.forMachines('forbidden', `events of venue "${m.venueId}" name "${foreign}", which belongs to another venue`);
    const assigned = m.events.some((e) => e.source === 'sensor') ? await this.health.sensorRooms(m.venueId) : new Map<string, string>();
    const rows = m.events.map((e) => ({
      id: e.id,
      venueId: m.venueId,
      deviceId: e.deviceId,
      roomId: e.source === 'sensor' ? (assigned.get(e.deviceId) ?? e.roomId) : e.roomId,
      kind: e.kind,
      state: e.state,
      value: e.value === null ? null : String(e.value),
      at: new Date(e.at),
      source: e.source,
      detail: e.detail,
    }));
    const inserted = await this.db.insert(roomEvents).values(rows).onConflictDoNothing().returning();
    for (const r of inserted) {
      const ev = toEvent(r);
      this.health.events.emit('room-event', ev);
      const what = ALERTING[ev.kind];
      if (!what) continue;
      if (ev.state === false) await this.health.clear(ev.deviceId, ['camera_event'], new Date(ev.at));
      else {
        await this.health.raise(m.venueId, ev.deviceId, ev.roomId, 'camera_event', {
          en: `camera ${ev.deviceId} reports ${what.en}${ev.roomId ? ` in room ${ev.roomId}` : ''}: check the camera view now`,
          zh: `摄像机 ${ev.deviceId}${ev.roomId ? `（房间 ${ev.roomId}）` : ''}报告${what.zh}：请立即查看该摄像机画面`,
        }, new Date(ev.at));
      }
    }
    this.log.debug({ venueId: m.venueId, events: inserted.length }, 'room events stored');
  }

  async list(user: Pick<User, 'venueIds'>, q: { roomId?: string; limit: number }): Promise<RoomEventList> {
    const conds = [user.venueIds ? inArray(roomEvents.venueId, user.venueIds) : undefined, q.roomId ? eq(roomEvents.roomId, q.roomId) : undefined].filter(
      (c): c is NonNullable<typeof c> => c !== undefined,
    );
    const base = this.db.select().from(roomEvents);
    const rows = await (conds.length ? base.where(and(...conds)) : base).orderBy(desc(roomEvents.at)).limit(q.limit);
    return { events: rows.map(toEvent) };
  }
}
