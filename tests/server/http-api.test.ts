import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, ffprobePath } from '../../config/binaries.ts';
import {
  ApiError,
  BidSession,
  HealthResponse,
  IngestSegmentResponse,
  SEGMENT_META_HEADER,
  SESSION_COOKIE,
  SessionDetail,
  SessionList,
  encodeMessage,
  type SegmentRecord,
} from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { SegmentRepository } from '../../server/repositories/segments.ts';
import { hasCommand, need } from '../support/prerequisites.ts';
import { csrf, login, serverConfig, silent, tempDir, uniqueVenueId, expectError } from './support.ts';

const run = promisify(execFile);
const PASSWORD = 'a long enough password';
const venueId = uniqueVenueId('http');
const otherVenue = uniqueVenueId('http');
const token = randomBytes(24).toString('hex');
const otherToken = randomBytes(24).toString('hex');
const cam1 = `${venueId}.cam-1`;
const cam2 = `${venueId}.cam-2`;
const room = `${venueId}.opening-1`;

const tmp = tempDir('http');
let server: RunningServer;
let admin: string;
let patrol: string;

function cameraInfo(id: string) {
  return { id, roomId: room, name: id, endpoint: null, manufacturer: null, model: null, serial: null, firmware: null, xaddr: null, streamUri: null, videoCodec: 'h264', audioCodec: 'aac', recording: true, lastError: null };
}

function record(cameraId: string, body: Buffer, start: Date, seconds: number, runId: string): SegmentRecord {
  return {
    id: randomUUID(),
    cameraId,
    runId,
    start: start.toISOString(),
    end: new Date(start.getTime() + seconds * 1000).toISOString(),
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    hasAudio: true,
  };
}

function ingest(meta: SegmentRecord | Record<string, unknown>, body: Buffer, opts: { token?: string; id?: string } = {}) {
  return fetch(`${server.url}/api/ingest/segments/${opts.id ?? (meta as SegmentRecord).id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${opts.token ?? token}`, [SEGMENT_META_HEADER]: JSON.stringify(meta), 'content-type': 'application/octet-stream' },
    body,
  });
}

const get = (p: string, cookie?: string) => fetch(`${server.url}${p}`, { headers: cookie ? { cookie } : {} });
const vod = (camera: string, from: Date, to: Date, cookie = admin) =>
  get(`/api/cameras/${camera}/vod.m3u8?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`, cookie);

beforeAll(async () => {
  server = await startServer(
    serverConfig(tmp.dir, {
      agents: [
        { venueId, token },
        { venueId: otherVenue, token: otherToken },
      ],
    }),
    { logger: silent },
  );
  await server.services.auth.createUser({ username: 'admin1', password: PASSWORD, displayName: 'Admin', role: 'admin' });
  await server.services.auth.createUser({ username: 'patrol1', password: PASSWORD, displayName: 'Patrol', role: 'patrol' });
  for (const [v, cams] of [
    [venueId, [cam1, cam2]],
    [otherVenue, [`${otherVenue}.cam-1`]],
  ] as const) {
    await server.services.venues.applyInventory(
      encodeMessage('inventory', {
        venueId: v,
        venue: { id: v, name: `Venue ${v}` },
        rooms: [{ id: `${v}.opening-1`, name: 'Opening 1', kind: 'bid_opening' }],
        cameras: cams.map((c) => ({ ...cameraInfo(c), roomId: `${v}.opening-1` })),
      }),
    );
  }
  admin = await login(server.url, 'admin1', PASSWORD);
  patrol = await login(server.url, 'patrol1', PASSWORD);
});

afterAll(async () => {
  await server?.stop();
  tmp.remove();
});

