import express, { Router, type Request } from 'express';
import type { Logger } from 'pino';
import { ExportDecision, ExportRequestCreate, ExportStatus } from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import { ExportCancelled, type EvidenceExportService } from '../services/evidence-export.ts';
import type { ExportRequestService } from '../services/export-requests.ts';
import { currentUser, requireUser } from './auth.ts';
import { parseWith } from './errors.ts';

export interface ExportRouteDeps {
  auth: AuthService;
  requests: ExportRequestService;
  evidence: EvidenceExportService;
  logger: Logger;
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** `/api/exports/...`: footage export requests (调取录像申请), their decisions and the download of an approved one. */
export function exportRouter(deps: ExportRouteDeps): Router {
  const r = Router();
  const json = express.json({ limit: '16kb' });
  const signedIn = requireUser(deps.auth);

  r.get('/exports', signedIn, async (req, res) => {
    const status = req.query.status === undefined ? undefined : parseWith(ExportStatus, req.query.status, { en: 'status (pending, approved, rejected or withdrawn)', zh: '申请状态' });
    res.json(await deps.requests.list(currentUser(res), { status }));
  });

  r.post('/exports', signedIn, json, async (req, res) => {
    const body = parseWith(ExportRequestCreate, req.body, { en: 'export request', zh: '导出申请' });
    res.status(201).json(await deps.requests.create(body, currentUser(res)));
  });

  r.get('/exports/:id', signedIn, async (req, res) => {
    res.json(await deps.requests.detail(param(req, 'id'), currentUser(res)));
  });

  r.post('/exports/:id/decision', signedIn, json, async (req, res) => {
    const body = parseWith(ExportDecision, req.body, { en: 'decision ({approve, note}; a refusal needs a note)', zh: '审批（驳回须填写审批意见）' });
    res.json(await deps.requests.decide(param(req, 'id'), body, currentUser(res)));
  });

  r.post('/exports/:id/withdraw', signedIn, async (req, res) => {
    res.json(await deps.requests.withdraw(param(req, 'id'), currentUser(res)));
  });

  r.get('/exports/:id/download', signedIn, async (req, res) => {
    const user = currentUser(res);
    const pkg = await deps.requests.openDownload(param(req, 'id'), user);
    const q = pkg.request;
    const name = `${q.projectCode ?? q.roomName}-${q.from.slice(0, 10)}.zip`;
    res.set({
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      'Cache-Control': 'no-store',
    });
    try {
      await deps.evidence.write(pkg, user, res);
    } catch (err) {
      if (!(err instanceof ExportCancelled)) throw err;
      deps.logger.info({ exportRequestId: q.id, venueId: q.venueId, by: user.username }, 'evidence export cancelled: its reader went away');
    }
  });

  return r;
}
