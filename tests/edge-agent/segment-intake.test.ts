import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Catalogue, limitSql } from '../../edge-agent/catalogue/catalogue.ts';
import { SegmentIntake } from '../../edge-agent/catalogue/segment-intake.ts';
import { SegmentChain } from '../../edge-agent/integrity/segment-chain.ts';
import { MqttLink } from '../../edge-agent/link/mqtt-link.ts';
import { recordHash } from '../../protocol/integrity.ts';
import { SegmentBatch, topics, type SegmentRecord } from '../../protocol/index.ts';
import { agentConfig, fakeSegment, quietLogger, scratchDir, uniqueVenue } from './agent-fixture.ts';

/**
 * The batcher catalogues the recorders' new segments in its own transaction (SQLite for real, on
 * disk, in WAL mode as the agent runs it). The link is never connected here: batch() then
 * catalogues and announces, and the messages wait in the outbox as they would for a broker.
 */
describe('segment intake and the outbox batcher', () => {
  const scratch = scratchDir('intake');
  const open: Catalogue[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  function setup() {
    const venueId = uniqueVenue('intake');
    const catalogue = new Catalogue(join(scratch.dir, `${venueId}.db`));
    open.push(catalogue);
    const chain = new SegmentChain(catalogue);
    const added: string[] = [];
    const intake = new SegmentIntake({ chain, onAdded: (segs) => added.push(...segs.map((s) => s.id)) });
    const link = new MqttLink({
      config: agentConfig({ venue: { id: venueId, name: 'Intake' }, dataDir: scratch.dir }),
      catalogue,
      intake,
      logger: quietLogger(),
      inventory: () => ({ venue: { id: venueId, name: 'Intake' }, rooms: [], cameras: [] }),
      onWindows: () => {},
      startedAt: new Date().toISOString(),
    });
    const announced = () =>
      catalogue
        .pending()
        .filter((m) => m.topic === topics.segments(venueId))
        .map((m) => SegmentBatch.parse(JSON.parse(m.payload)).segments.map((s: SegmentRecord) => s.id));
    return { venueId, catalogue, chain, intake, link, added, announced };
  }

  it('catalogues the segments that came since the last tick, chained, and announces them in one message', () => {
    const { venueId, catalogue, intake, link, added, announced } = setup();
    const t0 = Date.now() - 60_000;
    const a = [0, 1, 2].map((i) => fakeSegment(`${venueId}.cam-a`, t0 + i * 2000, scratch.dir));
    const b = fakeSegment(`${venueId}.cam-b`, t0, scratch.dir);
    for (const s of [...a, b]) intake.add(s);
    // Nothing is catalogued until the batcher's tick (once a segment duration) runs.
    expect(catalogue.segments()).toHaveLength(0);
    expect(intake.waiting()).toBe(4);
    link.batch();

    expect(intake.waiting()).toBe(0);
    expect(added).toEqual([...a, b].map((s) => s.id));
    expect(announced()).toHaveLength(1);
    expect(new Set(announced()[0])).toEqual(new Set([...a, b].map((s) => s.id)));
    // Each camera's rows link to the one before, as when each was appended on its own.
    const rows = catalogue.segments(`${venueId}.cam-a`);
    expect(rows.map((r) => r.id)).toEqual(a.map((s) => s.id));
    for (let i = 1; i < rows.length; i++) {
      const { path: _p, uploadedAt: _u, prevHash, ...prev } = rows[i - 1]!;
      expect(rows[i]!.prevHash).toBe(recordHash({ ...prev, prevHash: prevHash! }));
    }
  });

  it('keeps the segments when the commit fails and catalogues them at the next batch', () => {
    const { venueId, catalogue, intake, link, added } = setup();
    // A real SQLite failure inside the batch's transaction (as a full disk would give).
    catalogue.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'no room'); END;`);
    const s = fakeSegment(`${venueId}.cam-a`, Date.now() - 10_000, scratch.dir);
    intake.add(s);
    link.batch();
    // Rolled back: no row, no message, nothing reported added; the segment still waits.
    expect(catalogue.segments()).toHaveLength(0);
    expect(catalogue.outboxSize()).toBe(0);
    expect(added).toEqual([]);
    expect(intake.waiting()).toBe(1);

    catalogue.db.exec('DROP TRIGGER refuse');
    link.batch();
    expect(intake.waiting()).toBe(0);
    expect(catalogue.segments().map((r) => r.id)).toEqual([s.id]);
    expect(added).toEqual([s.id]);
    expect(catalogue.outboxSize()).toBe(1);
  });

  it('deletes acknowledged outbox rows with the next write, and leaves them out of what waits until then', () => {
    const { venueId, catalogue } = setup();
    const rows = () => (catalogue.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    for (const id of ['m1', 'm2', 'm3']) catalogue.enqueue({ id, topic: topics.events(venueId), payload: '{}' });
    catalogue.acknowledge('m1');
    catalogue.acknowledge('m2');
    expect(catalogue.pending().map((m) => m.id)).toEqual(['m3']);
    expect(catalogue.pending(1).map((m) => m.id)).toEqual(['m3']);
    expect(catalogue.outboxSize()).toBe(1);
    expect(rows()).toBe(3);
    expect(catalogue.acknowledgedWaiting.count).toBe(2);

    catalogue.write(() => catalogue.enqueue({ id: 'm4', topic: topics.events(venueId), payload: '{}' }));
    expect(rows()).toBe(2);
    expect(catalogue.pending().map((m) => m.id)).toEqual(['m3', 'm4']);
    expect(catalogue.acknowledgedWaiting.count).toBe(0);

    // Closing writes what is still waiting: a graceful stop leaves no acknowledged row behind.
    catalogue.acknowledge('m3');
    const file = catalogue.file;
    catalogue.close();
    const reopened = new Catalogue(file);
    open.push(reopened);
    expect(reopened.pending().map((m) => m.id)).toEqual(['m4']);
  });

  it('reads limits written into the SQL (never bound, see limitSql), acknowledged rows skipped past any count', () => {
    const { venueId, catalogue } = setup();
    for (let i = 1; i <= 9; i++) catalogue.enqueue({ id: `m${i}`, topic: topics.events(venueId), payload: '{}' });
    for (const id of ['m1', 'm2', 'm3', 'm5', 'm6']) catalogue.acknowledge(id);
    expect(catalogue.pending(2).map((m) => m.id)).toEqual(['m4', 'm7']);
    expect(catalogue.pending(3).map((m) => m.id)).toEqual(['m4', 'm7', 'm8']);
    expect(catalogue.pending().map((m) => m.id)).toEqual(['m4', 'm7', 'm8', 'm9']);
    expect(limitSql(200)).toBe('LIMIT 200');
    for (const bad of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => limitSql(bad)).toThrow(/whole number/);
    expect(() => catalogue.db.prepare('SELECT id FROM outbox LIMIT ?')).toThrow(/limitSql/);
  });
});
