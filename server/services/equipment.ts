import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { MaintenanceTicket, RoomChecklist, TicketStatus, User } from '../../protocol/index.ts';
import { nameIn, TICKET_STATUS_NAMES } from '../../protocol/index.ts';
import type { EquipmentCheckCreate as CheckSchema, TicketTransition as TicketSchema } from '../../protocol/ledger.ts';
import { queryRows, type Database } from '../db/client.ts';
import type { VenueRepository } from '../repositories/venues.ts';
import { canSeeVenue, requireCapability } from './access.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';

type CheckInput = z.output<typeof CheckSchema>;
type TicketInput = z.output<typeof TicketSchema>;


interface ItemRow {
  code: string;
  room_kinds: string[] | string;
  per_camera: boolean;
  zh: string;
  en: string;
}

interface TicketRow {
  id: string;
  venue_id: string;
  room_id: string;
  device_id: string | null;
  check_id: string;
  item: string;
  note: string;
  status: string;
  opened_at: Date | string;
  started_at: Date | string | null;
  closed_at: Date | string | null;
  resolution: string | null;
}

/** Ticket statuses as the dashboard names them (dashboard/src/i18n/zh-CN.ts `ticketStatus`), for Chinese refusals. */

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
/** pg returns text[] as an array, PGlite may too; tolerate the literal "{a,b}" form as well. */
const kinds = (v: string[] | string): string[] => (Array.isArray(v) ? v : v.replace(/^\{|\}$/g, '').split(',').filter(Boolean));

function toTicket(r: TicketRow): MaintenanceTicket {
  return {
    id: r.id,
    venueId: r.venue_id,
    roomId: r.room_id,
    deviceId: r.device_id,
    checkId: r.check_id,
    item: r.item,
    note: r.note,
    status: r.status as TicketStatus,
    openedAt: iso(r.opened_at)!,
    startedAt: iso(r.started_at),
    closedAt: iso(r.closed_at),
    resolution: r.resolution,
  };
}

/**
 * Equipment patrol: a checklist per room kind; every failed item opens a maintenance ticket on the
 * device (camera) or room, which maintenance works open → in progress → closed. All in the audit trail.
 */
export class EquipmentService {
  constructor(
    private readonly db: Database,
    private readonly venues: VenueRepository,
    private readonly audit: AuditService,
    private readonly logger: Logger,
  ) {}

  private async room(roomId: string, user: User) {
    const room = await this.venues.getRoom(roomId);
    if (!room || !canSeeVenue(user, room.venueId)) throw new AppError('not_found', { en: `room "${roomId}" does not exist`, zh: `房间“${roomId}”不存在` });
    return room;
  }

  async checklist(roomId: string, user: User): Promise<RoomChecklist> {
    const room = await this.room(roomId, user);
    const items = await queryRows<ItemRow>(this.db, sql`SELECT * FROM equipment_checklist_items ORDER BY sort, code`);
    const cameras = await this.venues.camerasInRoom(roomId);
    return {
      roomId,
      items: items.filter((i) => kinds(i.room_kinds).length === 0 || kinds(i.room_kinds).includes(room.kind)).map((i) => ({ code: i.code, perCamera: i.per_camera, zh: i.zh, en: i.en })),
      cameras: cameras.map((c) => ({ id: c.id, name: c.name })),
    };
  }

