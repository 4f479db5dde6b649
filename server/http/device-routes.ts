import express, { Router, type Request } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BoxCommandName, CameraId, SensorRoomAssignment, type Alert, type AlertList, type DeviceHealthEntry } from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import type { DeviceHealthService } from '../services/device-health.ts';
import type { RoomEventService } from '../services/room-events.ts';
import type { PreSessionCheckService } from '../services/pre-session-check.ts';
import type { VenueLink } from '../broker/venue-link.ts';
import { canSeeVenue, requireCapability } from '../services/access.ts';
import { AppError } from '../services/errors.ts';
import { currentUser, requireUser } from './auth.ts';
import { parseWith } from './errors.ts';

/**
 * Device health API: the board (GET /devices), a device's history, the alerts with acknowledge,
 * the daily intact rate, and an SSE stream of changes (GET /devices/events) scoped, like every
 * answer here, to the venues the user may see.
 */

const HistoryQuery = z.object({ hours: z.coerce.number().min(0.1).max(24 * 90).default(24) });
const AlertQuery = z.object({ open: z.enum(['0', '1', 'true', 'false']).optional() });
const IntactQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

const CommandRequest = z.object({ command: BoxCommandName, cameraId: CameraId.optional() });
const EventQuery = z.object({ roomId: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) });

export function deviceRouter(deps: { auth: AuthService; health: DeviceHealthService; roomEvents: RoomEventService; preSessionCheck: PreSessionCheckService; link: VenueLink; logger: Logger; heartbeatMs?: number }): Router {
  const r = Router();
  const signedIn = requireUser(deps.auth);

  r.get('/devices', signedIn, async (_req, res) => {
    res.json(await deps.health.list(currentUser(res)));
  });

  r.get('/devices/events', signedIn, (req, res) => {
    const user = currentUser(res);
    const mine = (venueId: string): boolean => canSeeVenue(user, venueId);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const onDevice = (d: DeviceHealthEntry): void => {
      if (mine(d.venueId)) send('device', d);
    };
    const onAlert = (a: Alert): void => {
      if (mine(a.venueId)) send('alert', a);
    };
    const onRoomEvent = (e: { venueId: string }): void => {
      if (mine(e.venueId)) send('room-event', e);
    };
    deps.health.events.on('device', onDevice);
    deps.health.events.on('alert', onAlert);
    deps.health.events.on('room-event', onRoomEvent);
    // Proxies drop quiet connections: a comment line now and then keeps it open.
    const beat = setInterval(() => res.write(': keep-alive\n\n'), deps.heartbeatMs ?? 15_000);
    req.on('close', () => {
      clearInterval(beat);
      deps.health.events.off('device', onDevice);
      deps.health.events.off('alert', onAlert);
      deps.health.events.off('room-event', onRoomEvent);
    });
  });

  r.get('/devices/intact-rate', signedIn, async (req, res) => {
    const q = parseWith(IntactQuery, req.query, { en: 'intact-rate query', zh: '完好率查询条件' });
    res.json({ days: await deps.health.intactDaily(currentUser(res), q.days) });
  });

  r.get('/devices/:id/history', signedIn, async (req, res) => {
    const q = parseWith(HistoryQuery, req.query, { en: 'history query (hours)', zh: '历史查询条件（小时数）' });
    res.json(await deps.health.history(param(req, 'id'), q.hours, currentUser(res)));
  });

  r.put('/sensors/:id/room', signedIn, express.json({ limit: '4kb' }), async (req, res) => {
    requireCapability(currentUser(res), 'sensor.assign', { en: 'assign sensors to rooms', zh: '为传感器分配房间' });
    const body = parseWith(SensorRoomAssignment, req.body, { en: 'sensor room ({"roomId": "<venue>.<room>"} or null)', zh: '传感器所在房间' });
    res.json(await deps.health.assignSensor(param(req, 'id'), body.roomId, currentUser(res)));
  });

  const sessionId = (req: Request): string => {
    const id = param(req, 'id');
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('not_found', { en: `session ${id} does not exist`, zh: `场次 ${id} 不存在` });
    return id;
  };
  r.get('/sessions/:id/pre-check', signedIn, async (req, res) => {
    const result = await deps.preSessionCheck.result(sessionId(req), currentUser(res));
    if (!result) throw new AppError('not_found', { en: 'this session has not been checked yet: it is checked before it starts, or run the check now (POST)', zh: '该场次尚未进行场前检查：场次开始前会自动检查，也可以现在执行检查' });
    res.json(result);
  });
  r.post('/sessions/:id/pre-check', signedIn, async (req, res) => {
    requireCapability(currentUser(res), 'session.precheck', { en: 'run the pre-session check', zh: '执行场前检查' });
    res.json(await deps.preSessionCheck.runFor(sessionId(req), currentUser(res)));
  });

  // Commands to a venue box (maintenance): rescan, snapshot, restart a recorder, reload settings.
  r.post('/venues/:id/commands', signedIn, express.json({ limit: '4kb' }), async (req, res) => {
    const user = currentUser(res);
    const venueId = param(req, 'id');
    if (!canSeeVenue(user, venueId)) throw new AppError('not_found', { en: `venue ${venueId} does not exist`, zh: `场地 ${venueId} 不存在` });
    requireCapability(user, 'device.command', { en: 'send commands to venue boxes', zh: '向现场主机发送指令' });
    const body = parseWith(CommandRequest, req.body, { en: 'command', zh: '指令' });
    try {
      const reply = await deps.link.sendCommand(venueId, body.command, body.cameraId);
      deps.logger.info({ venueId, command: body.command, cameraId: body.cameraId, ok: reply.ok, by: user.username }, 'venue box command answered');
      res.json(reply);
    } catch (err) {
      const message = (err as Error).message;
      throw new AppError('unavailable', { en: message, zh: `指令未能完成，请确认现场主机在线后重试：${message}` });
    }
  });

  r.get('/events', signedIn, async (req, res) => {
    const q = parseWith(EventQuery, req.query, { en: 'events query (roomId, limit)', zh: '房间事件查询条件' });
    res.json(await deps.roomEvents.list(currentUser(res), q));
  });

  r.get('/alerts', signedIn, async (req, res) => {
    const q = parseWith(AlertQuery, req.query, { en: 'alerts query', zh: '告警查询条件' });
    const answer: AlertList = { alerts: await deps.health.alerts(currentUser(res), q.open === '1' || q.open === 'true') };
    res.json(answer);
  });

  r.post('/alerts/:id/acknowledge', signedIn, async (req, res) => {
    const id = param(req, 'id');
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('not_found', { en: `alert ${id} does not exist`, zh: `告警 ${id} 不存在` });
    requireCapability(currentUser(res), 'device.acknowledge', { en: 'acknowledge alerts', zh: '确认告警' });
    res.json(await deps.health.acknowledge(id, currentUser(res)));
  });

  return r;
}
