import {
  ExportRequest,
  ExportRequestDetail,
  ExportRequestList,
  type ExportDecisionInput,
  type ExportRequestCreate,
  type ExportStatus,
} from '../../../protocol/exports.ts';
import { request } from './client.ts';

const one = (id: string) => `/api/exports/${encodeURIComponent(id)}`;

/** Footage export requests (`/api/exports/...`), checked against the protocol's schemas. */
export const exportsApi = {
  list: (status?: ExportStatus) => request(status ? `/api/exports?status=${status}` : '/api/exports', ExportRequestList),
  create: (body: ExportRequestCreate) => request('/api/exports', ExportRequest, { method: 'POST', body }),
  detail: (id: string) => request(one(id), ExportRequestDetail),
  decide: (id: string, body: ExportDecisionInput) => request(`${one(id)}/decision`, ExportRequest, { method: 'POST', body }),
  withdraw: (id: string) => request(`${one(id)}/withdraw`, ExportRequest, { method: 'POST' }),
  /** A plain link: the browser streams the ZIP to disk instead of this page holding it in memory. */
  downloadUrl: (id: string) => `${one(id)}/download`,
};
