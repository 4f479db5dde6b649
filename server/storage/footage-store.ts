import type { Readable } from 'node:stream';

/**
 * Where the centre keeps footage. One interface so a deployment can swap the disk folder for an
 * object store without touching ingest or playback.
 */
export interface FootageStore {
  /** Writes the object under `key` atomically: readers see the old object or the whole new one. */
  put(key: string, source: Readable | Buffer): Promise<{ bytes: number }>;
  /** Moves a finished local file in (cheaper than put when the file is already on disk). */
  putFile(key: string, localPath: string): Promise<{ bytes: number }>;
  /** Reads the object, optionally the inclusive byte range [start, end]. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Size of the object, or null when it does not exist. */
  stat(key: string): Promise<{ bytes: number } | null>;
  delete(key: string): Promise<void>;
}

/** Keys are relative paths of "/"-separated safe names; anything else is a bug or an attack. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) || key.split('/').some((p) => p === '..' || p === '.')) {
    throw new Error(`invalid footage key "${key}"`);
  }
}

/**
 * A file arriving in byte ranges (resumable ingest, issue 5), kept apart from the footage until it
 * is complete and checked, then moved in under its footage key. `uploadKey` is a safe key naming
 * one upload (venue, segment, expected SHA-256). After any failure — a body cut short, a crash of
 * either side — `partialSize` is the truth: the store keeps a prefix of what arrived.
 *
 * Disk (today): one `.part` file per upload under `<root>/.uploads/`, appended in place.
 * S3 (later): uploadKey ↦ a multipart upload (CreateMultipartUpload on the first range, its
 * UploadId kept in a small table); appendPartial = UploadPart of the range (parts are ≥ 5 MiB but
 * the last, so chunks are buffered locally up to 5 MiB or the agent's chunk size is raised);
 * partialSize = the sum of ListParts; completePartial = CompleteMultipartUpload to a staging key
 * (readPartial then hashes it, or S3's full-object SHA-256 checksum is used) and CopyObject to the
 * footage key; discardPartial = AbortMultipartUpload, plus the bucket rule
 * AbortIncompleteMultipartUpload for uploads a box never finishes.
 */
export interface PartialUploads {
  /** Bytes held for the upload, or null when there is none. */
  partialSize(uploadKey: string): Promise<number | null>;
  /**
   * Appends the body at `offset`, which must be the current size (0 starts or restarts the
   * upload); resolves with the new size. If the body fails midway the bytes that arrived may be
   * kept: the error is rethrown and partialSize tells what is held.
   */
  appendPartial(uploadKey: string, offset: number, body: Readable): Promise<number>;
  readPartial(uploadKey: string): Promise<Readable>;
  /** Moves the finished upload in as the footage object `key` (atomically, like putFile). */
  completePartial(uploadKey: string, key: string): Promise<{ bytes: number }>;
  discardPartial(uploadKey: string): Promise<void>;
  /** Deletes uploads that last grew before `before`; returns their keys (S3: a lifecycle rule). */
  sweepPartials(before: Date): Promise<string[]>;
}
