import type { EdgeAgentConfig } from '../../config/schema.ts';
import type { SegmentRecord } from '../../protocol/index.ts';
import type { SegmentChain } from '../integrity/segment-chain.ts';

type Segment = SegmentRecord & { path: string };

/**
 * New segments on their way into the catalogue. The recorders hand each one here as they find it;
 * the outbox batcher catalogues all that came since its last tick, for every camera, inside its own
 * transaction with their announcement and the acknowledged outbox rows (link/mqtt-link.ts batch()).
 * That is one SQLite commit a tick where each segment used to cost three (its row, its
 * announcement, the broker's acknowledgement), each a WAL append and a round of file locks: at
 * one camera, most of the system calls the box made per segment (docs/benchmarks.md).
 *
 * A segment waits for the batcher's tick, which comes every three segment durations by default
 * (recording.catalogueCommitSeconds): a commit carries about three from every camera instead of
 * each segment paying for a commit, a message and its acknowledgement of its own. The recorders
 * read their playlists on the same tick, just before it, so a segment waits once, not twice.
 * Nothing needs it sooner: live view has the playlist read twice a second while someone watches,
 * the watchdog goes by when segments were written, gap rows by the footage's own times, a held
 * segment's upload starts a tick later at most, and a crash before the commit leaves the file on
 * disk to the orphan-footage pass.
 */
export class SegmentIntake {
  private queued: Segment[] = [];

  constructor(
    private readonly o: {
      chain: SegmentChain;
      /** Segments catalogued for the first time, in the order they came, once committed. */
      onAdded: (added: Segment[]) => void;
    },
  ) {}

  add(segment: Segment): void {
    this.queued.push(segment);
  }

  waiting(): number {
    return this.queued.length;
  }

  /**
   * Chains and catalogues what is waiting (inside the caller's transaction). The segments leave the
   * queue only in the returned callback, called once that transaction is committed: a failed
   * commit leaves them to the next try.
   */
  commit(): () => void {
    const batch = this.queued.slice();
    const added = batch.filter((s) => this.o.chain.append(s).added);
    return () => {
      this.queued.splice(0, batch.length);
      if (added.length > 0) this.o.onAdded(added);
    };
  }
}

/**
 * How often the batcher commits (recording.catalogueCommitSeconds, by default three segment
 * durations): the recorders read their playlists as often, on the same tick (camera-recorder.ts).
 */
export function catalogueCommitMs(recording: EdgeAgentConfig['recording']): number {
  return (recording.catalogueCommitSeconds ?? Math.max(1, Math.round(3 * recording.segmentSeconds))) * 1000;
}
