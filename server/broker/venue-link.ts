import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { centreSubscriptions, decodeMessage, encodeMessage, parseTopic, topics, type BoxCommandName, type MessageOf, type UploadWindow } from '../../protocol/index.ts';
import type { ProcessedMessageRepository } from '../repositories/messages.ts';
import type { CatalogueService } from '../services/catalogue.ts';
import type { GapService } from '../services/gaps.ts';
import type { AlarmService } from '../services/alarms.ts';
import type { IntegrityService } from '../services/integrity.ts';
import { AppError } from '../services/errors.ts';
import type { SessionService } from '../services/sessions.ts';
import type { VenueService } from '../services/venues.ts';

export interface LinkCounters {
  received: number;
  processed: number;
  rejected: number;
  duplicates: number;
  failed: number;
}

export interface VenueLinkOptions {
  url: string;
  username?: string;
  password?: string;
  /** CA to trust for mqtts:// (PEM). */
  ca?: Buffer;
  /** Venues allowed to talk to this centre (config.agents); others are rejected and counted. */
  venueIds: string[];
  venues: VenueService;
  catalogue: CatalogueService;
  sessions: SessionService;
  processed: ProcessedMessageRepository;
  logger: Logger;
  /** More owners of upload windows (holds) besides sessions, e.g. the patrol ledger. */
  holds?: Array<(venueId: string) => Promise<UploadWindow[]>>;
  /** Device health (issue 3): health reports and box online/offline. */
  health?: {
    applyReport(message: MessageOf<'health'>): Promise<void>;
    boxStatus(venueId: string, online: boolean): Promise<void>;
  };
  /** Room events (issue 3). */
  roomEvents?: { applyBatch(message: MessageOf<'events'>): Promise<void> };
  /** Recording gaps (issue 5); without it gap messages are refused. */
  gaps?: GapService;
  /** Venue alarms (issue 5); without it alarm messages are refused. */
  alarms?: AlarmService;
  /**
   * Issue 5: a stable id for a persistent MQTT session (clean: false). With an external broker the
   * broker then queues the venues' QoS 1 messages while the centre is down, instead of dropping
   * them after acknowledging them to the boxes (whose outboxes have already let them go).
   */
  persistentSessionId?: string;
  /** Footage manifests (issue 5); without it manifests are refused. */
  integrity?: IntegrityService;
}

/**
 * The centre's MQTT client: hears every venue's status, inventory and segment batches, and keeps
 * each venue's retained upload windows current. Every payload is validated by the protocol; a bad
 * one is logged with its topic and counted, and the next one is handled as usual.
 */
export class VenueLink {
  readonly counters: LinkCounters = { received: 0, processed: 0, rejected: 0, duplicates: 0, failed: 0 };
  /** Rejections per topic venue: which box (or impostor on its topics) is sending bad messages. */
  readonly rejectedByVenue = new Map<string, number>();
  private client: MqttClient | null = null;
  private readonly log: Logger;
  /** Messages are handled one at a time, in arrival order (inventory before the segments after it). */
  private queue: Promise<void> = Promise.resolve();
  private readonly allowed: Set<string>;

