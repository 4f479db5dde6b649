import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { decodeMessage, encodeMessage, topics, type BoxCommand, type CommandReply, type UploadWindow, type VenueInventory } from '../../protocol/index.ts';
import type { Catalogue, OutboxMessage } from '../catalogue/catalogue.ts';
import { catalogueCommitMs, type SegmentIntake } from '../catalogue/segment-intake.ts';
import { everyTick } from '../schedule/shared-tick.ts';

/**
 * The venue box's MQTT link to the centre. State (status, inventory) is published retained on
 * every connect; events (segment batches) go through the durable outbox and leave it only when the
 * broker acknowledged them (QoS 1 PUBACK). The centre's upload windows come back on one topic.
 */

export const AGENT_VERSION = '0.1.0';
const BATCH_MAX = 200;
const MAX_INFLIGHT = 50;
const MIN_RECONNECT_MS = 1000;
const MAX_RECONNECT_MS = 30_000;
/** How long acknowledged outbox rows wait for a write to go with before one of their own. */
const ACK_ROWS_WAIT_MS = 5000;

/**
 * How often mqtt.js's keepalive check runs on the box's grid: its half keepalive rounded up to a
 * whole 2 s. mqtt.js asks for 5 s at the default keepalive of 10 s; a 5 s job on the grid falls on
 * 5, 15, 25 … s, where nothing else wakes the box (the commit and the playlist passes come every
 * 6 s), so it woke an agent six times a minute for that alone. On a VM such a wake-up after a long
 * sleep is charged 2–7 ms (docs/benchmarks.md). At 6 s the check shares the commit's wake-up
 * (slack would not do: it lets a run come later, and these checks must not). The ping goes after
 * two checks without an answer, so two checks must stay within the broker's 1.5 × keepalive
 * (3 × what mqtt.js asks): where rounding up would pass that (a keepalive of 2 or 5 s), the check
 * stays as asked.
 */
export function keepaliveCheckMs(askedMs: number): number {
  const onGrid = Math.ceil(askedMs / 2000) * 2000;
  return 2 * onGrid <= 3 * askedMs ? onGrid : askedMs;
}

export type InventoryBody = Pick<VenueInventory, 'venue' | 'rooms' | 'cameras'>;

export interface MqttLinkOptions {
  config: EdgeAgentConfig;
  catalogue: Catalogue;
  logger: Logger;
  inventory: () => InventoryBody;
  onWindows: (windows: UploadWindow[]) => void;
  /** Called on every (re)connection, after status and inventory (the agent sends its health). */
  onConnect?: () => void;
  /** Commands from the centre (rescan, snapshot, restart a recorder, reload settings). */
  onCommand?: (command: BoxCommand) => void;
  /** Issue 5: a fetch command from the centre (upload this camera's range now). */
  onFetch?: (fetch: { requestId: string; cameraId: string; from: string; to: string }) => void;
  /** Live view: push this camera's new segments to the centre for leaseSeconds (0 = stop). */
  onLive?: (live: { cameraId: string; leaseSeconds: number }) => void;
  startedAt: string;
  /**
   * New segments the recorders found, catalogued in the batcher's transaction (see batch()):
   * commit() runs inside it and returns what to do once it is committed.
   */
  intake?: Pick<SegmentIntake, 'waiting' | 'commit'>;
}

export class MqttLink {
  private client: MqttClient | null = null;
  private readonly inflight = new Set<string>();
  private batchTimer: (() => void) | null = null;
  private flushing = false;
  /** The catalogue's row counts at the last batch and flush; -1: look at once. */
  private seenSegments = -1;
  private seenOutbox = -1;
  /** The last flush may have left messages behind (a failed publish, or more than it sends at once). */
  private flushAgain = true;
  private reconnectMs = MIN_RECONNECT_MS;
  private readonly venueId: string;
  private readonly log: Logger;
  /** Messages the broker acknowledged since start (for tests and health). */
  delivered = 0;

