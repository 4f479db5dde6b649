import { GENESIS_HASH, recordHash } from '../../protocol/integrity.ts';
import type { SegmentRecord } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';

/**
 * Per camera, each segment's record carries the hash of the previous record. The head is kept in
 * the catalogue's state table and moves in the same transaction as the insert, so a crash never
 * leaves a record whose successor links to something else; retention removing old rows does not
 * touch it.
 */
const headKey = (cameraId: string) => `chain:${cameraId}`;

export class SegmentChain {
  /** Built once: db.transaction() makes a new wrapper function each call. */
  private readonly appendTx: (seg: SegmentRecord & { path: string }) => { added: boolean; record: SegmentRecord & { path: string; prevHash: string } };

  constructor(private readonly catalogue: Catalogue) {
    this.appendTx = catalogue.db.transaction((seg: SegmentRecord & { path: string }) => {
      const record = { ...seg, prevHash: this.head(seg.cameraId) };
      const added = this.catalogue.addSegment(record);
      if (added) this.catalogue.setState(headKey(seg.cameraId), recordHash(record));
      return { added, record };
    });
  }

  head(cameraId: string): string {
    return this.catalogue.getState(headKey(cameraId)) ?? GENESIS_HASH;
  }

  /** Links and catalogues a segment; false when that file was already catalogued. */
  append<T extends SegmentRecord & { path: string }>(seg: T): { added: boolean; record: T & { prevHash: string } } {
    return this.appendTx(seg) as { added: boolean; record: T & { prevHash: string } };
  }
}
