import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import express from 'express';
import { pino, type Logger } from 'pino';
import type { ServerConfig } from '../config/schema.ts';
import type { HealthResponse } from '../protocol/index.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded-broker.ts';
import { VenueLink } from './broker/venue-link.ts';
import { openDatabase, type Database, type DatabaseKind } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { dashboardRouter } from './http/dashboard.ts';
import { apiNotFound, errorHandler } from './http/errors.ts';
import { apiRouter } from './http/routes.ts';
import { ProcessedMessageRepository } from './repositories/messages.ts';
import { GapRepository } from './repositories/gaps.ts';
import { GapService } from './services/gaps.ts';
import { AlarmService } from './services/alarms.ts';
import { EvidenceExportService } from './services/evidence-export.ts';
import { ExportRequestService } from './services/export-requests.ts';
import { ExportRequestRepository } from './repositories/export-requests.ts';
import { exportRouter } from './http/export-routes.ts';
import { UserAdminService } from './services/user-admin.ts';
import { userRouter } from './http/user-routes.ts';
import { OverviewService } from './services/overview.ts';
import { OverviewRepository } from './repositories/overview.ts';
import { overviewRouter } from './http/overview-routes.ts';
import { AuditTrailService } from './services/audit-trail.ts';
import { AuditRepository } from './repositories/audit.ts';
import { auditRouter } from './http/audit-routes.ts';
import { IntegrityService, loadOrCreateCentreKey } from './services/integrity.ts';
import { FetchService } from './services/fetch.ts';
import { LiveService } from './live/live-service.ts';
import { liveRouter } from './live/live-routes.ts';
import { SegmentRepository } from './repositories/segments.ts';
import { SessionRepository } from './repositories/sessions.ts';
import { UserRepository } from './repositories/users.ts';
import { VenueRepository } from './repositories/venues.ts';
import { AuthService } from './services/auth.ts';
import { CatalogueService } from './services/catalogue.ts';
import { IngestService } from './services/ingest.ts';
import { PlaybackService } from './services/playback.ts';
import { SessionService } from './services/sessions.ts';
import { VenueService } from './services/venues.ts';
import { equipmentRouter, ledgerRouter } from './http/ledger-routes.ts';
import { EquipmentService } from './services/equipment.ts';
import { reportRouter } from './http/report-routes.ts';
import { LedgerReportService } from './services/ledger-report.ts';
import { LedgerRepository } from './repositories/ledger.ts';
import { AuditService } from './services/audit.ts';
import { LedgerService } from './services/ledger.ts';
import { LoginGuard } from './services/login-guard.ts';
import { DeviceHealthRepository } from './repositories/device-health.ts';
import { DeviceHealthService } from './services/device-health.ts';
import { RoomEventService } from './services/room-events.ts';
import { PreSessionCheckService } from './services/pre-session-check.ts';
import { deviceRouter } from './http/device-routes.ts';
import { metricsRouter } from './http/metrics.ts';
import { DiskFootageStore } from './storage/disk-store.ts';

export interface StartOptions {
  /** Defaults to a pino logger at config.logLevel. */
  logger?: Logger;
}

export interface RunningServer {
  /** http://host:port the API answers on (127.0.0.1 when listening on every interface). */
  url: string;
  port: number;
  /** The MQTT broker the centre uses: the embedded one's bound URL or config.mqtt.url. */
  brokerUrl: string;
  stop(): Promise<void>;
  /** Internals for tests and tools: the database, the services and the MQTT link. */
  db: Database;
  dbKind: DatabaseKind;
  link: VenueLink;
  services: { auth: AuthService; venues: VenueService; sessions: SessionService; catalogue: CatalogueService; ingest: IngestService; playback: PlaybackService; audit: AuditService; auditTrail: AuditTrailService; ledger: LedgerService; equipment: EquipmentService; deviceHealth: DeviceHealthService; preSessionCheck: PreSessionCheckService; gaps: GapService; alarms: AlarmService; integrity: IntegrityService; fetch: FetchService; live: LiveService; exportRequests: ExportRequestService };
  store: DiskFootageStore;
}

function publicHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
}

