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
