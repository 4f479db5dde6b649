/**
 * A camera that stops sending leaves ffmpeg waiting forever: the run is restarted when no segment
 * has been written for `stallMs`. The watchdog is a deadline `stallMs` after the newest segment was
 * written, moved on by every playlist pass that finds a newer one. While segments come, each pass
 * moves it past the next pass, so it never fires and costs no wake-up, however seldom the playlist
 * is read (once a catalogue commit); on a stall it fires `stallMs` after the last segment, not up
 * to a poll period later. When it fires it has the playlist read first: segments written since the
 * last pass count.
 */

export interface WatchedPlaylist {
  /** When the newest segment found was written (ms since the epoch). */
  readonly lastWrittenAt: number;
  /** One pass over the playlist now. */
  poll(): Promise<void>;
}

export class StallWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private ended = false;
  private stalled = false;
  /** lastWrittenAt when the deadline was set: a newer segment by then moves it on. */
  private armedFrom = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly playlist: WatchedPlaylist,
    private readonly stallMs: number,
    private readonly onStall: () => void,
  ) {}

  /** Restarted the run (at most once per watchdog: a run has one). */
  get fired(): boolean {
    return this.stalled;
  }

  /** (Re)sets the deadline from the newest segment: call at the start and whenever it moves on. */
  arm(): void {
    if (this.ended || this.fired) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFrom = this.playlist.lastWrittenAt;
    // Never more than stallMs away: a wall-clock step back must not put the deadline off.
    const wait = Math.min(this.stallMs, Math.max(0, this.armedFrom + this.stallMs - Date.now()));
    this.timer = setTimeout(() => void this.check(), wait);
  }

  /** The run ended: no restart from here on. */
  stop(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    this.timer = null;
    const from = this.armedFrom;
    await this.playlist.poll();
    if (this.ended || this.fired) return;
    if (this.playlist.lastWrittenAt > from) {
      // The pass found a newer segment: the deadline moves on (the pass may have moved it already).
      if (!this.timer) this.arm();
      return;
    }
    this.stalled = true;
    this.onStall();
  }
}
