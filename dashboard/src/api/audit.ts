import { AuditChainCheck, AuditList, type AuditQueryInput } from '../../../protocol/audit.ts';
import { request } from './client.ts';

/** The audit trail (`/api/audit`), checked against the protocol's schemas. */
export const auditApi = {
  list(q: AuditQueryInput) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
    return request(`/api/audit?${params}`, AuditList);
  },
  checkChain: () => request('/api/audit/check', AuditChainCheck, { method: 'POST' }),
};