/**
 * Composes and starts the centre: database (migrated), footage store, MQTT (embedded broker when no
 * URL is configured) and HTTP. Everything it opens is closed by stop(), in reverse order.
 */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const closers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
    closers.length = 0;
  };

  try {
    const dataDir = path.resolve(config.dataDir);
    const database = await openDatabase({ url: config.databaseUrl, dir: config.databaseUrl ? null : path.join(dataDir, 'db') });
    closers.push(() => database.close());
    await migrate(database.db, logger);
    const { db } = database;

    const store = new DiskFootageStore(path.resolve(config.footageDir ?? path.join(dataDir, 'footage')));
    await store.init();

    const venueRepo = new VenueRepository(db);
    const segmentRepo = new SegmentRepository(db);
    const sessionRepo = new SessionRepository(db);
    const userRepo = new UserRepository(db);
    const processedRepo = new ProcessedMessageRepository(db);

    const auth = new AuthService(userRepo, config.auth.sessionHours, logger.child({ component: 'auth' }));
    const venues = new VenueService(venueRepo);
    const sessions = new SessionService(sessionRepo, venueRepo, segmentRepo, config.sessions, logger.child({ component: 'sessions' }));
    const catalogue = new CatalogueService(segmentRepo, venueRepo, logger.child({ component: 'catalogue' }));
    const ingest = new IngestService(segmentRepo, venueRepo, store, logger.child({ component: 'ingest' }));
    const playback = new PlaybackService(segmentRepo, venueRepo, store);
    const audit = new AuditService(db);
    const auditTrail = new AuditTrailService(new AuditRepository(db), audit, sessions, logger.child({ component: 'audit' }));
    const ledger = new LedgerService(db, new LedgerRepository(db), venueRepo, audit, config.ledger, config.sessions, logger.child({ component: 'ledger' }));
    const equipment = new EquipmentService(db, venueRepo, audit, logger.child({ component: 'equipment' }));
    const loginGuard = new LoginGuard(config.auth.maxFailedLogins, config.auth.lockoutMinutes * 60_000);
    const deviceHealthRepo = new DeviceHealthRepository(db);
    const deviceHealth = new DeviceHealthService(deviceHealthRepo, venueRepo, config.deviceHealth, logger.child({ component: 'device-health' }), config.ledger.timeZone);
    const stopHealthTimers = deviceHealth.startTimers();
    closers.push(async () => stopHealthTimers());
    const roomEventService = new RoomEventService(db, deviceHealth, logger.child({ component: 'room-events' }));
    const preSessionCheck = new PreSessionCheckService(db, sessionRepo, deviceHealth, config.preSessionCheck, logger.child({ component: 'pre-session-check' }));
    const stopPreCheck = preSessionCheck.start();
    closers.push(async () => stopPreCheck());
    const gaps = new GapService(new GapRepository(db), logger.child({ component: 'gaps' }));
    sessions.useGapCauses(gaps);
    const alarms = new AlarmService(db, logger.child({ component: 'alarms' }));
    const integrity = new IntegrityService(db, segmentRepo, store, loadOrCreateCentreKey(dataDir), logger.child({ component: 'integrity' }));
    ingest.onStored = (meta) => integrity.segmentStored(meta.cameraId, meta.start);
    const evidence = new EvidenceExportService(segmentRepo, integrity, store, logger.child({ component: 'evidence-export' }));
    const exportRequests = new ExportRequestService(db, new ExportRequestRepository(db), venueRepo, sessions, audit, config.exports, logger.child({ component: 'export-requests' }));

    if (config.demo.accounts) {
      if (!config.demo.password) throw new Error('demo.accounts is on but demo.password is not set: set DEMO_PASSWORD');
      await auth.ensureDemoAccounts(config.demo.password);
    } else {
      const first = await auth.ensureFirstAdmin();
      if (first) {
        // Printed once, here: only its hash is stored. The operator signs in and changes it.
        logger.warn({ username: first.username, password: first.password }, `first start: created account "${first.username}" with password "${first.password}" — note it now, it is not shown again`);
        await audit.append({ actorId: null, actor: 'system', action: 'user.create_first_admin', venueId: null, subjectType: 'user', subjectId: first.username });
      }
    }

    // ---- MQTT ----
    let broker: EmbeddedBroker | null = null;
    let brokerUrl: string;
    let credentials: { username?: string; password?: string } = {};
    if (config.mqtt.url === null) {
      const mqttTls = config.mqtt.tls ? { cert: readFileSync(config.mqtt.tls.certFile), key: readFileSync(config.mqtt.tls.keyFile) } : null;
      broker = await startEmbeddedBroker({ host: config.host, port: config.mqtt.embeddedPort, agents: config.agents, logger, tls: mqttTls });
      closers.push(() => broker!.close());
      brokerUrl = broker.url;
      credentials = broker.centreCredentials;
    } else {
      brokerUrl = config.mqtt.url;
    }
    const brokerCa = config.mqtt.caFile ? readFileSync(config.mqtt.caFile) : config.mqtt.tls && !config.mqtt.url ? readFileSync(config.mqtt.tls.certFile) : undefined;
    const link = new VenueLink({
      url: brokerUrl,
      ...credentials,
      ...(brokerCa ? { ca: brokerCa } : {}),
      venueIds: config.agents.map((a) => a.venueId),
      venues,
      catalogue,
      sessions,
      processed: processedRepo,
      logger,
      holds: [(venueId) => ledger.windowsFor(venueId), (venueId) => exportRequests.windowsFor(venueId)],
      health: deviceHealth,
      roomEvents: roomEventService,
      gaps,
      alarms,
      integrity,
      // External broker: a persistent session named after this centre's data folder (issue 5).
      persistentSessionId: broker ? undefined : createHash('sha256').update(dataDir).digest('hex').slice(0, 16),
    });
    closers.push(() => link.stop());
    const fetchService = new FetchService(segmentRepo, venueRepo, venues, (venueId, f) => link.publishFetch(venueId, f), logger.child({ component: 'fetch' }));
    const live = new LiveService(config.live, venueRepo, venues, audit, (venueId, l) => link.publishLive(venueId, l), logger.child({ component: 'live' }));
    live.start();
    closers.push(() => live.stop());
    const republish = (venueId: string) =>
      link.publishWindows(venueId).catch((err: Error) => logger.warn({ venueId, err: err.message }, 'could not publish upload windows'));
    sessions.onChange((venueId) => void republish(venueId));
    ledger.onChange((venueId) => void republish(venueId));
    exportRequests.onChange((venueId) => void republish(venueId));
    await link.start();
    const known = new Set([...(await venues.summaries()).map((v) => v.id), ...config.agents.map((a) => a.venueId)]);
    await Promise.all([...known].map(republish));
    // Duplicate detection only needs ids recent enough to be redelivered.
    const prune = setInterval(() => void processedRepo.pruneBefore(new Date(Date.now() - 7 * 24 * 3600_000)).catch(() => {}), 3600_000);
    prune.unref();
    closers.push(async () => clearInterval(prune));
    // Partial uploads a box never finished (its segment looped away, another record): a week is
    // far longer than any outage a box resumes after.
    const sweep = () => void ingest.sweepAbandoned(7 * 24 * 3600_000).catch((err: Error) => logger.warn({ err: err.message }, 'could not sweep abandoned partial uploads'));
    sweep();
    const sweeper = setInterval(sweep, 6 * 3600_000);
    sweeper.unref();
    closers.push(async () => clearInterval(sweeper));

    // ---- HTTP ----
    const health = async (): Promise<HealthResponse> => {
      let dbError: string | undefined;
      try {
        await db.execute(sql`SELECT 1`);
      } catch (err) {
        dbError = (err as Error).message;
      }
      const brokerOk = link.connected;
      return {
        status: dbError === undefined && brokerOk ? 'ok' : 'degraded',
        database: { ok: dbError === undefined, kind: database.kind, ...(dbError ? { error: dbError } : {}) },
        broker: { ok: brokerOk, kind: broker ? 'embedded' : 'external', url: brokerUrl.replace(/\/\/[^@/]*@/, '//') },
        venues: dbError === undefined ? await venues.summaries() : [],
      };
    };
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', 'loopback');
    app.use('/api/ledger', equipmentRouter({ auth, equipment }));
    app.use('/api/ledger', reportRouter({ auth, reports: new LedgerReportService(db, config.ledger.timeZone) }));
    app.use('/api/ledger', ledgerRouter({ auth, ledger, audit, maxPhotoBytes: config.ledger.maxPhotoBytes, logger: logger.child({ component: 'ledger-http' }) }));
    app.use('/api', apiRouter({ auth, venues, sessions, playback, ingest, agents: config.agents, health, logger: logger.child({ component: 'http' }), audit, loginGuard, fetch: fetchService }));
    app.use('/api', auditRouter({ auth, trail: auditTrail }));
    app.use('/api', overviewRouter({ auth, overview: new OverviewService(new OverviewRepository(db), venues, deviceHealthRepo, config.ledger.timeZone) }));
    app.use('/api', userRouter({ auth, users: new UserAdminService(userRepo, venueRepo, audit, auth, logger.child({ component: 'users' })) }));
    app.use('/api', exportRouter({ auth, requests: exportRequests, evidence, logger: logger.child({ component: 'export-http' }) }));
    app.use('/api', deviceRouter({ auth, health: deviceHealth, roomEvents: roomEventService, preSessionCheck, link, logger: logger.child({ component: 'http' }) }));
    app.use(metricsRouter({ health: deviceHealth, link, ingest }));
    app.use('/api', liveRouter({ auth, live, agents: config.agents, logger: logger.child({ component: 'live-http' }) }));
    app.use('/api', apiNotFound);
    const dashboard = dashboardRouter(config.dashboardDir);
    if (dashboard) app.use(dashboard);
    else logger.info({ dashboardDir: config.dashboardDir }, 'no built dashboard found; serving the API only (npm run build:dashboard)');
    app.use(errorHandler(logger.child({ component: 'http' })));

    const server: Server = config.tls
      ? (createHttpsServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app) as unknown as Server)
      : createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `${config.tls ? 'https' : 'http'}://${publicHost(config.host)}:${port}`;
    logger.info({ url, brokerUrl, database: database.kind }, 'VenueWatch centre started');

    let stopping: Promise<void> | null = null;
    return {
      url,
      port,
      brokerUrl,
      stop: () => (stopping ??= stopAll().then(() => logger.info('VenueWatch centre stopped'))),
      db,
      dbKind: database.kind,
      link,
      services: { auth, venues, sessions, catalogue, ingest, playback, audit, auditTrail, ledger, equipment, deviceHealth, preSessionCheck, gaps, alarms, integrity, fetch: fetchService, live, exportRequests },
      store,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A random token good for agent credentials in tests and demos. */
export const randomToken = (): string => randomBytes(24).toString('base64url');
