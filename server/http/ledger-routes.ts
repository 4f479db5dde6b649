import express, { Router, type Request } from 'express';
import type { Logger } from 'pino';
import {
  EquipmentCheckCreate,
  TicketStatus,
  TicketTransition,
  type EquipmentCheckResponse,
  type TicketList,
  LedgerCategoryUpsert,
  LedgerEntryCorrection,
  LedgerEntryCreate,
  LedgerListQuery,
  LedgerTransition,
  type LedgerCategoryList,
  type LedgerEntryList,
  type PublicLedgerList,
} from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import type { AuditService } from '../services/audit.ts';
import type { EquipmentService } from '../services/equipment.ts';
import type { LedgerService } from '../services/ledger.ts';
import { currentUser, requireUser } from './auth.ts';
import { ledgerOpenApi } from './ledger-openapi.ts';
import { parseWith, sendError } from './errors.ts';

export interface LedgerRouteDeps {
  auth: AuthService;
  ledger: LedgerService;
  audit: AuditService;
  maxPhotoBytes: number;
  logger: Logger;
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** `/api/ledger/...`: thin controllers over LedgerService; `/public` is the only route without sign-in. */
export function ledgerRouter(deps: LedgerRouteDeps): Router {
  const r = Router();
  const json = express.json({ limit: '64kb' });
  const signedIn = requireUser(deps.auth);

  // Generated once: the schemas do not change while the centre runs.
  const openApi = ledgerOpenApi();
  r.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  r.get('/public', async (_req, res) => {
    const answer: PublicLedgerList = { entries: await deps.ledger.publicList() };
    res.set('Cache-Control', 'no-cache').json(answer);
  });

  r.get('/categories', signedIn, async (_req, res) => {
    const answer: LedgerCategoryList = { categories: await deps.ledger.categories() };
    res.json(answer);
  });

  r.put('/categories/:code', signedIn, json, async (req, res) => {
    const body = parseWith(LedgerCategoryUpsert, { ...(req.body as object), code: param(req, 'code') }, { en: 'category', zh: '问题类别' });
    await deps.ledger.upsertCategory(body, currentUser(res));
    res.status(204).end();
  });

  r.get('/entries', signedIn, async (req, res) => {
    const q = parseWith(LedgerListQuery, req.query, { en: 'ledger query', zh: '台账查询条件' });
    const answer: LedgerEntryList = { entries: await deps.ledger.list(currentUser(res), q) };
    res.json(answer);
  });

  r.post('/entries', signedIn, json, async (req, res) => {
    const body = parseWith(LedgerEntryCreate, req.body, { en: 'ledger entry', zh: '台账记录' });
    const answer = await deps.ledger.create(body, currentUser(res));
    res.status(answer.duplicate ? 200 : 201).json(answer);
  });

  r.get('/entries/:id', signedIn, async (req, res) => {
    res.json(await deps.ledger.detail(param(req, 'id'), currentUser(res)));
  });

  r.post('/entries/:id/transitions', signedIn, json, async (req, res) => {
    const body = parseWith(LedgerTransition, req.body, { en: 'ledger step', zh: '处理步骤' });
    res.json(await deps.ledger.transition(param(req, 'id'), body, currentUser(res)));
  });

  r.post('/entries/:id/revisions', signedIn, json, async (req, res) => {
    const body = parseWith(LedgerEntryCorrection, req.body, { en: 'correction', zh: '更正内容' });
    res.json(await deps.ledger.correct(param(req, 'id'), body, currentUser(res)));
  });

  r.post(
    '/entries/:id/photos',
    signedIn,
    (req, res, next) => {
      // Refuse before reading when the size is announced: a clear message instead of a cut connection.
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > deps.maxPhotoBytes) {
        req.resume();
        return sendError(res, 'payload_too_large', {
          en: `the photo is ${length} bytes; the limit is ${deps.maxPhotoBytes} bytes: let the tablet resize it and send it again`,
          zh: `照片大小为 ${length} 字节，上限为 ${deps.maxPhotoBytes} 字节：请让平板电脑压缩照片后重新发送`,
        });
      }
      next();
    },
    express.raw({ type: () => true, limit: deps.maxPhotoBytes }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await deps.ledger.addPhoto(param(req, 'id'), body, currentUser(res));
      res.status(answer.duplicate ? 200 : 201).json(answer);
    },
  );

  r.get('/photos/:id', signedIn, async (req, res) => {
    const photo = await deps.ledger.photo(param(req, 'id'), currentUser(res));
    res.set({ 'Content-Type': photo.contentType, 'Cache-Control': 'private, max-age=86400', 'X-Content-Type-Options': 'nosniff' }).send(photo.data);
  });

  return r;
}

/** `/api/ledger/checklists/:roomId`, `/equipment-checks`, `/tickets`: equipment patrol and maintenance. */
export function equipmentRouter(deps: { auth: AuthService; equipment: EquipmentService }): Router {
  const r = Router();
  const json = express.json({ limit: '256kb' });
  const signedIn = requireUser(deps.auth);
  r.get('/checklists/:roomId', signedIn, async (req, res) => {
    res.json(await deps.equipment.checklist(param(req, 'roomId'), currentUser(res)));
  });
  r.post('/equipment-checks', signedIn, json, async (req, res) => {
    const body = parseWith(EquipmentCheckCreate, req.body, { en: 'equipment check', zh: '设备巡检结果' });
    const answer: EquipmentCheckResponse = await deps.equipment.check(body, currentUser(res));
    res.status(201).json(answer);
  });
  r.get('/tickets', signedIn, async (req, res) => {
    const status = parseWith(TicketStatus.optional(), req.query.status, { en: 'ticket status', zh: '工单状态' });
    const answer: TicketList = { tickets: await deps.equipment.tickets(currentUser(res), status) };
    res.json(answer);
  });
  r.post('/tickets/:id/transitions', signedIn, json, async (req, res) => {
    const body = parseWith(TicketTransition, req.body, { en: 'ticket step', zh: '工单操作' });
    res.json(await deps.equipment.transition(param(req, 'id'), body, currentUser(res)));
  });
  return r;
}
