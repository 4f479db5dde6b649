import { randomUUID } from 'node:crypto';
import type { UploadWindow } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';

/**
 * What footage must never be removed at the venue: the centre's windows (bid sessions, ledger
 * entries, manual holds at the centre; each owned by its session/entry/hold id) and holds placed
 * at the box itself. A local hold is released only by the person who placed it; every placing and
 * release, including the centre's windows coming and going, is an audit line.
 */

export interface LocalHold {
  id: string;
  /** A room's footage (every camera in it) or one camera's. */
  roomId: string | null;
  cameraId: string | null;
  from: string;
  /** null = open-ended. */
  to: string | null;
  owner: string;
  note: string;
  createdAt: string;
  releasedAt: string | null;
}

export interface AuditLine {
  at: string;
  action: 'placed' | 'released' | 'release_refused' | 'window_added' | 'window_removed';
  holdId: string;
  actor: string;
  detail: string;
}

const schema = `
CREATE TABLE IF NOT EXISTS holds (
  id TEXT PRIMARY KEY,
  room_id TEXT,
  camera_id TEXT,
  from_ms INTEGER NOT NULL,
  to_ms INTEGER,
  owner TEXT NOT NULL,
  note TEXT NOT NULL,
  created_at TEXT NOT NULL,
  released_at TEXT
);
CREATE TABLE IF NOT EXISTS hold_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  action TEXT NOT NULL,
  hold_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  detail TEXT NOT NULL
);
`;

interface HoldRow {
  id: string;
  room_id: string | null;
  camera_id: string | null;
  from_ms: number;
  to_ms: number | null;
  owner: string;
  note: string;
  created_at: string;
  released_at: string | null;
}

const toHold = (r: HoldRow): LocalHold => ({
  id: r.id,
  roomId: r.room_id,
  cameraId: r.camera_id,
  from: new Date(r.from_ms).toISOString(),
  to: r.to_ms === null ? null : new Date(r.to_ms).toISOString(),
  owner: r.owner,
  note: r.note,
  createdAt: r.created_at,
  releasedAt: r.released_at,
});

export class HoldRefused extends Error {
  override name = 'HoldRefused';
}

/** A time span a hold covers, in ms, with the room or camera it applies to. */
interface Span {
  roomId: string | null;
  cameraId: string | null;
  from: number;
  to: number;
}

export class HoldBook {
  private windows: UploadWindow[] = [];

  constructor(private readonly catalogue: Catalogue) {
    catalogue.db.exec(schema);
  }

  private audit(line: Omit<AuditLine, 'at'>): void {
    this.catalogue.db
      .prepare('INSERT INTO hold_audit (at, action, hold_id, actor, detail) VALUES (?, ?, ?, ?, ?)')
      .run(new Date().toISOString(), line.action, line.holdId, line.actor, line.detail);
  }

  /** The centre's current windows; additions and removals are audited (the centre is their owner). */
  setWindows(windows: UploadWindow[], audit = true): void {
    if (!audit) {
      this.windows = windows;
      return;
    }
    const key = (w: UploadWindow) => `${w.ownerId}|${w.roomId}|${w.from}|${w.to}`;
    const before = new Map(this.windows.map((w) => [key(w), w]));
    const after = new Map(windows.map((w) => [key(w), w]));
    for (const [k, w] of after) {
      if (!before.has(k)) this.audit({ action: 'window_added', holdId: w.ownerId, actor: 'centre', detail: `${w.reason} hold on ${w.roomId} ${w.from} – ${w.to ?? 'open'}` });
    }
    for (const [k, w] of before) {
      if (!after.has(k)) this.audit({ action: 'window_removed', holdId: w.ownerId, actor: 'centre', detail: `${w.reason} hold on ${w.roomId} ${w.from} – ${w.to ?? 'open'} released by its owner at the centre` });
    }
    this.windows = windows;
  }

