import { eq, lt } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { processedMessages } from '../db/schema.ts';

/** Ids of MQTT messages already handled, so QoS 1 redeliveries and outbox retries are dropped. */
export class ProcessedMessageRepository {
  constructor(private readonly db: Database) {}

  /** Records the id; false when it was already there (a duplicate). */
  async claim(id: string, venueId: string, kind: string): Promise<boolean> {
    const rows = await this.db.insert(processedMessages).values({ id, venueId, kind }).onConflictDoNothing().returning({ id: processedMessages.id });
    return rows.length > 0;
  }

  async forget(id: string): Promise<void> {
    await this.db.delete(processedMessages).where(eq(processedMessages.id, id));
  }

  async pruneBefore(when: Date): Promise<void> {
    await this.db.delete(processedMessages).where(lt(processedMessages.receivedAt, when));
  }
}
