import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, type FootageStore } from './footage-store.ts';

/**
 * Footage as files under one folder. Writes go to `<root>/.tmp/` first and are renamed into place,
 * so a crash never leaves a half-written segment under its real name.
 */
export class DiskFootageStore implements FootageStore {
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, '.tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** A scratch path on the same file system, for callers that build a file before putFile. */
  tempPath(): string {
    return path.join(this.tmpDir, `${randomUUID()}.part`);
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, source: Readable | Buffer): Promise<{ bytes: number }> {
    const tmp = this.tempPath();
    try {
      const out = createWriteStream(tmp, { flags: 'wx' });
      if (Buffer.isBuffer(source)) {
        await new Promise<void>((resolve, reject) => {
          out.on('error', reject);
          out.end(source, () => resolve());
        });
      } else {
        await pipeline(source, out);
      }
      return await this.putFile(key, tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async putFile(key: string, localPath: string): Promise<{ bytes: number }> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(localPath, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Another file system: copy beside the target, then rename, to stay atomic.
      const tmp = this.tempPath();
      await copyFile(localPath, tmp);
      await rename(tmp, target);
      await unlink(localPath);
    }
    return { bytes: (await stat(target)).size };
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.pathOf(key);
    await stat(file); // fail here with ENOENT rather than later inside the response stream
    return createReadStream(file, range);
  }

  async stat(key: string): Promise<{ bytes: number } | null> {
    try {
      return { bytes: (await stat(this.pathOf(key))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
