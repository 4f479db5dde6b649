import ExcelJS from 'exceljs';
import type { QuarterlyReport } from '../../protocol/index.ts';

/** One row per figure: section, key, label, value. The sections mirror the report's fields. */
function rows(r: QuarterlyReport): Array<[string, string, string, string | number]> {
  const out: Array<[string, string, string, string | number]> = [
    ['period', 'year', '年度', r.year],
    ['period', 'quarter', '季度', r.quarter],
    ['period', 'from', '起', r.from],
    ['period', 'to', '止', r.to],
    ['period', 'venues', '场地', r.venueIds.join(' ')],
    ['summary', 'total', '问题总数', r.total],
    ['summary', 'medianHoursFoundToHandled', '发现至处理中位时长（小时）', r.medianHoursFoundToHandled ?? ''],
    ['summary', 'handledCount', '已处理数', r.handledCount],
    ['cameras', 'total', '摄像机总数（当前）', r.cameras.total],
    ['cameras', 'intact', '完好数（当前）', r.cameras.intact],
    ['cameras', 'intactRate', '摄像机完好率', r.cameras.intactRate ?? ''],
    ['cameras', 'basis', r.cameras.basis === 'health_samples' ? '完好率口径：季度内设备健康采样' : '完好率口径：当前状态（季度内无采样）', r.cameras.basis],
    ['cameras', 'sampledDays', '有采样的天数', r.cameras.sampledDays],
    ['cameras', 'checkPassRate', '巡检合格率', r.cameras.checkPassRate ?? ''],
  ];
  for (const c of r.byCategory) out.push(['category', c.key, c.label, c.count]);
  for (const c of r.bySubjectType) out.push(['subjectType', c.key, c.label, c.count]);
  for (const c of r.byStatus) out.push(['status', c.key, c.label, c.count]);
  return out;
}

const csvCell = (v: string | number): string => {
  const s = String(v);
  // Quote everything that needs it, and defuse spreadsheet formulas (=, +, -, @ at the start).
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function reportCsv(r: QuarterlyReport): string {
  // BOM: Excel on Chinese Windows opens UTF-8 CSV correctly only with it.
  return '\uFEFF' + [['section', 'key', 'label', 'value'], ...rows(r)].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export async function reportXlsx(r: QuarterlyReport): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'VenueWatch';
  const summary = wb.addWorksheet('汇总 Summary');
  summary.columns = [
    { header: 'section', key: 'section', width: 14 },
    { header: 'key', key: 'key', width: 28 },
    { header: 'label', key: 'label', width: 36 },
    { header: 'value', key: 'value', width: 24 },
  ];
  for (const [section, key, label, value] of rows(r)) summary.addRow({ section, key, label, value });
  summary.getRow(1).font = { bold: true };
  for (const [name, list] of [
    ['类别 Category', r.byCategory],
    ['对象 Subject', r.bySubjectType],
    ['状态 Status', r.byStatus],
  ] as const) {
    const ws = wb.addWorksheet(name);
    ws.columns = [
      { header: 'key', key: 'key', width: 28 },
      { header: 'label', key: 'label', width: 36 },
      { header: 'count', key: 'count', width: 10 },
    ];
    for (const c of list) ws.addRow(c);
    ws.getRow(1).font = { bold: true };
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