  async check(input: CheckInput, user: User): Promise<{ checkId: string; tickets: MaintenanceTicket[] }> {
    requireCapability(user, 'equipment.check', { en: 'record equipment checks', zh: '登记设备巡检' });
    const room = await this.room(input.roomId, user);
    const list = await this.checklist(input.roomId, user);
    const items = new Map(list.items.map((i) => [i.code, i]));
    const cameraIds = new Set(list.cameras.map((c) => c.id));
    for (const r of input.results) {
      const item = items.get(r.item);
      if (!item) throw new AppError('bad_request', { en: `"${r.item}" is not on the checklist of room "${input.roomId}"`, zh: `“${r.item}”不是房间“${input.roomId}”的巡检项目` });
      if (item.perCamera && (!r.deviceId || !cameraIds.has(r.deviceId))) {
        throw new AppError('bad_request', {
          en: `"${r.item}" is checked per camera: name one of the room's cameras (${[...cameraIds].join(', ') || 'none reported'})`,
          zh: `“${r.item}”须逐台摄像机检查：请选择本房间的一台摄像机（${[...cameraIds].join('、') || '尚未上报摄像机'}）`,
        });
      }
      if (!item.perCamera && r.deviceId) throw new AppError('bad_request', { en: `"${r.item}" concerns the room, not a camera: leave deviceId empty`, zh: `“${r.item}”针对房间而非摄像机：请不要选择摄像机` });
    }
    const checkId = randomUUID();
    const at = new Date();
    const tickets = await this.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO equipment_checks (id, venue_id, room_id, results, by_id, by_name, at)
        VALUES (${checkId}, ${room.venueId}, ${input.roomId}, ${JSON.stringify(input.results)}::jsonb, ${user.id}, ${user.displayName || user.username}, ${at.toISOString()}::timestamptz)`);
      await this.audit.append({ actorId: user.id, actor: user.username, action: 'equipment.check', venueId: room.venueId, subjectType: 'room', subjectId: input.roomId, detail: { checkId, failed: input.results.filter((r) => !r.ok).length, total: input.results.length } }, tx);
      const opened: MaintenanceTicket[] = [];
      for (const r of input.results.filter((x) => !x.ok)) {
        const id = randomUUID();
        const [row] = await queryRows<TicketRow>(
          tx,
          sql`INSERT INTO maintenance_tickets (id, venue_id, room_id, device_id, check_id, item, note, status, opened_by, opened_at)
            VALUES (${id}, ${room.venueId}, ${input.roomId}, ${r.deviceId}, ${checkId}, ${r.item}, ${r.note}, 'open', ${user.id}, ${at.toISOString()}::timestamptz) RETURNING *`,
        );
        await this.audit.append({ actorId: user.id, actor: user.username, action: 'ticket.open', venueId: room.venueId, subjectType: 'maintenance_ticket', subjectId: id, detail: { item: r.item, deviceId: r.deviceId, note: r.note, checkId } }, tx);
        opened.push(toTicket(row!));
      }
      return opened;
    });
    this.logger.info({ venueId: room.venueId, roomId: input.roomId, checkId, tickets: tickets.length }, 'equipment check recorded');
    return { checkId, tickets };
  }

  async tickets(user: User, status?: TicketStatus): Promise<MaintenanceTicket[]> {
    const scope = user.venueIds === null ? sql`TRUE` : user.venueIds.length ? sql`venue_id IN (${sql.join(user.venueIds.map((v) => sql`${v}`), sql`, `)})` : sql`FALSE`;
    const byStatus = status ? sql`AND status = ${status}` : sql``;
    return (await queryRows<TicketRow>(this.db, sql`SELECT * FROM maintenance_tickets WHERE ${scope} ${byStatus} ORDER BY opened_at DESC LIMIT 500`)).map(toTicket);
  }

  async transition(id: string, input: TicketInput, user: User): Promise<MaintenanceTicket> {
    const found = /^[0-9a-f-]{36}$/i.test(id) ? (await queryRows<TicketRow>(this.db, sql`SELECT * FROM maintenance_tickets WHERE id = ${id}`))[0] : undefined;
    if (!found || !canSeeVenue(user, found.venue_id)) throw new AppError('not_found', { en: `maintenance ticket ${id} does not exist`, zh: `维修工单 ${id} 不存在` });
    requireCapability(user, 'ticket.work', { en: 'work maintenance tickets', zh: '处理维修工单' });
    return this.db.transaction(async (tx) => {
      const [t] = await queryRows<TicketRow>(tx, sql`SELECT * FROM maintenance_tickets WHERE id = ${id} FOR UPDATE`);
      const at = new Date().toISOString();
      let row: TicketRow | undefined;
      if (input.action === 'start') {
        if (t!.status !== 'open') throw new AppError('conflict', { en: `ticket is "${t!.status}": only an open ticket can be started`, zh: `工单当前为“${nameIn(TICKET_STATUS_NAMES, t!.status, 'zh')}”：只有待处理的工单可以开始维修` });
        [row] = await queryRows<TicketRow>(tx, sql`UPDATE maintenance_tickets SET status = 'in_progress', started_by = ${user.id}, started_at = ${at}::timestamptz WHERE id = ${id} RETURNING *`);
      } else {
        if (t!.status === 'closed') throw new AppError('conflict', { en: 'ticket is already closed', zh: '工单已关闭' });
        [row] = await queryRows<TicketRow>(tx, sql`UPDATE maintenance_tickets SET status = 'closed', closed_by = ${user.id}, closed_at = ${at}::timestamptz, resolution = ${input.resolution} WHERE id = ${id} RETURNING *`);
      }
      await this.audit.append({ actorId: user.id, actor: user.username, action: `ticket.${input.action}`, venueId: t!.venue_id, subjectType: 'maintenance_ticket', subjectId: id, detail: { ...input } }, tx);
      return toTicket(row!);
    });
  }
}
