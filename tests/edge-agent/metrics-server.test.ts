import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../edge-agent/health/metrics-server.ts';
import { quietLogger } from './agent-fixture.ts';

/**
 * The box's /metrics server: serves the text, and closes a connection that goes idle (it has no
 * periodic request check of its own, which woke the agent twice a minute).
 */
describe('agent metrics server', () => {
  it('serves /metrics and closes a connection left idle mid-request', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, render: () => 'vw_up 1\n', logger: quietLogger(), idleMs: 300 });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('vw_up 1\n');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);

      // A scraper that stalls after half a request line is cut off, not kept forever.
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1', () => socket.write('GET /metr'));
        socket.on('close', () => resolve(Date.now() - started));
        socket.on('error', () => {});
        setTimeout(() => reject(new Error('the idle connection was not closed within 5 s')), 5000).unref();
      });
      expect(closedAfter).toBeGreaterThanOrEqual(250);
      expect(closedAfter).toBeLessThan(3000);
    } finally {
      await server.close();
    }
  });
});
