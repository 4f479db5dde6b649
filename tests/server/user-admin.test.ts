import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditList, UserAccount, UserAccountList } from '../../protocol/index.ts';
import { PASSWORD, startLedgerFixtureOn, type Account, type LedgerFixture } from './ledger-fixture.ts';
import { csrf, expectError } from './support.ts';

/**
 * User administration over HTTP, on PGlite and on the PostgreSQL server: an administrator makes,
 * changes, disables and resets accounts; a venue administrator only those of their own venues and
 * only with a county venue's roles; a change that narrows an account signs it out at once; every
 * change is in the audit trail; a user changes their own password knowing the current one.
 */

describe.each(['pglite', 'postgres'] as const)('user administration on %s', (kind) => {
  let fx: LedgerFixture;
  let admin: Account;
  let vadmin: Account;

  beforeAll(async () => {
    fx = await startLedgerFixtureOn(kind);
    admin = fx.account('admin', 'city');
    vadmin = fx.account('venue_admin', 'A');
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const signIn = (username: string, password: string) =>
    fetch(`${fx.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const cookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith('vw_session='))!.split(';')[0]!;
  const me = (cookie: string) => fetch(`${fx.server.url}/api/auth/me`, { headers: { cookie } });
  const account = async (res: Response, status = 200) => {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return UserAccount.parse(JSON.parse(text));
  };
  const auditOf = async (id: string) => (await fx.server.services.audit.list({ subjectType: 'user', subjectId: id })).map((a) => a.action);

  it('an administrator creates an account that signs in; changing its role signs it out; disabled, it cannot sign in; a reset password works', async () => {
    const created = await account(await fx.call('POST', '/api/users', admin, { username: `li.ming-${kind}`, displayName: '李明', role: 'patrol', venueIds: [fx.a.id], password: 'first password 1' }), 201);
    expect(created).toMatchObject({ role: 'patrol', venueIds: [fx.a.id], disabled: false, canManage: true });
    await expectError(await fx.call('POST', '/api/users', admin, { username: `li.ming-${kind}`, displayName: '同名', role: 'patrol', venueIds: [fx.a.id], password: 'another password' }), 409, 'conflict', /taken/);

    let login = await signIn(created.username, 'first password 1');
    expect(login.status).toBe(200);
    let cookie = cookieOf(login);
    expect((await me(cookie)).status).toBe(200);

    // A new role takes effect at once: the old session is gone.
    expect(await account(await fx.call('PATCH', `/api/users/${created.id}`, admin, { role: 'supervisor' }))).toMatchObject({ role: 'supervisor' });
    expect((await me(cookie)).status).toBe(401);
    // A new display name narrows nothing: the session stays.
    cookie = cookieOf(await signIn(created.username, 'first password 1'));
    await account(await fx.call('PATCH', `/api/users/${created.id}`, admin, { displayName: '李明（监督）' }));
    expect((await me(cookie)).status).toBe(200);

    expect(await account(await fx.call('PATCH', `/api/users/${created.id}`, admin, { disabled: true }))).toMatchObject({ disabled: true });
    expect((await me(cookie)).status).toBe(401);
    await expectError(await signIn(created.username, 'first password 1'), 403, 'forbidden', /disabled: ask an administrator/);
    // Someone without the password learns nothing about the account's state.
    await expectError(await signIn(created.username, 'not the password'), 401, 'unauthenticated');

    await account(await fx.call('PATCH', `/api/users/${created.id}`, admin, { disabled: false }));
    expect((await fx.call('POST', `/api/users/${created.id}/password`, admin, { password: 'handed over in person' })).status).toBe(204);
    expect((await signIn(created.username, 'first password 1')).status).toBe(401);
    login = await signIn(created.username, 'handed over in person');
    expect(login.status).toBe(200);

    expect((await auditOf(created.id)).filter((a) => a.startsWith('user.'))).toEqual(['user.create', 'user.update', 'user.update', 'user.update', 'user.update', 'user.password_reset']);
    // The refused sign-in of the disabled account is in the trail too.
    expect(await auditOf(created.username)).toEqual(expect.arrayContaining(['auth.login_disabled', 'auth.login_failed']));
  });

  it('a user changes their own password knowing the current one; their other sessions end, this one stays', async () => {
    await account(await fx.call('POST', '/api/users', admin, { username: `wang.fang-${kind}`, displayName: '王芳', role: 'maintenance', venueIds: [fx.a.id], password: 'initial password' }), 201);
    const tablet = cookieOf(await signIn(`wang.fang-${kind}`, 'initial password'));
    const desk = cookieOf(await signIn(`wang.fang-${kind}`, 'initial password'));
    const change = (body: unknown) => fetch(`${fx.server.url}/api/auth/password`, { method: 'POST', headers: { cookie: desk, ...csrf(desk), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await expectError(await change({ current: 'wrong', next: 'my own new password' }), 403, 'forbidden', /current password is wrong/);
    await expectError(await change({ current: 'initial password', next: 'short' }), 400, 'bad_request', /at least 10/);
    expect((await change({ current: 'initial password', next: 'my own new password' })).status).toBe(204);
    expect((await me(desk)).status).toBe(200);
    expect((await me(tablet)).status).toBe(401);
    expect((await signIn(`wang.fang-${kind}`, 'my own new password')).status).toBe(200);
  });

  it('a venue administrator manages only their own venues, with a county venue’s roles; nobody locks themselves out', async () => {
    const list = UserAccountList.parse(await (await fx.call('GET', '/api/users', vadmin)).json()).users;
    // Venue-A accounts only; the city's are not theirs to see.
    expect(list.every((u) => u.venueIds !== null && u.venueIds.every((v) => v === fx.a.id))).toBe(true);
    expect(list.map((u) => u.username)).toContain('patrol-a');
    expect(list.find((u) => u.username === 'admin-a')).toMatchObject({ canManage: false });

    const mine = await account(await fx.call('POST', '/api/users', vadmin, { username: `zhao.lei-${kind}`, displayName: '赵磊', role: 'supervisor', venueIds: [fx.a.id], password: 'venue password 1' }), 201);
    await expectError(await fx.call('POST', '/api/users', vadmin, { username: `x1-${kind}`, displayName: 'X', role: 'admin', venueIds: [fx.a.id], password: 'venue password 1' }), 403, 'forbidden', /cannot give the role admin/);
    await expectError(await fx.call('POST', '/api/users', vadmin, { username: `x2-${kind}`, displayName: 'X', role: 'patrol', venueIds: null, password: 'venue password 1' }), 403, 'forbidden', /whole city/);
    await expectError(await fx.call('POST', '/api/users', vadmin, { username: `x3-${kind}`, displayName: 'X', role: 'patrol', venueIds: [fx.b.id], password: 'venue password 1' }), 403, 'forbidden', /own venues/);
    await expectError(await fx.call('PATCH', `/api/users/${mine.id}`, vadmin, { role: 'city_supervisor' }), 403, 'forbidden');
    // The account is venue A's business: its creation is a row of venue A, which its administrator reads in the trail.
    const trail = AuditList.parse(await (await fx.call('GET', `/api/audit?action=user.create&subjectType=user&subjectId=${mine.id}`, vadmin)).json());
    expect(trail.entries).toHaveLength(1);
    expect(trail.entries[0]).toMatchObject({ actor: vadmin.name, venueId: fx.a.id, detail: { username: `zhao.lei-${kind}` } });
    // Accounts outside their venues are unknown to them.
    const patrolCity = fx.account('patrol', 'city');
    await expectError(await fx.call('PATCH', `/api/users/${patrolCity.user.id}`, vadmin, { disabled: true }), 404, 'not_found');
    await expectError(await fx.call('PATCH', `/api/users/${fx.account('admin', 'A').user.id}`, vadmin, { disabled: true }), 404, 'not_found');

    // Administrators cannot disable or demote themselves.
    await expectError(await fx.call('PATCH', `/api/users/${admin.user.id}`, admin, { disabled: true }), 403, 'forbidden', /another administrator/);
    await expectError(await fx.call('PATCH', `/api/users/${admin.user.id}`, admin, { role: 'patrol' }), 403, 'forbidden', /another administrator/);

    // Bad input: clear errors.
    await expectError(await fx.call('POST', '/api/users', admin, { username: 'A B', displayName: 'X', role: 'patrol', venueIds: [fx.a.id], password: 'venue password 1' }), 400, 'bad_request', /username/);
    await expectError(await fx.call('POST', '/api/users', admin, { username: `x4-${kind}`, displayName: 'X', role: 'patrol', venueIds: ['no-such-venue'], password: 'venue password 1' }), 400, 'bad_request', /unknown venue no-such-venue/);
    await expectError(await fx.call('POST', '/api/users', admin, { username: `x5-${kind}`, displayName: 'X', role: 'patrol', venueIds: [], password: 'venue password 1' }), 400, 'bad_request', /at least one venue/);
    await expectError(await fx.call('PATCH', `/api/users/${mine.id}`, admin, {}), 400, 'bad_request', /at least one/);

    // Nobody else administers accounts.
    for (const role of ['patrol', 'supervisor', 'maintenance', 'city_supervisor'] as const) {
      await expectError(await fx.call('GET', '/api/users', fx.account(role, 'city')), 403, 'forbidden');
    }
    expect(PASSWORD.length).toBeGreaterThanOrEqual(10);
  });
});
