import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../edge-agent/agent.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { hasCommand, need } from '../support/prerequisites.ts';
import { agentConfig, freePort, quietLogger, scratchDir } from '../edge-agent/agent-fixture.ts';
import { serverConfig, silent, tempDir, uniqueVenueId, waitFor } from './support.ts';

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * HTTPS and MQTT over TLS as settings (certificate files): the centre serves its API over HTTPS
 * and its embedded broker over mqtts://; a venue box trusting the CA file connects and is online;
 * plain MQTT to the TLS port is refused.
 */
describe.runIf(need(hasCommand('openssl') ? { ok: true } : { ok: false, reason: 'openssl missing: apt-get install openssl' }))('TLS settings', () => {
  const tmp = tempDir('tls');
  const scratch = scratchDir('tls');
  const venueId = uniqueVenueId('tls');
  const token = randomBytes(24).toString('hex');
  const cert = path.join(tmp.dir, 'cert.pem');
  const key = path.join(tmp.dir, 'key.pem');
  let server: RunningServer;
  let agent: Agent;

  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    server = await startServer(
      serverConfig(tmp.dir, { tls: { certFile: cert, keyFile: key }, mqtt: { url: null, embeddedPort: 0, tls: { certFile: cert, keyFile: key }, caFile: null }, agents: [{ venueId, token }] }),
      { logger: silent },
    );
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    scratch.remove();
    tmp.remove();
  });

  it('serves HTTPS and mqtts; a box with the CA file connects and shows online', async () => {
    expect(server.url).toMatch(/^https:\/\//);
    expect(server.brokerUrl).toMatch(/^mqtts:\/\//);
    const health = await httpsGet(`${server.url}/api/health`, readFileSync(cert));
    expect(health.status).toBe(200);
    await expect(fetch(`${server.url}/api/health`)).rejects.toThrow(); // untrusted without the CA
    const nowhere = await freePort();
    agent = await startAgent(
      agentConfig({
        venue: { id: venueId, name: 'TLS venue' },
        mqtt: { url: server.brokerUrl, keepaliveSeconds: 10, caFile: cert },
        centre: { url: `http://127.0.0.1:${nowhere}`, token },
        dataDir: scratch.dir,
      }),
      { logger: quietLogger() },
    );
    await waitFor('box online at the centre', async () => (await server.services.venues.summaries()).find((v) => v.id === venueId)?.online, 15_000);
    // Plain MQTT to the TLS port: no session.
    const port = Number(new URL(server.brokerUrl).port);
    const plain = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, username: venueId, password: token, reconnectPeriod: 0, connectTimeout: 2000 });
    const connected = await new Promise<boolean>((resolve) => {
      plain.once('connect', () => resolve(true));
      plain.once('error', () => resolve(false));
      plain.once('close', () => resolve(false));
    });
    plain.end(true);
    expect(connected).toBe(false);
  }, 40_000);
});
