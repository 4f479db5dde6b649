import type { Logger } from 'pino';
import { venueOf, type BoxCommand, type CommandReply } from '../../protocol/index.ts';

/**
 * Runs the centre's commands on the box and answers each with its correlation id. A command that
 * expired on the way (the box was offline), names another venue's or an unknown camera, or fails,
 * is answered ok: false with the reason — and logged.
 */

export interface CommandTarget {
  venueId: string;
  knows(cameraId: string): boolean;
  rescan(): Promise<string>;
  snapshot(cameraId: string): Promise<Buffer>;
  restartRecorder(cameraId: string): Promise<string>;
  reloadSettings(): Promise<string>;
}

export async function runCommand(cmd: BoxCommand, target: CommandTarget, logger: Logger): Promise<Omit<CommandReply, 'v' | 'id' | 'sentAt' | 'type' | 'venueId'>> {
  const base = { correlationId: cmd.correlationId, command: cmd.command };
  const log = logger.child({ command: cmd.command, correlationId: cmd.correlationId, cameraId: cmd.cameraId });
  if (Date.parse(cmd.expiresAt) < Date.now()) {
    log.warn('command expired before it arrived; not run');
    return { ...base, ok: false, message: 'command expired before it reached the box; send it again' };
  }
  const needsCamera = cmd.command === 'snapshot' || cmd.command === 'restart_recorder';
  if (needsCamera) {
    if (!cmd.cameraId || venueOf(cmd.cameraId) !== target.venueId || !target.knows(cmd.cameraId)) {
      log.warn('command names a camera this box does not have; refused');
      return { ...base, ok: false, message: `camera ${cmd.cameraId ?? '(none)'} is not a camera of venue ${target.venueId}` };
    }
  }
  try {
    switch (cmd.command) {
      case 'rescan':
        return { ...base, ok: true, message: await target.rescan() };
      case 'snapshot': {
        const jpeg = await target.snapshot(cmd.cameraId!);
        return { ...base, ok: true, message: `snapshot of ${cmd.cameraId}, ${jpeg.length} bytes`, jpegBase64: jpeg.toString('base64') };
      }
      case 'restart_recorder':
        return { ...base, ok: true, message: await target.restartRecorder(cmd.cameraId!) };
      case 'reload_settings':
        return { ...base, ok: true, message: await target.reloadSettings() };
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'command failed');
    return { ...base, ok: false, message: (err as Error).message.slice(0, 1000) };
  }
}
