import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { SEGMENT_META_HEADER, SegmentRecord, type UploadWindow } from '../../protocol/index.ts';
import { agentConfig, fakeSegment, freePort, quietLogger, scratchDir, uniqueVenue, waitFor } from './agent-fixture.ts';

const TOKEN = 'upload-test-token-0123456789';

describe('upload of footage inside the centre’s windows', () => {
  const venueId = uniqueVenue('upload');
  const scratch = scratchDir('upload');
  let server: Server;
  let agent: Agent;
  /** segment id → HTTP statuses answered, in order. */
  const answers = new Map<string, number[]>();
  const problems: string[] = [];
  /** segment id → offset requests (GET …/upload). */
  const asked = new Map<string, number>();
  const hour = 3600_000;
  const t0 = Date.now() - 2 * hour;

  const realSegment = (camera: string, startMs: number) => {
    const seg = fakeSegment(`${venueId}.${camera}`, startMs, scratch.dir);
    const data = randomBytes(188 * 20);
    writeFileSync(seg.path, data);
    return { ...seg, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  };
  const inWindow = realSegment('cam-a', t0 + 10_000);
  const beforeWindow = realSegment('cam-a', t0 - hour);
  const otherRoom = realSegment('cam-b', t0 + 10_000);

  beforeAll(async () => {
    server = createServer((req, res) => {
      // A retry first asks how many bytes the centre holds (resumable ingest): none, here.
      const asking = /^\/api\/ingest\/segments\/([0-9a-f-]{36})\/upload$/.exec(req.url ?? '')?.[1];
      if (asking && req.method === 'GET') {
        const meta = SegmentRecord.safeParse(JSON.parse(String(req.headers[SEGMENT_META_HEADER] ?? 'null')));
        if (!meta.success || meta.data.id !== asking || req.headers.authorization !== `Bearer ${TOKEN}`) problems.push('bad offset request');
        asked.set(asking, (asked.get(asking) ?? 0) + 1);
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: asking, offset: 0, bytes: meta.data?.bytes ?? 1, complete: false }));
      }
      const id = /^\/api\/ingest\/segments\/([0-9a-f-]{36})$/.exec(req.url ?? '')?.[1];
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = (status: number) => {
          if (id) answers.set(id, [...(answers.get(id) ?? []), status]);
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status < 300 ? { id, stored: true, duplicate: false } : { error: { code: 'internal', message: 'x' } }));
        };
        if (req.method !== 'PUT' || !id) return problems.push(`bad request ${req.method} ${req.url}`), answer(400);
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return problems.push('bad token'), answer(401);
        const meta = SegmentRecord.safeParse(JSON.parse(String(req.headers[SEGMENT_META_HEADER] ?? 'null')));
        if (!meta.success || meta.data.id !== id) return problems.push('bad meta header'), answer(400);
        const body = Buffer.concat(chunks);
        // Small segments go in one chunk, as the range of the whole file.
        if (req.headers['content-range'] !== `bytes 0-${meta.data.bytes - 1}/${meta.data.bytes}`) return problems.push(`bad range ${req.headers['content-range']}`), answer(400);
        if (body.length !== meta.data.bytes || createHash('sha256').update(body).digest('hex') !== meta.data.sha256) return problems.push('hash mismatch'), answer(422);
        // The first attempt of every segment fails: the agent must retry.
        answer((answers.get(id)?.length ?? 0) === 0 ? 500 : 201);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    const nowhere = await freePort();
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'Upload venue' },
        rooms: [
          { code: 'eval-1', name: 'Evaluation 1', kind: 'evaluation' },
          { code: 'eval-2', name: 'Evaluation 2', kind: 'evaluation' },
        ],
        cameras: [
          { code: 'cam-a', name: 'A', room: 'eval-1', address: `127.0.0.1:${nowhere}` },
          { code: 'cam-b', name: 'B', room: 'eval-2', address: `127.0.0.1:${nowhere}` },
        ],
        mqtt: { url: `mqtt://127.0.0.1:${nowhere}` },
        centre: { url: `http://127.0.0.1:${port}`, token: TOKEN },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
    for (const s of [inWindow, beforeWindow, otherRoom]) agent.catalogue.addSegment(s);
  });

  afterAll(async () => {
    await agent?.stop();
    await new Promise<void>((r) => server?.close(() => r()));
    scratch.remove();
  });

  const window = (from: number, to: number | null): UploadWindow => ({
    roomId: `${venueId}.eval-1`,
    from: new Date(from).toISOString(),
    to: to === null ? null : new Date(to).toISOString(),
    reason: 'session',
    ownerId: '11111111-1111-4111-8111-111111111111',
  });

  it('uploads only segments of the window’s room and time, retrying after a 500 from the centre’s offset, once', async () => {
    agent.uploader.setWindows([window(t0, t0 + hour)]);
    await waitFor('segment uploaded', () => agent.catalogue.segment(inWindow.id)?.uploadedAt, 15_000);
    expect(answers.get(inWindow.id)).toEqual([500, 201]);
    // The retry asked the centre's offset first; the first attempt of a one-chunk segment did not.
    expect(asked.get(inWindow.id)).toBe(1);
    // Give it time to misbehave: nothing else is sent, and nothing is sent twice.
    await new Promise((r) => setTimeout(r, 1500));
    expect(answers.get(inWindow.id)).toEqual([500, 201]);
    expect(answers.has(beforeWindow.id)).toBe(false);
    expect(answers.has(otherRoom.id)).toBe(false);
    expect(problems).toEqual([]);
  });

  it('picks up past segments when a window grows to cover them (open-ended)', async () => {
    agent.uploader.setWindows([window(t0 - 2 * hour, null)]);
    await waitFor('older segment uploaded', () => agent.catalogue.segment(beforeWindow.id)?.uploadedAt, 15_000);
    expect(answers.get(beforeWindow.id)).toEqual([500, 201]);
    expect(answers.get(inWindow.id)).toEqual([500, 201]);
    expect(answers.has(otherRoom.id)).toBe(false);
    expect(problems).toEqual([]);
  });
});
