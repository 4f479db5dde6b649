import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, type FootageStore, type PartialUploads } from './footage-store.ts';

/**
 * Footage as files under one folder. Writes go to `<root>/.tmp/` first and are renamed into place,
 * so a crash never leaves a half-written segment under its real name. Resumable uploads grow as
 * `<root>/.uploads/<upload key>.part` (same file system, so completing one is a rename); no footage
 * reader looks there.
 */
export class DiskFootageStore implements FootageStore, PartialUploads {
  private readonly tmpDir: string;
  private readonly uploadsDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, '.tmp');
    this.uploadsDir = path.join(root, '.uploads');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
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

  // ---- resumable uploads ----

  private partialPath(uploadKey: string): string {
    assertSafeKey(uploadKey);
    return `${path.join(this.uploadsDir, ...uploadKey.split('/'))}.part`;
  }

  async partialSize(uploadKey: string): Promise<number | null> {
    try {
      return (await stat(this.partialPath(uploadKey))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async appendPartial(uploadKey: string, offset: number, body: Readable): Promise<number> {
    const file = this.partialPath(uploadKey);
    const size = (await this.partialSize(uploadKey)) ?? 0;
    if (offset !== 0 && offset !== size) throw new Error(`partial upload ${uploadKey} holds ${size} bytes, not ${offset}`);
    await mkdir(path.dirname(file), { recursive: true });
    // Written in place from the offset: whatever reaches the file is a prefix of the upload, so a
    // body cut short (the box killed mid-chunk) still leaves bytes the next range continues from.
    const out = createWriteStream(file, offset === 0 ? { flags: 'w' } : { flags: 'r+', start: offset });
    try {
      await pipeline(body, out);
    } finally {
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    }
    return (await stat(file)).size;
  }

  async readPartial(uploadKey: string): Promise<Readable> {
    const file = this.partialPath(uploadKey);
    await stat(file);
    return createReadStream(file);
  }

  async completePartial(uploadKey: string, key: string): Promise<{ bytes: number }> {
    return this.putFile(key, this.partialPath(uploadKey));
  }

  async discardPartial(uploadKey: string): Promise<void> {
    await rm(this.partialPath(uploadKey), { force: true });
  }

  async sweepPartials(before: Date): Promise<string[]> {
    const swept: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && e.name.endsWith('.part') && (await stat(p)).mtime < before) {
          await rm(p, { force: true });
          swept.push(path.relative(this.uploadsDir, p).slice(0, -'.part'.length).split(path.sep).join('/'));
        }
      }
    };
    await walk(this.uploadsDir);
    return swept;
  }
}
