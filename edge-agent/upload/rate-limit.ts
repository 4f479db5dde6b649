import { Transform } from 'node:stream';

/**
 * One token bucket shared by every upload of the box: the venue's uplink carries the cameras'
 * evidence and must not be swamped, whatever the upload concurrency. 0 = no cap.
 */
export class RateLimiter {
  private available: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly bytesPerSecond: number) {
    this.available = bytesPerSecond;
  }

  /** Resolves when `n` bytes may be sent (callers are served in order). */
  take(n: number): Promise<void> {
    if (this.bytesPerSecond <= 0) return Promise.resolve();
    const next = this.queue.then(async () => {
      for (;;) {
        const now = Date.now();
        // At most one second of burst.
        this.available = Math.min(this.bytesPerSecond, this.available + ((now - this.last) / 1000) * this.bytesPerSecond);
        this.last = now;
        if (this.available >= Math.min(n, this.bytesPerSecond)) {
          this.available -= n;
          return;
        }
        const waitMs = ((Math.min(n, this.bytesPerSecond) - this.available) / this.bytesPerSecond) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(5, waitMs)));
      }
    });
    this.queue = next;
    return next;
  }

  /**
   * Bytes per upload request (one Content-Range chunk): about four seconds of the cap, 64 KiB to
   * 8 MiB; 8 MiB uncapped. Each answered chunk is progress the centre keeps, so a kill or a cut
   * link costs at most the chunk in flight, while requests stay few.
   */
  chunkBytes(): number {
    const MIN = 64 * 1024;
    const MAX = 8 * 1024 * 1024;
    return this.bytesPerSecond <= 0 ? MAX : Math.min(MAX, Math.max(MIN, Math.round(this.bytesPerSecond * 4)));
  }

  /** A pass-through stream paced by this limiter. */
  stream(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.take(chunk.length).then(() => done(null, chunk), done);
      },
    });
  }
}