describe('health and auth', () => {
  it('answers /api/health without signing in', async () => {
    const res = await get('/api/health');
    expect(res.status).toBe(200);
    const health = HealthResponse.parse(await res.json());
    expect(health).toMatchObject({ status: 'ok', database: { ok: true, kind: 'pglite' }, broker: { ok: true, kind: 'embedded', url: server.brokerUrl } });
    expect(health.venues.map((v) => v.id)).toContain(venueId);
  });

  it('signs in with a session cookie and refuses a wrong password', async () => {
    const bad = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin1', password: 'nope' }) });
    await expectError(bad, 401, 'unauthenticated', /wrong username or password/);
    const unknown = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ghost', password: 'nope' }) });
    await expectError(unknown, 401, 'unauthenticated');
    const malformed = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: '' }) });
    await expectError(malformed, 400, 'bad_request', /username/);
    // The dashboard sends its locale: the same refusals in Chinese, the field still named.
    const zh = { 'content-type': 'application/json', 'accept-language': 'zh-CN' };
    await expectError(await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: zh, body: JSON.stringify({ username: 'admin1', password: 'nope' }) }), 401, 'unauthenticated', /^用户名或密码错误/);
    await expectError(await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: zh, body: JSON.stringify({ username: '' }) }), 400, 'bad_request', /有误：username：.*[\u4e00-\u9fff]/);

    const good = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin1', password: PASSWORD }) });
    expect(good.status).toBe(200);
    const setCookie = good.headers.get('set-cookie')!;
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    const cookie = setCookie.split(';')[0]!;
    const me = await get('/api/auth/me', cookie);
    expect(((await me.json()) as { user: { username: string; role: string } }).user).toMatchObject({ username: 'admin1', role: 'admin' });

    const out = await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(204);
    await expectError(await get('/api/auth/me', cookie), 401, 'unauthenticated', /expired/);
  });

  it('refuses every API route without the cookie', async () => {
    for (const p of ['/api/auth/me', '/api/venues', '/api/sessions', `/api/sessions/${randomUUID()}`, `/api/cameras/${cam1}/vod.m3u8?from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z`, `/api/footage/segments/${randomUUID()}.ts`]) {
      await expectError(await get(p), 401, 'unauthenticated');
    }
    const res = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await expectError(res, 401, 'unauthenticated');
  });

  it('answers unknown API routes with a JSON 404', async () => {
    await expectError(await get('/api/nothing-here', admin), 404, 'not_found');
  });
});

