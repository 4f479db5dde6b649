import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import type { Logger } from 'pino';
import { TOPIC_ROOT, topics } from '../../protocol/index.ts';

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** Credentials of the centre's own client (random per start). */
  centreCredentials: { username: string; password: string };
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function authError(message: string): AuthenticateError {
  // 4 = bad user name or password (MQTT 3.1.1 CONNACK return code).
  return Object.assign(new Error(message), { returnCode: 4 }) as AuthenticateError;
}

/**
 * An MQTT 3.1.1 broker inside the centre for deployments without Mosquitto. It enforces what a
 * broker ACL would: a venue box logs in as its venue id with its agent token, publishes only under
 * its own venue's topics and subscribes only to its own windows topic.
 */
export async function startEmbeddedBroker(opts: { host: string; port: number; agents: Array<{ venueId: string; token: string }>; logger: Logger }): Promise<EmbeddedBroker> {
  const log = opts.logger.child({ component: 'embedded-broker' });
  const centre = { username: `vw-centre-${randomBytes(4).toString('hex')}`, password: randomBytes(24).toString('base64url') };
  const tokens = new Map(opts.agents.map((a) => [a.venueId, a.token]));
  /** client id → venue id (or the centre marker) once authenticated. */
  const identities = new WeakMap<object, string>();
  const CENTRE = '\0centre';

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const pw = password?.toString() ?? '';
      if (username === centre.username && sameSecret(pw, centre.password)) {
        identities.set(client, CENTRE);
        return done(null, true);
      }
      const token = username ? tokens.get(username) : undefined;
      if (username && token && sameSecret(pw, token)) {
        identities.set(client, username);
        return done(null, true);
      }
      log.warn({ clientId: client.id, username }, 'refused MQTT login: unknown venue or wrong agent token');
      done(authError('bad venue id or agent token'), false);
    },
    authorizePublish: (client, packet, done) => {
      if (!client) return done(null); // the broker's own $SYS messages
      const who = identities.get(client);
      if (who === CENTRE) return done(null);
      if (who && packet.topic.startsWith(`${TOPIC_ROOT}/${who}/`) && packet.topic !== topics.windows(who) && packet.topic !== topics.commands(who)) return done(null);
      log.warn({ venueId: who, topic: packet.topic }, 'refused publish outside the venue’s own topics');
      done(new Error(`venue "${who}" may not publish to ${packet.topic}`));
    },
    authorizeSubscribe: (client, sub, done) => {
      const who = identities.get(client);
      if (who === CENTRE) return done(null, sub);
      if (who && (sub.topic === topics.windows(who) || sub.topic === topics.commands(who))) return done(null, sub);
      log.warn({ venueId: who, topic: sub.topic }, 'refused subscription outside the venue’s windows topic');
      // null = a refused subscription (SUBACK 0x80) without dropping the box's connection.
      done(null, null);
    },
  });

  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  log.info({ port }, 'embedded MQTT broker listening');

  return {
    url: `mqtt://${host}:${port}`,
    port,
    centreCredentials: centre,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
