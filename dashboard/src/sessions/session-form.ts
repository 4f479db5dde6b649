import type { RoomKind, SessionKind } from '../../../protocol/rooms.ts';

const pad = (n: number) => String(n).padStart(2, '0');

/** Value for <input type="datetime-local"> (local time, minutes). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** ISO instant from a datetime-local value (which the browser gives in local time); null if empty/invalid. */
export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The session kind a room is usually booked for, to preselect it in the form. */
export function kindForRoom(kind: RoomKind): SessionKind | null {
  if (kind === 'bid_opening') return 'bid_opening';
  if (kind === 'evaluation' || kind === 'electronic_evaluation') return 'evaluation';
  if (kind === 'remote_evaluation') return 'remote_evaluation';
  return null;
}