describe('sessions', () => {
  const body = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ projectCode: 'ZB-2026-017', projectName: 'County hospital equipment', kind: 'evaluation', roomId: room, plannedStart: new Date(Date.now() - 3600_000).toISOString(), plannedEnd: new Date(Date.now() + 3600_000).toISOString(), ...over });
  const post = (cookie: string, payload: string) => fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...csrf(cookie) }, body: payload });

  it('creates, lists and details a session', async () => {
    const res = await post(admin, body());
    expect(res.status).toBe(201);
    const created = BidSession.parse(await res.json());
    expect(created).toMatchObject({ venueId, roomId: room, roomName: 'Opening 1', status: 'in_progress', projectCode: 'ZB-2026-017' });

    const list = SessionList.parse(await (await get('/api/sessions', admin)).json());
    expect(list.sessions.map((s) => s.id)).toContain(created.id);

    const detail = SessionDetail.parse(await (await get(`/api/sessions/${created.id}`, admin)).json());
    expect(detail.session.id).toBe(created.id);
    expect(detail.cameras.map((c) => c.cameraId)).toEqual([cam1, cam2]);
    const c = detail.cameras[0]!;
    expect(c.expectedSeconds).toBeGreaterThan(3590);
    expect(c.expectedSeconds).toBeLessThan(3700);
    expect(c.recordedSeconds).toBe(0);
    expect(c.gaps).toHaveLength(1);
    expect(c.playlistUrl).toMatch(new RegExp(`^/api/cameras/${cam1.replace('.', '\\.')}/vod\\.m3u8\\?from=.+&to=${encodeURIComponent(created.plannedEnd)}$`));
  });

  it('lists by planned time, bounded: sessions overlapping from–to, newest first, truncated past the limit', async () => {
    // Three sessions of one day in 2025, far from every other test's.
    const day = Date.parse('2025-03-10T00:00:00.000Z');
    const at = (h: number) => new Date(day + h * 3600_000).toISOString();
    const ids: string[] = [];
    for (const [h, code] of [[1, 'L-1'], [5, 'L-2'], [9, 'L-3']] as const) {
      const res = await post(admin, body({ projectCode: code, plannedStart: at(h), plannedEnd: at(h + 2) }));
      expect(res.status).toBe(201);
      ids.push(BidSession.parse(await res.json()).id);
    }
    const list = async (q: string) => SessionList.parse(await (await get(`/api/sessions?${q}`, admin)).json());
    const all = await list(`from=${at(0)}&to=${at(24)}`);
    expect(all.sessions.map((s) => s.projectCode)).toEqual(['L-3', 'L-2', 'L-1']);
    expect(all.truncated).toBe(false);
    // Overlap, not containment: [6, 10) touches L-2 (5–7) and L-3 (9–11); an end at 5 excludes L-2.
    expect((await list(`from=${at(6)}&to=${at(10)}`)).sessions.map((s) => s.projectCode)).toEqual(['L-3', 'L-2']);
    expect((await list(`from=${at(3)}&to=${at(5)}`)).sessions.map((s) => s.projectCode)).toEqual([]);
    const two = await list(`from=${at(0)}&to=${at(24)}&limit=2`);
    expect(two.sessions.map((s) => s.projectCode)).toEqual(['L-3', 'L-2']);
    expect(two.truncated).toBe(true);
    expect((await list(`to=${at(24)}&venueId=${venueId}&limit=1000`)).sessions.map((s) => s.id)).toEqual(expect.arrayContaining(ids));
    // Without a query: newest first, at most 200.
    expect((await list('')).sessions.length).toBeLessThanOrEqual(200);
    await expectError(await get(`/api/sessions?from=${at(10)}&to=${at(2)}`, admin), 400, 'bad_request', /from/);
    await expectError(await get(`/api/sessions?limit=5000`, admin), 400, 'bad_request', /limit/);
    await expectError(await get(`/api/sessions?venueId=no-such-venue`, admin), 404, 'not_found');
  });

  it('refuses a second booking of a room for an overlapping time, naming the first; two at once: exactly one is booked', async () => {
    // One day in 2024, far from every other test's.
    const day = Date.parse('2024-05-20T00:00:00.000Z');
    const at = (h: number) => new Date(day + h * 3600_000).toISOString();
    expect((await post(admin, body({ projectCode: 'R-1', plannedStart: at(9), plannedEnd: at(12) }))).status).toBe(201);
    const second = await post(admin, body({ projectCode: 'R-2', plannedStart: at(11), plannedEnd: at(13) }));
    expect(second.status).toBe(409);
    const refused = ApiError.parse(await second.json()).error.message;
    expect(refused).toContain(`R-1 County hospital equipment (${at(9)} – ${at(12)})`);
    expect(refused).toMatch(/another room or time.*allowOverlap/);
    // In Chinese for the dashboard, naming the same session.
    const zhRefusal = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { cookie: admin, 'content-type': 'application/json', 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8', ...csrf(admin) },
      body: body({ projectCode: 'R-2', plannedStart: at(11), plannedEnd: at(13) }),
    });
    expect(zhRefusal.status).toBe(409);
    const zhText = ApiError.parse(await zhRefusal.json()).error.message;
    expect(zhText).toContain(`R-1 County hospital equipment`);
    expect(zhText).toMatch(/[\u4e00-\u9fff]{4}/);
    expect(zhText).not.toMatch(/another room or time/);
    // Back to back is fine; sharing the room on purpose is said so.
    expect((await post(admin, body({ projectCode: 'R-3', plannedStart: at(12), plannedEnd: at(13) }))).status).toBe(201);
    expect((await post(admin, body({ projectCode: 'R-4', plannedStart: at(10), plannedEnd: at(11), allowOverlap: true }))).status).toBe(201);
    // Two clerks booking the same free slot at the same moment: the room's row lock lets one through.
    const race = await Promise.all([post(admin, body({ projectCode: 'R-5', plannedStart: at(15), plannedEnd: at(16) })), post(admin, body({ projectCode: 'R-6', plannedStart: at(15), plannedEnd: at(16) }))]);
    expect(race.map((r) => r.status).sort()).toEqual([201, 409]);
    await Promise.all(race.map((r) => r.arrayBuffer()));
    const booked = SessionList.parse(await (await get(`/api/sessions?from=${at(0)}&to=${at(24)}`, admin)).json()).sessions.map((s) => s.projectCode);
    expect(booked.sort()).toEqual(['R-1', 'R-3', 'R-4', booked.includes('R-5') ? 'R-5' : 'R-6'].sort());
  });

  it('refuses unknown rooms, bad bodies and roles that may not book', async () => {
    await expectError(await post(admin, body({ roomId: `${venueId}.no-such-room` })), 400, 'bad_request', new RegExp(`${venueId}\\.no-such-room`));
    await expectError(await post(admin, body({ plannedEnd: new Date(Date.now() - 7200_000).toISOString() })), 400, 'bad_request', /plannedEnd/);
    await expectError(await post(admin, '{not json'), 400, 'bad_request', /JSON/);
    await expectError(await post(patrol, body()), 403, 'forbidden', /admin, supervisor/);
    await expectError(await get(`/api/sessions/${randomUUID()}`, admin), 404, 'not_found');
  });
});

