import { Router } from 'express';
import { QuarterlyReportQuery } from '../../protocol/index.ts';
import type { AuthService } from '../services/auth.ts';
import { reportCsv, reportXlsx } from '../services/ledger-report-export.ts';
import type { LedgerReportService } from '../services/ledger-report.ts';
import { currentUser, requireUser } from './auth.ts';
import { parseWith } from './errors.ts';

/** `GET /api/ledger/reports/quarterly?year=&quarter=&venueId=&format=json|csv|xlsx`. */
export function reportRouter(deps: { auth: AuthService; reports: LedgerReportService }): Router {
  const r = Router();
  r.get('/reports/quarterly', requireUser(deps.auth), async (req, res) => {
    const q = parseWith(QuarterlyReportQuery, req.query, { en: 'report query', zh: '报表查询条件' });
    const report = await deps.reports.quarterly(currentUser(res), q);
    const name = `venuewatch-${q.venueId ?? 'city'}-${q.year}-Q${q.quarter}`;
    if (q.format === 'csv') {
      res.set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}.csv"` }).send(reportCsv(report));
    } else if (q.format === 'xlsx') {
      res
        .set({ 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Content-Disposition': `attachment; filename="${name}.xlsx"` })
        .send(await reportXlsx(report));
    } else {
      res.json(report);
    }
  });
  return r;
}
