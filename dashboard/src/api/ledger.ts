import { z } from 'zod';
import {
  EquipmentCheckResponse,
  MaintenanceTicket,
  QuarterlyReport,
  RoomChecklist,
  TicketList,
  type EquipmentCheckCreate,
  type TicketTransition,
  LedgerCategoryList,
  LedgerCreateResponse,
  LedgerEntryDetail,
  LedgerEntryList,
  PublicLedgerList,
  type LedgerEntryCreate,
  type LedgerTransition,
} from '../../../protocol/ledger.ts';
import { CSRF_HEADER } from '../../../protocol/api.ts';
import { ApiRequestError, apiHeaders, csrfToken, errorFromResponse, inLanguage, request } from './client.ts';

const PhotoAnswer = z.object({ id: z.string(), duplicate: z.boolean() });

/** The patrol ledger's calls (`/api/ledger/...`), checked against the protocol's schemas. */
export const ledgerApi = {
  categories: () => request('/api/ledger/categories', LedgerCategoryList),
  list: (query: { venueId?: string; status?: string } = {}) => {
    const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v) as Array<[string, string]>).toString();
    return request(`/api/ledger/entries${q ? `?${q}` : ''}`, LedgerEntryList);
  },
  create: (body: LedgerEntryCreate) => request('/api/ledger/entries', LedgerCreateResponse, { method: 'POST', body }),
  detail: (id: string) => request(`/api/ledger/entries/${encodeURIComponent(id)}`, LedgerEntryDetail),
  transition: (id: string, body: LedgerTransition) => request(`/api/ledger/entries/${encodeURIComponent(id)}/transitions`, LedgerEntryDetail, { method: 'POST', body }),
  checklist: (roomId: string) => request(`/api/ledger/checklists/${encodeURIComponent(roomId)}`, RoomChecklist),
  check: (body: EquipmentCheckCreate) => request('/api/ledger/equipment-checks', EquipmentCheckResponse, { method: 'POST', body }),
  tickets: () => request('/api/ledger/tickets', TicketList),
  ticketStep: (id: string, body: TicketTransition) => request(`/api/ledger/tickets/${encodeURIComponent(id)}/transitions`, MaintenanceTicket, { method: 'POST', body }),
  reportUrl: (q: { year: number; quarter: number; venueId?: string }, format: 'json' | 'csv' | 'xlsx') =>
    `/api/ledger/reports/quarterly?year=${q.year}&quarter=${q.quarter}${q.venueId ? `&venueId=${encodeURIComponent(q.venueId)}` : ''}&format=${format}`,
  report: (q: { year: number; quarter: number; venueId?: string }) => request(ledgerApi.reportUrl(q, 'json'), QuarterlyReport),
  correct: (id: string, body: { reason: string; description?: string; subjectName?: string }) =>
    request(`/api/ledger/entries/${encodeURIComponent(id)}/revisions`, LedgerEntryDetail, { method: 'POST', body }),
  publicList: () => request('/api/ledger/public', PublicLedgerList, { redirectOn401: false }),
  /** Uploads one (already resized) photo as the raw body; the server checks its bytes, not this type. */
  async addPhoto(entryId: string, photo: Blob): Promise<z.infer<typeof PhotoAnswer>> {
    const headers: Record<string, string> = { ...apiHeaders(), 'content-type': photo.type || 'image/jpeg' };
    const csrf = csrfToken();
    if (csrf) headers[CSRF_HEADER] = csrf;
    let res: Response;
    try {
      res = await fetch(`/api/ledger/entries/${encodeURIComponent(entryId)}/photos`, { method: 'POST', credentials: 'same-origin', headers, body: photo });
    } catch {
      throw new ApiRequestError(
        'unavailable',
        inLanguage({ en: 'Cannot reach the VenueWatch centre: the photo stays queued and is sent when the network is back.', zh: '无法连接 VenueWatch 中心：照片留在队列中，网络恢复后自动发送。' }),
        0,
      );
    }
    if (!res.ok) throw await errorFromResponse(res);
    return PhotoAnswer.parse(await res.json());
  },
};
