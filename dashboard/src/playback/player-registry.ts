import type Hls from 'hls.js';
import type { SeekPosition } from './wall-clock.ts';

/**
 * The players of the open session, by camera id. The session view drives them all through this
 * (seek, play, pause) and the browser tests read them as `window.__vwPlayers`.
 */
export interface RegisteredPlayer {
  video: HTMLVideoElement;
  /** Null before hls.js is created, while waiting to retry, or when the browser plays HLS natively. */
  hls: Hls | null;
  /** Wall-clock instant of the frame shown, from the playlist's program date-time; null if unknown. */
  wallClock(): Date | null;
  /** Moves to the frame recorded at that instant; null when the footage is not loaded yet (applied once it is). */
  seekToWallClock(ms: number): SeekPosition | null;
  /** Where the instant would land, without seeking; null when the footage is not loaded. */
  probeWallClock(ms: number): SeekPosition | null;
  play(): Promise<void>;
  pause(): void;
}

declare global {
  interface Window {
    __vwPlayers?: Record<string, RegisteredPlayer>;
  }
}

const players = new Map<string, RegisteredPlayer>();

function publish(): void {
  if (typeof window !== 'undefined') window.__vwPlayers = Object.fromEntries(players);
}

export function registerPlayer(cameraId: string, player: RegisteredPlayer): void {
  players.set(cameraId, player);
  publish();
}

export function unregisterPlayer(cameraId: string, player: RegisteredPlayer): void {
  if (players.get(cameraId) === player) players.delete(cameraId);
  publish();
}

export function getPlayer(cameraId: string): RegisteredPlayer | undefined {
  return players.get(cameraId);
}
