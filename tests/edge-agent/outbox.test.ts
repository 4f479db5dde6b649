import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalogue } from '../../edge-agent/catalogue/catalogue.ts';
import { decodeMessage, topics } from '../../protocol/index.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../server/broker/embedded-broker.ts';
import { fakeSegment, freePort, observe, quietLogger, scratchDir, uniqueVenue, waitFor, type Observer } from './agent-fixture.ts';

const TOKEN = 'outbox-test-token-0123456789';
const repo = join(import.meta.dirname, '..', '..');

// The real program (edge-agent/main.ts) killed with SIGKILL while the broker is away: what it had
// to say must survive in the outbox and reach the broker after a restart, with the same message ids.
describe('durable outbox across a broker outage and kill -9', () => {
  const venueId = uniqueVenue('outbox');
  const scratch = scratchDir('outbox');
  const children: ChildProcess[] = [];
  let broker: EmbeddedBroker | null = null;
  let obs: Observer | null = null;

  const startProgram = (configFile: string): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/main.ts'], {
      cwd: repo,
      env: { ...process.env, VW_CONFIG: configFile, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return child;
  };
  const exitOf = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve({ code: child.exitCode, signal: child.signalCode }) : child.once('exit', (code, signal) => resolve({ code, signal })),
    );

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await obs?.close();
    await broker?.close();
    scratch.remove();
  });

  it('delivers every queued message after the restart, same ids, none lost', async () => {
    const port = await freePort();
    const configFile = join(scratch.dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        edgeAgent: {
          venue: { id: venueId, name: 'Outbox venue' },
          cameras: [],
          discovery: { enabled: false, interfaces: [], timeoutMs: 1000, intervalMinutes: 60 },
          mqtt: { url: `mqtt://127.0.0.1:${port}` },
          centre: { url: 'http://127.0.0.1:9', token: TOKEN },
          dataDir: join(scratch.dir, 'data'),
        },
      }),
    );
    const dbFile = join(scratch.dir, 'data', 'catalogue.db');

    // 1. Agent up, broker down: new segments become outbox messages that cannot leave.
    const first = startProgram(configFile);
    const cat = await waitFor('catalogue created', () => {
      try {
        return new Catalogue(dbFile);
      } catch {
        return null;
      }
    });
    const segs = Array.from({ length: 7 }, (_, i) => fakeSegment(`${venueId}.cam-x`, Date.now() - 30_000 + i * 2000, scratch.dir));
    for (const s of segs) cat.addSegment(s);
    const queued = await waitFor('segments moved into the outbox', () => {
      const p = cat.pending();
      // (Other messages may share the outbox, e.g. an agent_down gap row: only segment batches count here.)
      const inside = new Set(p.filter((m) => m.topic === topics.segments(venueId)).flatMap((m) => (JSON.parse(m.payload) as { segments: { id: string }[] }).segments.map((s) => s.id)));
      return segs.every((s) => inside.has(s.id)) ? p : null;
    });
    cat.close();

    // 2. Crash.
    first.kill('SIGKILL');
    expect((await exitOf(first)).signal).toBe('SIGKILL');
    const reopened = new Catalogue(dbFile);
    expect(reopened.pending().map((m) => m.id)).toEqual(queued.map((m) => m.id));
    reopened.close();

    // 3. Broker comes up, agent restarts: the same messages arrive.
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port, agents: [{ venueId, token: TOKEN }], logger: quietLogger() });
    obs = await observe(broker.url, venueId, broker.centreCredentials);
    const second = startProgram(configFile);
    const received = await waitFor(
      'all queued batches',
      () => {
        const batches = obs!.messages.filter((m) => m.topic === topics.segments(venueId)).map((m) => decodeMessage('segments', venueId, m.payload));
        const ok = batches.flatMap((b) => (b.ok ? [b.message] : []));
        return queued.filter((q) => q.topic === topics.segments(venueId)).every((q) => ok.some((b) => b.id === q.id)) ? ok : null;
      },
      30_000,
    );
    const ids = new Set(received.flatMap((b) => b.segments.map((s) => s.id)));
    for (const s of segs) expect(ids.has(s.id)).toBe(true);

    // 4. Graceful stop empties nothing that was not acknowledged: the outbox is now empty.
    await waitFor('outbox acknowledged', () => {
      const c = new Catalogue(dbFile);
      try {
        return c.outboxSize() === 0;
      } finally {
        c.close();
      }
    });
    second.kill('SIGTERM');
    expect((await exitOf(second)).code).toBe(0);
  }, 90_000);
});