  constructor(private readonly opts: MqttLinkOptions) {
    this.venueId = opts.config.venue.id;
    this.log = opts.logger.child({ part: 'link' });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private status(online: boolean): string {
    return JSON.stringify(
      encodeMessage('status', { venueId: this.venueId, online, agentVersion: AGENT_VERSION, startedAt: this.opts.startedAt }),
    );
  }

  start(): void {
    const { config } = this.opts;
    const client = mqtt.connect(config.mqtt.url, {
      // aedes speaks MQTT 3.1.1 only.
      protocolVersion: 4,
      clientId: `vw-edge-${this.venueId}`,
      username: this.venueId,
      password: config.centre.token,
      clean: true,
      keepalive: config.mqtt.keepaliveSeconds,
      // The keepalive check (every half keepalive, counting to a ping) on the box's grid, every
      // keepaliveCheckMs: it wakes with the other jobs instead of on its own (schedule/shared-tick.ts).
      timerVariant: { set: (fn: () => void, ms: number) => everyTick(keepaliveCheckMs(ms), fn), clear: (stop: () => void) => stop() } as unknown as NonNullable<IClientOptions['timerVariant']>,
      // mqtts:// with a private CA: trust exactly that CA.
      ...(config.mqtt.caFile ? { ca: readFileSync(config.mqtt.caFile) } : {}),
      reconnectPeriod: MIN_RECONNECT_MS,
      connectTimeout: 10_000,
      will: { topic: topics.status(this.venueId), payload: Buffer.from(this.status(false)), qos: 1, retain: true },
    });
    this.client = client;
    // Handlers before the connection so a retained windows message is never missed.
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('connect', () => {
      this.reconnectMs = MIN_RECONNECT_MS;
      client.options.reconnectPeriod = MIN_RECONNECT_MS;
      this.log.info({ url: config.mqtt.url }, 'connected to the centre broker');
      client.subscribe(topics.windows(this.venueId), { qos: 1 }, (err) => {
        if (err) this.log.error({ err: err.message }, 'cannot subscribe to upload windows');
      });
      if (this.opts.onCommand || this.opts.onFetch || this.opts.onLive) {
        client.subscribe(topics.commands(this.venueId), { qos: 1 }, (err, granted) => {
          if (err || granted?.some((g) => g.qos === 128)) this.log.error({ err: err?.message }, 'cannot subscribe to centre commands: check the broker ACL (docs/device-health.md)');
        });
      }
      client.publish(topics.status(this.venueId), this.status(true), { qos: 1, retain: true });
      this.publishInventory();
      this.opts.onConnect?.();
      this.inflight.clear();
      this.flush();
    });
    client.on('close', () => {
      // Back off while the broker stays away; mqtt.js reads reconnectPeriod at each attempt.
      client.options.reconnectPeriod = this.reconnectMs;
      this.reconnectMs = Math.min(MAX_RECONNECT_MS, this.reconnectMs * 2);
    });
    client.on('offline', () => this.log.warn({ url: config.mqtt.url, outbox: this.opts.catalogue.outboxSize() }, 'centre broker unreachable; messages wait in the outbox'));
    client.on('error', (err) => {
      const hint = /not authori[sz]ed|bad user ?name or password/i.test(err.message)
        ? ': the broker refused venue id / centre.token; check both match the centre\'s agents list'
        : '';
      this.log.error({ err: err.message }, `MQTT error${hint}`);
    });
    // On the box's shared timer: the batcher adds no wake-up of its own (schedule/shared-tick.ts).
    // setImmediate: after the rest of this tick's work (the playlist polls catalogue new segments
    // and gap rows then), in the same wake-up, so what they wrote leaves now, not a tick later.
    // Every three segment durations by default: each camera has about three new segments by then,
    // and all of them share one commit, one message and one acknowledgement (segment-intake.ts).
    // A tick every segment cost one camera's agent 0.354 % of a core against 0.288 % now; a tick
    // every second, at 4 cameras, ~2 commits a second of one segment each (docs/benchmarks.md).
    this.batchTimer = everyTick(catalogueCommitMs(config.recording), () => setImmediate(() => this.tick()));
  }

  /** Publishes the retained health report (state, not an event: the newest replaces the last). */
  publishHealth(payload: string): void {
    const client = this.client;
    if (!client?.connected) return;
    client.publish(topics.health(this.venueId), payload, { qos: 1, retain: true }, (err) => {
      if (err) this.log.debug({ err: err.message }, 'health report not acknowledged; the next one follows');
    });
  }

  /** Publishes the retained inventory now (on connect, and whenever a camera changes). */
  publishInventory(): void {
    const client = this.client;
    if (!client?.connected) return;
    let payload: string;
    try {
      payload = JSON.stringify(encodeMessage('inventory', { venueId: this.venueId, ...this.opts.inventory() }));
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'inventory does not validate; not sent');
      return;
    }
    client.publish(topics.inventory(this.venueId), payload, { qos: 1, retain: true }, (err) => {
      if (err) this.log.warn({ err: err.message }, 'inventory not acknowledged; sent again on reconnect');
    });
  }

  /** Each batch interval: nothing new in the catalogue and nothing left over means no query at all. */
  private tick(): void {
    if (!this.batchTimer) return; // stopped meanwhile
    const { catalogue, intake } = this.opts;
    const { added } = catalogue;
    const acks = catalogue.acknowledgedWaiting;
    // Acknowledged rows go with the next write; with none coming, they wait a few seconds at most.
    const acksDue = acks.count > 0 && Date.now() - acks.sinceMs >= ACK_ROWS_WAIT_MS;
    if (!intake?.waiting() && added.segments === this.seenSegments && added.outbox === this.seenOutbox && !this.flushAgain && !acksDue) return;
    this.batch();
  }

