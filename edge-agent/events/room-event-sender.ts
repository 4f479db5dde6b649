import type { Logger } from 'pino';
import { encodeMessage, topics, type RoomEvent } from '../../protocol/index.ts';
import type { Catalogue } from '../catalogue/catalogue.ts';

/**
 * Room events leave the box through the durable outbox, like segment batches: an event that
 * happens while the uplink is down reaches the centre when it is back. Events of one moment are
 * sent together (a short coalescing delay), at most 500 per message.
 */
export class RoomEventSender {
  private pending: RoomEvent[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: { venueId: string; catalogue: Catalogue; logger: Logger; flush: () => void; delayMs?: number },
  ) {}

  send(event: RoomEvent): void {
    this.pending.push(event);
    this.o.logger.info({ deviceId: event.deviceId, roomId: event.roomId, kind: event.kind, state: event.state }, 'room event');
    this.timer ??= setTimeout(() => this.drain(), this.o.delayMs ?? 200);
  }

  drain(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.pending.length) {
      const events = this.pending.splice(0, 500);
      try {
        const msg = encodeMessage('events', { venueId: this.o.venueId, events });
        this.o.catalogue.enqueue({ id: msg.id, topic: topics.events(this.o.venueId), payload: JSON.stringify(msg) });
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'room events do not validate; dropped');
      }
    }
    this.o.flush();
  }
}
