import { z } from 'zod';
import {
  ApiError,
  EquipmentCheckCreate,
  EquipmentCheckResponse,
  LedgerCategoryList,
  LedgerCategoryUpsert,
  LedgerCreateResponse,
  LedgerEntryCorrection,
  LedgerEntryCreate,
  LedgerEntryDetail,
  LedgerEntryList,
  LedgerTransition,
  MaintenanceTicket,
  PublicLedgerList,
  QuarterlyReport,
  RoomChecklist,
  TicketList,
  TicketTransition,
} from '../../protocol/index.ts';

/**
 * The OpenAPI 3.1 description of `/api/ledger`, generated from the same zod schemas the server
 * validates with, so it cannot drift from the code. Served at GET /api/ledger/openapi.json.
 */

const schemas = {
  ApiError,
  LedgerCategoryList,
  LedgerCategoryUpsert,
  LedgerEntryCreate,
  LedgerCreateResponse,
  LedgerEntryList,
  LedgerEntryDetail,
  LedgerTransition,
  LedgerEntryCorrection,
  PublicLedgerList,
  RoomChecklist,
  EquipmentCheckCreate,
  EquipmentCheckResponse,
  TicketList,
  TicketTransition,
  MaintenanceTicket,
  QuarterlyReport,
} as const;
type Name = keyof typeof schemas;

const ref = (name: Name) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: Name) => ({ content: { 'application/json': { schema: ref(name) } } });
const errors = {
  '400': { description: 'invalid input: the message names the field', ...json('ApiError') },
  '401': { description: 'not signed in', ...json('ApiError') },
  '403': { description: 'role may not do this, or CSRF header missing', ...json('ApiError') },
  '404': { description: 'does not exist or outside your venues', ...json('ApiError') },
};
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const csrf = { name: 'x-csrf-token', in: 'header', required: true, schema: { type: 'string' }, description: 'the vw_csrf cookie value (double submit)' };

function op(summary: string, opts: { body?: Name; ok: Name | null; okStatus?: string; params?: unknown[]; write?: boolean; extraOk?: Record<string, unknown>; public?: boolean }) {
  return {
    summary,
    ...(opts.public ? { security: [] } : {}),
    parameters: [...(opts.params ?? []), ...(opts.write ? [csrf] : [])],
    ...(opts.body ? { requestBody: { required: true, ...json(opts.body) } } : {}),
    responses: {
      [opts.okStatus ?? '200']: opts.ok ? { description: 'ok', ...json(opts.ok) } : { description: 'done' },
      ...(opts.extraOk ?? {}),
      ...(opts.public ? {} : errors),
    },
  };
}

export function ledgerOpenApi(): Record<string, unknown> {
  const components = Object.fromEntries(
    Object.entries(schemas).map(([name, s]) => {
      const { $schema: _drop, ...rest } = z.toJSONSchema(s as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      return [name, rest];
    }),
  );
  return {
    openapi: '3.1.0',
    info: { title: 'VenueWatch patrol issue ledger API (巡场问题台账)', version: '1' },
    servers: [{ url: '/' }],
    components: { schemas: components, securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'vw_session' } } },
    security: [{ session: [] }],
    paths: {
      '/api/ledger/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 JSON' } } } },
      '/api/ledger/public': { get: op('Published entries (公示), names redacted; no sign-in', { ok: 'PublicLedgerList', public: true }) },
      '/api/ledger/categories': { get: op('Issue categories', { ok: 'LedgerCategoryList' }) },
      '/api/ledger/categories/{code}': { put: op('Add or change a category (city-wide admin)', { body: 'LedgerCategoryUpsert', ok: null, okStatus: '204', params: [idParam('code')], write: true }) },
      '/api/ledger/entries': {
        get: op('Entries in your venues', { ok: 'LedgerEntryList', params: [{ name: 'venueId', in: 'query', schema: { type: 'string' } }, { name: 'status', in: 'query', schema: { type: 'string' } }, { name: 'limit', in: 'query', schema: { type: 'integer' } }] }),
        post: op('Log an entry (idempotent by clientKey: a resend answers 200 with the first save)', { body: 'LedgerEntryCreate', ok: 'LedgerCreateResponse', okStatus: '201', write: true, extraOk: { '200': { description: 'duplicate of an earlier save', ...json('LedgerCreateResponse') } } }),
      },
      '/api/ledger/entries/{id}': { get: op('One entry with steps, revisions, footage links, photos and the steps you may take', { ok: 'LedgerEntryDetail', params: [idParam('id')] }) },
      '/api/ledger/entries/{id}/transitions': { post: op('Take a flow step (409 when out of order)', { body: 'LedgerTransition', ok: 'LedgerEntryDetail', params: [idParam('id')], write: true }) },
      '/api/ledger/entries/{id}/revisions': { post: op('Correct an entry: a new revision, the old one stays readable', { body: 'LedgerEntryCorrection', ok: 'LedgerEntryDetail', params: [idParam('id')], write: true }) },
      '/api/ledger/entries/{id}/photos': {
        post: {
          summary: 'Attach a photo (raw JPEG/PNG/WebP body; 413 over the size limit, 415 when not an image)',
          parameters: [idParam('id'), csrf],
          requestBody: { required: true, content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } }, 'image/png': { schema: { type: 'string', format: 'binary' } }, 'image/webp': { schema: { type: 'string', format: 'binary' } } } },
          responses: { '201': { description: 'stored' }, '200': { description: 'the same photo was already stored' }, '413': { description: 'too large', ...json('ApiError') }, '415': { description: 'not an image', ...json('ApiError') }, ...errors },
        },
      },
      '/api/ledger/photos/{id}': { get: { summary: 'A photo', parameters: [idParam('id')], responses: { '200': { description: 'the image' }, ...errors } } },
      '/api/ledger/checklists/{roomId}': { get: op('Equipment checklist of a room (by its kind) and its cameras', { ok: 'RoomChecklist', params: [idParam('roomId')] }) },
      '/api/ledger/equipment-checks': { post: op('Record an equipment check; failed items open maintenance tickets', { body: 'EquipmentCheckCreate', ok: 'EquipmentCheckResponse', okStatus: '201', write: true }) },
      '/api/ledger/tickets': { get: op('Maintenance tickets in your venues', { ok: 'TicketList', params: [{ name: 'status', in: 'query', schema: { type: 'string' } }] }) },
      '/api/ledger/tickets/{id}/transitions': { post: op('Start or close a ticket', { body: 'TicketTransition', ok: 'MaintenanceTicket', params: [idParam('id')], write: true }) },
      '/api/ledger/reports/quarterly': {
        get: {
          summary: 'Quarterly report of a venue or of every venue in scope; format=csv|xlsx downloads',
          parameters: ['year', 'quarter', 'venueId', 'format'].map((name) => ({ name, in: 'query', required: name === 'year' || name === 'quarter', schema: { type: name === 'year' || name === 'quarter' ? 'integer' : 'string' } })),
          responses: { '200': { description: 'the report', content: { 'application/json': { schema: ref('QuarterlyReport') }, 'text/csv': {}, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {} } }, ...errors },
        },
      },
    },
  };
}