  /**
   * Catalogues the segments waiting in the intake, moves new catalogue segments into outbox
   * messages, deletes the acknowledged rows and reads what to send: one transaction, so one commit
   * and one round of SQLite's file locks for all of it. Then sends.
   */
  batch(): void {
    const { catalogue, intake } = this.opts;
    let committed: (() => void) | undefined;
    let pending: OutboxMessage[] | null = null;
    try {
      catalogue.write(() => {
        committed = intake?.commit();
        const segmentsBefore = catalogue.added.segments;
        while (
          catalogue.announceSegments(BATCH_MAX, (segments) => {
            const msg = encodeMessage('segments', { venueId: this.venueId, segments });
            return { id: msg.id, topic: topics.segments(this.venueId), payload: JSON.stringify(msg) };
          }) === BATCH_MAX
        );
        this.seenSegments = segmentsBefore;
        pending = this.readPending();
      });
    } catch (err) {
      // The intake keeps its segments and the rows their state: the next tick tries again.
      this.log.error({ err: (err as Error).message }, 'cannot catalogue or announce new segments; trying again');
      return;
    }
    committed?.();
    if (pending) this.send(pending);
  }

  private flush(): void {
    const pending = this.readPending();
    if (pending) this.send(pending);
  }

  /** The outbox messages to publish now: null when not connected or the in-flight window is full. */
  private readPending(): OutboxMessage[] | null {
    if (!this.client?.connected || this.flushing) return null;
    if (this.inflight.size >= MAX_INFLIGHT) {
      this.flushAgain = true;
      return null;
    }
    const outboxBefore = this.opts.catalogue.added.outbox;
    const limit = MAX_INFLIGHT + this.inflight.size;
    const pending = this.opts.catalogue.pending(limit);
    this.seenOutbox = outboxBefore;
    // A full page may have more behind it: look again next tick.
    this.flushAgain = pending.length >= limit;
    return pending;
  }

  private send(pending: OutboxMessage[]): void {
    const client = this.client;
    if (!client?.connected || this.flushing) return;
    this.flushing = true;
    try {
      for (const m of pending) {
        if (this.inflight.has(m.id)) continue;
        if (this.inflight.size >= MAX_INFLIGHT || !client.connected) {
          this.flushAgain = true;
          break;
        }
        this.inflight.add(m.id);
        client.publish(m.topic, m.payload, { qos: 1, retain: m.retain }, (err) => {
          this.inflight.delete(m.id);
          if (err) {
            this.log.debug({ id: m.id, err: err.message }, 'outbox message not acknowledged; will resend');
            this.flushAgain = true;
            return;
          }
          this.opts.catalogue.acknowledge(m.id);
          this.delivered++;
          // More to send only if a page was full, a publish failed or something was queued since.
          if (this.inflight.size === 0 && (this.flushAgain || this.opts.catalogue.added.outbox !== this.seenOutbox)) this.flush();
        });
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Answers a centre command (QoS 1, not through the outbox: a late answer is no answer). */
  publishReply(body: Omit<CommandReply, 'v' | 'id' | 'sentAt' | 'type' | 'venueId'>): void {
    const client = this.client;
    if (!client?.connected) return;
    try {
      const msg = encodeMessage('replies', { venueId: this.venueId, ...body });
      client.publish(topics.replies(this.venueId), JSON.stringify(msg), { qos: 1 });
    } catch (err) {
      this.log.error({ err: (err as Error).message, command: body.command }, 'command reply does not validate; not sent');
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.commands(this.venueId) && (this.opts.onCommand || this.opts.onFetch || this.opts.onLive)) {
      const decoded = decodeMessage('commands', this.venueId, payload);
      if (!decoded.ok) {
        this.log.warn({ topic, err: decoded.error }, 'ignored an invalid command from the centre');
        return;
      }
      const cmd = decoded.message;
      if (cmd.command === 'fetch') {
        // Issue 5: upload this camera's range now (a user asked to watch footage the centre lacks).
        if (!cmd.cameraId.startsWith(`${this.venueId}.`) || !this.opts.onFetch) return;
        this.log.info({ cameraId: cmd.cameraId, from: cmd.from, to: cmd.to, requestId: cmd.requestId }, 'centre asks for footage');
        this.opts.onFetch(cmd);
        return;
      }
      if (cmd.command === 'live') {
        if (!cmd.cameraId.startsWith(`${this.venueId}.`) || !this.opts.onLive) return;
        this.opts.onLive(cmd);
        return;
      }
      this.opts.onCommand?.(cmd);
      return;
    }
    if (topic !== topics.windows(this.venueId)) return;
    const decoded = decodeMessage('windows', this.venueId, payload);
    if (!decoded.ok) {
      this.log.warn({ topic, err: decoded.error }, 'ignored an invalid upload-windows message from the centre');
      return;
    }
    this.log.info({ windows: decoded.message.windows.length }, 'upload windows received');
    this.opts.onWindows(decoded.message.windows);
  }

  /** Graceful: retained offline status (the will is for crashes), then close after in-flight acks. */
  async stop(timeoutMs = 3000): Promise<void> {
    this.batchTimer?.();
    this.batchTimer = null;
    // The last segments and acknowledgements reach the catalogue and, while connected, the broker.
    this.batch();
    const client = this.client;
    if (!client) return;
    this.client = null;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        client.publish(topics.status(this.venueId), this.status(false), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => client.end(true, {}, () => resolve()), timeoutMs);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** For tests: drop the connection without the graceful goodbye, as a crash would. */
  destroySocket(): void {
    (this.client as unknown as { stream?: { destroy(): void } } | null)?.stream?.destroy();
  }
}