  constructor(private readonly opts: VenueLinkOptions) {
    this.log = opts.logger.child({ component: 'venue-link' });
    this.allowed = new Set(opts.venueIds);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(connectWaitMs = 10_000): Promise<void> {
    const client = mqtt.connect(this.opts.url, {
      protocolVersion: 4, // aedes speaks MQTT 3.1.1 only
      clientId: this.opts.persistentSessionId ? `vw-centre-${this.opts.persistentSessionId}` : `vw-centre-${Math.random().toString(16).slice(2, 10)}`,
      username: this.opts.username,
      password: this.opts.password,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      clean: !this.opts.persistentSessionId,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      manualConnect: true,
    });
    this.client = client;
    // Handlers first: retained and queued messages arrive right after the subscription.
    client.on('message', (topic, payload) => {
      this.queue = this.queue.then(() => this.handle(topic, payload)).catch(() => {});
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'MQTT client error'));
    client.on('offline', () => this.log.warn('MQTT broker unreachable; retrying'));
    client.on('connect', () => {
      this.log.info({ url: this.opts.url }, 'connected to MQTT broker');
      client.subscribe(centreSubscriptions, { qos: 1 }, (err) => {
        if (err) this.log.error({ err: err.message }, 'MQTT subscribe failed');
      });
    });
    const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.connect();
    // Waits for the first connection but never fails: without a broker the centre still serves
    // HTTP (health says "degraded") and the client keeps retrying.
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), connectWaitMs).unref());
    if ((await Promise.race([connected, timeout])) === 'timeout') {
      this.log.warn({ url: this.opts.url }, 'MQTT broker not reachable yet; the centre keeps trying');
    }
  }

  /** Resolves once every message received so far has been handled (tests and shutdown). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.endAsync(false);
    await this.idle();
  }

  private reject(topic: string, reason: string): void {
    this.counters.rejected++;
    const venueId = parseTopic(topic)?.venueId;
    if (venueId) this.rejectedByVenue.set(venueId, (this.rejectedByVenue.get(venueId) ?? 0) + 1);
    this.log.warn({ topic, reason }, 'rejected MQTT message');
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    this.counters.received++;
    // A retained message is deleted with an empty payload; nothing to handle.
    if (payload.length === 0) return;
    const parsed = parseTopic(topic);
    if (!parsed || parsed.kind === 'windows' || parsed.kind === 'commands') return this.reject(topic, 'not a venue → centre topic');
    const { venueId, kind } = parsed;
    if (!this.allowed.has(venueId)) return this.reject(topic, `venue "${venueId}" is not in this centre's agents list: add it with its token`);
    const decoded = decodeMessage(kind, venueId, payload);
    if (!decoded.ok) return this.reject(topic, decoded.error);
    const message = decoded.message;
    if (kind === 'replies') return this.onReply(topic, message as MessageOf<'replies'>);
    const log = this.log.child({ venueId, kind, messageId: message.id });
    try {
      // Health reports are state (the newest replaces the last): no duplicate bookkeeping for them.
      if (kind !== 'health' && !(await this.opts.processed.claim(message.id, venueId, kind))) {
        this.counters.duplicates++;
        log.debug('dropped duplicate MQTT message');
        return;
      }
      try {
        await this.apply(kind as 'status' | 'inventory' | 'segments' | 'health' | 'events', message as MessageOf<'status'>);
      } catch (err) {
        // Let a redelivery of this id try again: the failure was ours, not the venue's.
        if (!(err instanceof AppError) && kind !== 'health') await this.opts.processed.forget(message.id);
        throw err;
      }
      this.counters.processed++;
    } catch (err) {
      if (err instanceof AppError) return this.reject(topic, err.message);
      this.counters.failed++;
      log.error({ err: (err as Error).message, topic }, 'failed to handle MQTT message');
    }
  }

  private readonly pendingCommands = new Map<string, { venueId: string; resolve: (r: MessageOf<'replies'>) => void }>();

  private onReply(topic: string, reply: MessageOf<'replies'>): void {
    const pending = this.pendingCommands.get(reply.correlationId);
    // A reply nobody waits for (late, or forged with a made-up id) is refused and logged.
    if (!pending || pending.venueId !== reply.venueId) return this.reject(topic, `reply to unknown command ${reply.correlationId}`);
    this.pendingCommands.delete(reply.correlationId);
    this.counters.processed++;
    pending.resolve(reply);
  }

  /**
   * Sends a command to a venue box and waits for its reply (correlation id); rejects after
   * `timeoutMs` — the box may be offline — and the box refuses it when it arrives later.
   */
  async sendCommand(
    venueId: string,
    command: BoxCommandName,
    cameraId: string | undefined,
    timeoutMs = 15_000,
  ): Promise<MessageOf<'replies'>> {
    const client = this.client;
    if (!client?.connected) throw new Error('the centre is not connected to the MQTT broker');
    const correlationId = crypto.randomUUID();
    const message = encodeMessage('commands', { venueId, correlationId, command, ...(cameraId ? { cameraId } : {}), expiresAt: new Date(Date.now() + timeoutMs).toISOString() });
    const reply = new Promise<MessageOf<'replies'>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingCommands.delete(correlationId);
        reject(new Error(`venue box ${venueId} did not answer "${command}" within ${timeoutMs / 1000} s: is it online?`));
      }, timeoutMs);
      this.pendingCommands.set(correlationId, {
        venueId,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
    await client.publishAsync(topics.commands(venueId), JSON.stringify(message), { qos: 1 });
    this.log.info({ venueId, command, cameraId, correlationId }, 'command sent to venue box');
    return reply;
  }

  private async apply(
    kind: 'status' | 'inventory' | 'segments' | 'health' | 'events' | 'gaps' | 'alarm' | 'manifest',
    message:
      | MessageOf<'status'>
      | MessageOf<'inventory'>
      | MessageOf<'segments'>
      | MessageOf<'health'>
      | MessageOf<'events'>
      | MessageOf<'gaps'>
      | MessageOf<'alarm'>
      | MessageOf<'manifest'>,
  ): Promise<void> {
    const venueId = message.venueId;
    switch (kind) {
      case 'status': {
        const m = message as MessageOf<'status'>;
        await this.opts.venues.setStatus(venueId, m.online, m.agentVersion, m.startedAt ? new Date(m.startedAt) : null, new Date());
        this.log.info({ venueId, online: m.online }, m.online ? 'venue box online' : 'venue box offline');
        await this.opts.health?.boxStatus(venueId, m.online);
        if (m.online) await this.publishWindows(venueId);
        return;
      }
      case 'inventory': {
        const m = message as MessageOf<'inventory'>;
        await this.opts.venues.applyInventory(m);
        this.log.info({ venueId, rooms: m.rooms.length, cameras: m.cameras.length }, 'venue inventory updated');
        return;
      }
      case 'segments':
        await this.opts.catalogue.applyBatch(message as MessageOf<'segments'>);
        return;
      case 'health':
        await this.opts.health?.applyReport(message as MessageOf<'health'>);
        return;
      case 'events':
        await this.opts.roomEvents?.applyBatch(message as MessageOf<'events'>);
        return;
      case 'gaps':
        if (!this.opts.gaps) throw AppError.forMachines('bad_request', 'this centre does not accept gap reports');
        await this.opts.gaps.applyBatch(message as MessageOf<'gaps'>);
        return;
      case 'alarm':
        if (!this.opts.alarms) throw AppError.forMachines('bad_request', 'this centre does not accept alarms');
        await this.opts.alarms.apply(message as MessageOf<'alarm'>);
        return;
      case 'manifest':
        if (!this.opts.integrity) throw AppError.forMachines('bad_request', 'this centre does not accept manifests');
        await this.opts.integrity.receive(message as MessageOf<'manifest'>);
        return;
    }
  }

  /** Issue 5: asks a venue box to upload one camera's range now (QoS 1, not retained). */
  async publishFetch(venueId: string, fetch: { requestId: string; cameraId: string; from: string; to: string }): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new AppError('unavailable', { en: 'the centre is not connected to the MQTT broker: cannot ask the venue box now', zh: '中心未连接消息服务器（MQTT），暂时无法向现场主机发出请求：请稍后重试' });
    const message = encodeMessage('commands', { venueId, command: 'fetch', ...fetch });
    await client.publishAsync(topics.commands(venueId), JSON.stringify(message), { qos: 1 });
  }

  /** Live view: asks the box to push a camera's new segments for leaseSeconds (0 = stop). */
  async publishLive(venueId: string, live: { cameraId: string; leaseSeconds: number }): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new AppError('unavailable', { en: 'the centre is not connected to the MQTT broker: cannot ask the venue box now', zh: '中心未连接消息服务器（MQTT），暂时无法向现场主机发出请求：请稍后重试' });
    const message = encodeMessage('commands', { venueId, command: 'live', ...live });
    await client.publishAsync(topics.commands(venueId), JSON.stringify(message), { qos: 1 });
  }

  /** Publishes the venue's current upload windows, retained so a box that reconnects gets them at once. */
  async publishWindows(venueId: string): Promise<void> {
    const client = this.client;
    if (!client) return;
    const extra = await Promise.all((this.opts.holds ?? []).map((h) => h(venueId)));
    const windows = [...(await this.opts.sessions.windowsFor(venueId)), ...extra.flat()].slice(0, 5000);
    const message = encodeMessage('windows', { venueId, windows });
    await client.publishAsync(topics.windows(venueId), JSON.stringify(message), { qos: 1, retain: true });
    this.log.debug({ venueId, windows: windows.length }, 'published upload windows');
  }
}