describe('ingest', () => {
  it('stores a segment whose hash matches, and answers a repeat as a duplicate', async () => {
    const bytes = randomBytes(50_000);
    const meta = record(cam1, bytes, new Date(Date.now() - 600_000), 2, randomUUID());
    const first = await ingest(meta, bytes);
    expect(first.status).toBe(201);
    expect(IngestSegmentResponse.parse(await first.json())).toEqual({ id: meta.id, stored: true, duplicate: false, sha256: meta.sha256 });
    const row = await new SegmentRepository(server.db).get(meta.id);
    expect(row?.storedAt).not.toBeNull();
    expect(readFileSync(path.join(tmp.dir, 'footage', ...row!.storageKey!.split('/')))).toEqual(bytes);

    const again = await ingest(meta, bytes);
    expect(again.status).toBe(200);
    expect(IngestSegmentResponse.parse(await again.json())).toEqual({ id: meta.id, stored: true, duplicate: true, sha256: meta.sha256 });
  });

  it('refuses a body whose SHA-256 does not match and keeps nothing', async () => {
    const bytes = randomBytes(10_000);
    const meta = record(cam1, bytes, new Date(Date.now() - 500_000), 2, randomUUID());
    const tampered = Buffer.from(bytes);
    tampered[0] = tampered[0]! ^ 0xff;
    await expectError(await ingest(meta, tampered), 422, 'integrity_failed', /upload it again/);
    expect(await new SegmentRepository(server.db).get(meta.id)).toBeNull();
    expect(readdirSync(path.join(tmp.dir, 'footage', '.tmp'))).toEqual([]);
  });

  it('refuses wrong tokens, other venues’ cameras, unknown cameras and mismatched ids', async () => {
    const bytes = randomBytes(1000);
    const meta = record(cam1, bytes, new Date(), 2, randomUUID());
    await expectError(await ingest(meta, bytes, { token: 'not-a-real-token-at-all' }), 401, 'unauthenticated');
    await expectError(await ingest(meta, bytes, { token: otherToken }), 403, 'forbidden', new RegExp(`not a camera of venue "${otherVenue}"`));
    const unknown = record(`${venueId}.cam-99`, bytes, new Date(), 2, randomUUID());
    await expectError(await ingest(unknown, bytes), 409, 'conflict', /inventory/);
    await expectError(await ingest(meta, bytes, { id: randomUUID() }), 400, 'bad_request', /does not match/);
    await expectError(await ingest({ ...meta, sha256: 'xyz' }, bytes), 400, 'bad_request', /sha256/);
  });
});

