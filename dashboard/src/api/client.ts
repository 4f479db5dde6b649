import { z } from 'zod';
import {
  CSRF_COOKIE,
  CSRF_HEADER,
  ApiError,
  ErrorCode,
  FootageStatus,
  LoginResponse,
  SessionDetail,
  SessionList,
  type SessionListQuery,
  BidSession,
  User,
  VenueList,
  type LoginRequest,
  type SessionCreate,
} from '../../../protocol/api.ts';
import type { UserText } from '../../../protocol/language.ts';

/**
 * The one way the dashboard talks to the centre. Every answer is checked against the protocol's
 * zod schema so a server/dashboard mismatch shows up as a clear error, not as `undefined` deep in
 * a template. Every failure becomes an ApiRequestError carrying the server's code and message.
 */

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The language the centre answers in (its errors' messages), kept in step with the dashboard's
 * locale by main.ts. This module stays free of vue-i18n so it runs in tests without a page.
 */
let language = 'zh-CN';

export function setApiLanguage(locale: string): void {
  language = locale;
}

/** Headers every call to the centre carries: JSON answers, in the dashboard's language. */
export function apiHeaders(): Record<string, string> {
  return { accept: 'application/json', 'accept-language': language };
}

/** The dashboard's own messages about a call (no answer, a broken answer), in its language. */
export function inLanguage(text: UserText): string {
  return language.startsWith('zh') ? text.zh : text.en;
}

type UnauthenticatedHandler = () => void;
let onUnauthenticated: UnauthenticatedHandler | null = null;

/** Registered once by main.ts: where to go when the server says the login has expired. */
export function setUnauthenticatedHandler(handler: UnauthenticatedHandler | null): void {
  onUnauthenticated = handler;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** False for the login and "who am I" calls, where 401 is an answer rather than an expiry. */
  redirectOn401?: boolean;
  signal?: AbortSignal;
}

function codeForStatus(status: number): ErrorCode {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  return 'internal';
}

/** Turns a failed response into an ApiRequestError, using the server's `{error:{code,message}}` when present. */
export async function errorFromResponse(res: Response): Promise<ApiRequestError> {
  const text = await res.text().catch(() => '');
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const parsed = ApiError.safeParse(json);
  if (parsed.success) return new ApiRequestError(parsed.data.error.code, parsed.data.error.message, res.status);
  // Not our error shape (a proxy page, a crash): keep the status and a short excerpt to act on.
  const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  const message = inLanguage({ en: `The centre answered ${status}${excerpt ? `: ${excerpt}` : ''}.`, zh: `中心返回 ${status}${excerpt ? `：${excerpt}` : ''}。` });
  return new ApiRequestError(codeForStatus(res.status), message, res.status);
}

/** The session's CSRF token, from the readable cookie the centre sets at sign-in (double submit). */
export function csrfToken(): string | null {
  // globalThis: the root tsconfig checks this file without the DOM library.
  const cookies = (globalThis as { document?: { cookie: string } }).document?.cookie ?? '';
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return null;
}

export async function request<S extends z.ZodType>(path: string, schema: S, options: RequestOptions = {}): Promise<z.infer<S>> {
  const method = options.method ?? 'GET';
  const headers = apiHeaders();
  const csrf = method === 'GET' ? null : csrfToken();
  if (csrf) headers[CSRF_HEADER] = csrf;
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }

  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiRequestError(
      'unavailable',
      inLanguage({
        en: 'Cannot reach the VenueWatch centre. Check the network connection and that the centre server is running, then try again.',
        zh: '无法连接 VenueWatch 中心。请检查网络连接和中心服务器是否在运行，然后重试。',
      }),
      0,
    );
  }

  if (!res.ok) {
    const error = await errorFromResponse(res);
    if (res.status === 401 && options.redirectOn401 !== false) onUnauthenticated?.();
    throw error;
  }

  if (res.status === 204) return schema.parse(undefined);
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new ApiRequestError(
      'internal',
      inLanguage({
        en: `The centre's answer to ${method} ${path} was not JSON. Reload the page; if it persists, report it to the administrator.`,
        zh: `中心对 ${method} ${path} 的应答不是 JSON。请刷新页面；如仍出现，请报告管理员。`,
      }),
      res.status,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown field';
    throw new ApiRequestError(
      'internal',
      inLanguage({
        en: `The centre's answer to ${method} ${path} does not match this dashboard (${where}). The dashboard and server versions may differ: reload the page.`,
        zh: `中心对 ${method} ${path} 的应答与本页面不符（${where}），可能是页面与服务器版本不同：请刷新页面。`,
      }),
      res.status,
    );
  }
  return parsed.data;
}

// "Who am I" answers like login does; a bare user is accepted too so the dashboard does not
// depend on that detail of the server.
const MeResponse = z.union([LoginResponse, User.transform((user) => ({ user }))]);
const Ignored = z.unknown();

export const api = {
  login: (body: LoginRequest) => request('/api/auth/login', LoginResponse, { method: 'POST', body, redirectOn401: false }),
  logout: () => request('/api/auth/logout', Ignored, { method: 'POST', redirectOn401: false }),
  me: () => request('/api/auth/me', MeResponse, { redirectOn401: false }),
  venues: () => request('/api/venues', VenueList),
  sessions: (q: SessionListQuery = {}) => {
    const params = new URLSearchParams(Object.entries(q).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
    const qs = params.toString();
    return request(qs ? `/api/sessions?${qs}` : '/api/sessions', SessionList);
  },
  // The create answer may be the session itself or wrapped; both are accepted.
  createSession: (body: SessionCreate) =>
    request('/api/sessions', z.union([BidSession, z.object({ session: BidSession }).transform((r) => r.session)]), { method: 'POST', body }),
  session: (id: string) => request(`/api/sessions/${encodeURIComponent(id)}`, SessionDetail),
  // Issue 5: footage only at the venue box is fetched on demand; the status says what to show.
  footageStatus: (cameraId: string, from: string, to: string) =>
    request(`/api/cameras/${encodeURIComponent(cameraId)}/footage-status?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, FootageStatus),
  fetchFootage: (cameraId: string, from: string, to: string) =>
    request(`/api/cameras/${encodeURIComponent(cameraId)}/fetch?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, FootageStatus, { method: 'POST' }),
};