  place(input: { roomId?: string | null; cameraId?: string | null; from: string; to: string | null; owner: string; note?: string }): LocalHold {
    if (!input.roomId && !input.cameraId) throw new HoldRefused('a hold needs a room or a camera');
    if (!input.owner.trim()) throw new HoldRefused('a hold needs an owner (who placed it)');
    const fromMs = Date.parse(input.from);
    const toMs = input.to === null ? null : Date.parse(input.to);
    if (Number.isNaN(fromMs) || (toMs !== null && (Number.isNaN(toMs) || toMs <= fromMs))) throw new HoldRefused('a hold needs from < to (ISO 8601 times)');
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    this.catalogue.db
      .prepare('INSERT INTO holds (id, room_id, camera_id, from_ms, to_ms, owner, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, input.roomId ?? null, input.cameraId ?? null, fromMs, toMs, input.owner, input.note ?? '', createdAt);
    const hold = this.get(id)!;
    this.audit({ action: 'placed', holdId: id, actor: input.owner, detail: `manual hold on ${hold.roomId ?? hold.cameraId} ${hold.from} – ${hold.to ?? 'open'}${hold.note ? `: ${hold.note}` : ''}` });
    return hold;
  }

  get(id: string): LocalHold | null {
    const row = this.catalogue.db.prepare('SELECT * FROM holds WHERE id = ?').get(id) as HoldRow | undefined;
    return row ? toHold(row) : null;
  }

  /** Releases a local hold; only its owner may (anyone else is refused, and that is audited too). */
  release(id: string, by: string, reason = ''): LocalHold {
    const hold = this.get(id);
    if (!hold) throw new HoldRefused(`hold ${id} does not exist`);
    if (hold.releasedAt) throw new HoldRefused(`hold ${id} was already released at ${hold.releasedAt}`);
    if (hold.owner !== by) {
      this.audit({ action: 'release_refused', holdId: id, actor: by, detail: `only ${hold.owner} may release this hold` });
      throw new HoldRefused(`hold ${id} belongs to ${hold.owner}: only its owner may release it`);
    }
    const at = new Date().toISOString();
    this.catalogue.db.prepare('UPDATE holds SET released_at = ? WHERE id = ?').run(at, id);
    this.audit({ action: 'released', holdId: id, actor: by, detail: reason || 'released by its owner' });
    return this.get(id)!;
  }

  local(includeReleased = false): LocalHold[] {
    const rows = this.catalogue.db.prepare(`SELECT * FROM holds ${includeReleased ? '' : 'WHERE released_at IS NULL'} ORDER BY from_ms`).all() as HoldRow[];
    return rows.map(toHold);
  }

  auditLines(): AuditLine[] {
    return (this.catalogue.db.prepare('SELECT at, action, hold_id, actor, detail FROM hold_audit ORDER BY seq').all() as {
      at: string;
      action: AuditLine['action'];
      hold_id: string;
      actor: string;
      detail: string;
    }[]).map((r) => ({ at: r.at, action: r.action, holdId: r.hold_id, actor: r.actor, detail: r.detail }));
  }

  private spans(): Span[] {
    const out: Span[] = this.windows.map((w) => ({ roomId: w.roomId, cameraId: null, from: Date.parse(w.from), to: w.to === null ? Infinity : Date.parse(w.to) }));
    for (const h of this.local()) out.push({ roomId: h.roomId, cameraId: h.cameraId, from: Date.parse(h.from), to: h.to === null ? Infinity : Date.parse(h.to) });
    return out;
  }

  /** A matcher for many segments at once (the spans are read once). */
  matcher(): (seg: { cameraId: string; roomId: string | null; startMs: number; endMs: number }) => boolean {
    const spans = this.spans();
    return (seg) =>
      spans.some((s) => ((s.cameraId !== null && s.cameraId === seg.cameraId) || (s.roomId !== null && s.roomId === seg.roomId)) && seg.startMs < s.to && seg.endMs > s.from);
  }

  /** Is the camera's footage held right now (so recording it must not pause)? */
  heldNow(cameraId: string, roomId: string | null, now = Date.now()): boolean {
    return this.matcher()({ cameraId, roomId, startMs: now, endMs: now + 1 });
  }
}