describe('VOD playlists', () => {
  const T = new Date(Date.parse('2026-05-04T02:00:00.000Z'));
  const at = (s: number) => new Date(T.getTime() + s * 1000);
  const runA = randomUUID();
  const runB = randomUUID();
  const ids: string[] = [];

  beforeAll(async () => {
    // Run A: [0,2) [2,4.2) — hole — [10,12); run B: [12,14) right after (new run = discontinuity).
    for (const [from, seconds, runId] of [
      [0, 2, runA],
      [2, 2.2, runA],
      [10, 2, runA],
      [12, 2, runB],
    ] as const) {
      const bytes = randomBytes(2000);
      const meta = record(cam2, bytes, at(from), seconds, runId);
      ids.push(meta.id);
      expect((await ingest(meta, bytes)).status).toBe(201);
    }
    // Catalogued but not stored: must not appear in the playlist.
    await server.services.catalogue.applyBatch(encodeMessage('segments', { venueId, segments: [{ ...record(cam2, randomBytes(10), at(14), 2, runB) }] }));
  });

  it('lists stored segments with wall-clock times, discontinuities and an end', async () => {
    const res = await vod(cam2, at(-5), at(20));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/vnd\.apple\.mpegurl/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        `#EXT-X-PROGRAM-DATE-TIME:2026-05-04T02:00:00.000Z`,
        '#EXTINF:2.000,',
        `/api/footage/segments/${ids[0]}.ts`,
        `#EXT-X-PROGRAM-DATE-TIME:2026-05-04T02:00:02.000Z`,
        '#EXTINF:2.200,',
        `/api/footage/segments/${ids[1]}.ts`,
        '#EXT-X-DISCONTINUITY',
        `#EXT-X-PROGRAM-DATE-TIME:2026-05-04T02:00:10.000Z`,
        '#EXTINF:2.000,',
        `/api/footage/segments/${ids[2]}.ts`,
        '#EXT-X-DISCONTINUITY',
        `#EXT-X-PROGRAM-DATE-TIME:2026-05-04T02:00:12.000Z`,
        '#EXTINF:2.000,',
        `/api/footage/segments/${ids[3]}.ts`,
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });

  it('includes segments that only partly overlap the range', async () => {
    const text = await (await vod(cam2, at(3), at(11))).text();
    expect(text.match(/\/api\/footage\/segments\/.+\.ts/g)).toEqual([`/api/footage/segments/${ids[1]}.ts`, `/api/footage/segments/${ids[2]}.ts`]);
  });

  it('serves a range reaching into the future as a growing EVENT playlist', async () => {
    const text = await (await vod(cam2, at(-5), new Date(Date.now() + 3600_000))).text();
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(text).not.toContain('#EXT-X-ENDLIST');
  });

  it('answers 404 for an unknown camera or an empty range, 400 for a reversed range', async () => {
    await expectError(await vod(`${venueId}.nope`, at(0), at(10)), 404, 'not_found', new RegExp(`${venueId}\\.nope`));
    await expectError(await vod(cam2, at(100), at(200)), 404, 'not_found', /no footage/);
    await expectError(await vod(cam2, at(10), at(10)), 400, 'bad_request', /before/);
    await expectError(await vod(cam2, at(10), at(0)), 400, 'bad_request');
    await expectError(await get(`/api/cameras/${cam2}/vod.m3u8?from=yesterday&to=today`, admin), 400, 'bad_request', /from/);
  });

  it('streams a stored segment, whole or by byte range', async () => {
    const whole = await get(`/api/footage/segments/${ids[0]}.ts`, admin);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp2t');
    const all = Buffer.from(await whole.arrayBuffer());
    expect(all.length).toBe(2000);
    const part = await fetch(`${server.url}/api/footage/segments/${ids[0]}.ts`, { headers: { cookie: admin, range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/2000');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(all.subarray(100, 200));
    expect((await fetch(`${server.url}/api/footage/segments/${ids[0]}.ts`, { headers: { cookie: admin, range: 'bytes=5000-' } })).status).toBe(416);
    await expectError(await get(`/api/footage/segments/${randomUUID()}.ts`, admin), 404, 'not_found');
  });
});

describe.runIf(need(hasCommand('ffmpeg') && hasCommand('ffprobe') ? { ok: true } : { ok: false, reason: 'ffmpeg/ffprobe missing: apt-get install ffmpeg' }))('playback of real footage', () => {
  it('ffprobe reads a VOD playlist of real MPEG-TS segments for its full length', async () => {
    const work = tempDir('ts');
    try {
      // Three 2 s segments, H.264 + AAC, keyframe every 2 s, as the venue's recorder would cut them.
      await run(ffmpegPath(), [
        '-nostdin', '-loglevel', 'error',
        '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10',
        '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
        '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '20', '-keyint_min', '20', '-sc_threshold', '0',
        '-c:a', 'aac', '-b:a', '32k',
        '-f', 'segment', '-segment_time', '2', '-segment_format', 'mpegts', '-reset_timestamps', '0',
        path.join(work.dir, 'seg%d.ts'),
      ]);
      const files = readdirSync(work.dir).filter((f) => f.endsWith('.ts')).sort();
      expect(files).toHaveLength(3);
      const start = new Date(Date.parse('2026-05-05T01:00:00.000Z'));
      const runId = randomUUID();
      let offset = 0;
      for (const f of files) {
        const body = readFileSync(path.join(work.dir, f));
        const { stdout } = await run(ffprobePath(), ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path.join(work.dir, f)]);
        const seconds = Math.round(Number(stdout.trim()) * 10) / 10;
        const meta = record(cam1, body, new Date(start.getTime() + offset * 1000), seconds, runId);
        offset += seconds;
        expect((await ingest(meta, body)).status).toBe(201);
      }
      const url = `${server.url}/api/cameras/${cam1}/vod.m3u8?from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(new Date(start.getTime() + 6000).toISOString())}`;
      const { stdout } = await run(ffprobePath(), ['-v', 'error', '-headers', `Cookie: ${admin}\r\n`, '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', url], { timeout: 30_000 });
      const probe = JSON.parse(stdout) as { format: { duration: string }; streams: Array<{ codec_name: string }> };
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
      expect(Math.abs(Number(probe.format.duration) - 6)).toBeLessThanOrEqual(2);
    } finally {
      work.remove();
    }
  });
});
