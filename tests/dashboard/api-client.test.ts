import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiRequestError, request, setApiLanguage, setUnauthenticatedHandler } from '../../dashboard/src/api/client.ts';
import { SessionList } from '../../protocol/api.ts';

// A unit test of how the client reads answers: fetch is replaced by canned responses.
function respond(status: number, body: unknown, contentType = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response(text, { status, headers: { 'content-type': contentType } }));
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

const session = {
  id: '0b0a4f4e-6a8d-4a53-9d6e-8a3b1f1e7c11',
  projectCode: 'GC-2026-017',
  projectName: '县人民医院门诊楼改造工程',
  kind: 'bid_opening',
  venueId: 'county-a',
  venueName: '县公共资源交易中心',
  roomId: 'county-a.room-1',
  roomName: '第一开标室',
  plannedStart: '2026-11-25T01:00:00Z',
  plannedEnd: '2026-11-25T03:00:00Z',
  status: 'scheduled',
  createdAt: '2026-11-24T08:00:00Z',
};

afterEach(() => {
  vi.unstubAllGlobals();
  setUnauthenticatedHandler(null);
});

describe('api client', () => {
  it('sends same-origin credentials and JSON, and returns the validated answer', async () => {
    const fetchMock = respond(200, { sessions: [session], truncated: false });
    const list = await api.sessions();
    expect(list.sessions[0]?.projectCode).toBe('GC-2026-017');
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/sessions');
    expect(init?.credentials).toBe('same-origin');
    // A date range goes as query parameters; what is left out is not sent.
    const ranged = respond(200, { sessions: [], truncated: false });
    await api.sessions({ from: '2026-11-17T16:00:00.000Z', to: '2026-12-01T16:00:00.000Z', venueId: undefined });
    expect(ranged.mock.calls[0]![0]).toBe('/api/sessions?from=2026-11-17T16%3A00%3A00.000Z&to=2026-12-01T16%3A00%3A00.000Z');

    respond(200, { user: { id: '6f1d2c0e-3b7a-4c1e-9a55-0e2d4b7c9f10', username: 'li', displayName: '李监督', role: 'supervisor', venueIds: null } });
    const login = await api.login({ username: 'li', password: 'secret' });
    expect(login.user.role).toBe('supervisor');
  });

  it('turns {error:{code,message}} into an ApiRequestError with that code and message', async () => {
    respond(409, { error: { code: 'conflict', message: 'Room county-a.room-1 already has a session from 09:00 to 11:00; pick another time.' } });
    const err = await api.sessions().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect(err).toMatchObject({ code: 'conflict', status: 409, message: expect.stringContaining('pick another time') });
  });

  it('keeps the status and an excerpt when the error body is not the API shape', async () => {
    respond(502, '<html><body>Bad Gateway</body></html>', 'text/html');
    const err = (await api.sessions().catch((e: unknown) => e)) as ApiRequestError;
    expect(err.code).toBe('unavailable');
    expect(err.status).toBe(502);
    expect(err.message).toContain('HTTP 502');
    expect(err.message).toContain('Bad Gateway');
  });

  it('reports an answer that does not match the protocol schema, naming the field', async () => {
    respond(200, { sessions: [{ ...session, status: 'cancelled' }] });
    const err = (await request('/api/sessions', SessionList).catch((e: unknown) => e)) as ApiRequestError;
    expect(err).toBeInstanceOf(ApiRequestError);
    expect(err.code).toBe('internal');
    expect(err.message).toContain('sessions.0.status');
  });

  it('reports an unreachable server as unavailable with what to do, in the dashboard\'s language', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const err = (await api.sessions().catch((e: unknown) => e)) as ApiRequestError;
    expect(err.code).toBe('unavailable');
    expect(err.status).toBe(0);
    // Chinese until the switch says otherwise.
    expect(err.message).toMatch(/无法连接.*重试/);
    setApiLanguage('en');
    try {
      expect(((await api.sessions().catch((e: unknown) => e)) as ApiRequestError).message).toMatch(/try again/);
    } finally {
      setApiLanguage('zh-CN');
    }
  });

  it('asks the centre to answer in the dashboard\'s language', async () => {
    const fetchMock = respond(200, { sessions: [], truncated: false });
    await api.sessions();
    setApiLanguage('en');
    try {
      await api.sessions();
    } finally {
      setApiLanguage('zh-CN');
    }
    const sent = fetchMock.mock.calls.map(([, init]) => (init?.headers as Record<string, string>)['accept-language']);
    expect(sent).toEqual(['zh-CN', 'en']);
  });

  it('calls the login redirect on 401, except for login and "who am I"', async () => {
    const onExpired = vi.fn();
    setUnauthenticatedHandler(onExpired);
    respond(401, { error: { code: 'unauthenticated', message: 'Sign in first.' } });
    await expect(api.sessions()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(onExpired).toHaveBeenCalledTimes(1);

    respond(401, { error: { code: 'unauthenticated', message: 'Wrong username or password.' } });
    await expect(api.login({ username: 'x', password: 'y' })).rejects.toMatchObject({ message: 'Wrong username or password.' });
    await expect(api.me()).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(onExpired).toHaveBeenCalledTimes(1);
  });
});
