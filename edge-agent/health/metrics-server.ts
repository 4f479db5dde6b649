import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BoxHealth, CameraHealth } from '../../protocol/index.ts';

/**
 * Prometheus text exposition of the box's health on GET /metrics (nothing else is served). Listens
 * on the settings' host and port; port 0 (tests) takes a free one.
 */

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Counters of footage transfer to the centre since the agent started (upload/uploader.ts). */
export interface TransferCounters {
  uploaded: number;
  attempts: number;
  resumed: number;
  resumedBytes: number;
}

export function renderAgentMetrics(venueId: string, box: BoxHealth, cameras: CameraHealth[], transfer?: TransferCounters): string {
  const lines: string[] = [];
  const metric = (type: 'gauge' | 'counter') => (name: string, help: string, rows: Array<[Record<string, string>, number | null]>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) {
      if (value === null) continue;
      const l = Object.entries({ venue: venueId, ...labels }).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      lines.push(`${name}{${l}} ${value}`);
    }
  };
  const gauge = metric('gauge');
  const counter = metric('counter');
  gauge('vw_box_cpu_percent', 'CPU use of the venue box', [[{}, box.cpuPercent]]);
  gauge('vw_box_memory_used_bytes', 'Memory in use', [[{}, box.memoryUsedBytes]]);
  gauge('vw_box_disk_free_bytes', 'Free disk under the data folder', [[{}, box.diskFreeBytes]]);
  gauge('vw_box_recording_forecast_days', 'Days of recording the free disk holds', [[{}, box.forecastDays]]);
  gauge('vw_box_broker_connected', '1 when the MQTT link to the centre is up', [[{}, box.brokerConnected ? 1 : 0]]);
  gauge('vw_box_outbox_depth', 'Messages waiting for the centre', [[{}, box.outboxDepth]]);
  gauge('vw_box_uptime_seconds', 'Seconds since the agent started', [[{}, box.uptimeSeconds]]);
  const cam = (c: CameraHealth): Record<string, string> => ({ camera: c.id });
  gauge('vw_camera_online', '1 when the camera streams and records', cameras.map((c) => [cam(c), c.online ? 1 : 0]));
  gauge('vw_camera_recording', '1 while segments arrive', cameras.map((c) => [cam(c), c.recording ? 1 : 0]));
  gauge('vw_camera_fps', 'Frames per second received', cameras.map((c) => [cam(c), c.fps]));
  gauge('vw_camera_bitrate_kbps', 'Bit rate of the last minute', cameras.map((c) => [cam(c), c.bitrateKbps]));
  gauge('vw_camera_last_segment_age_seconds', 'Age of the last recorded segment', cameras.map((c) => [cam(c), c.lastSegmentAgeSeconds]));
  gauge('vw_camera_reconnects_last_hour', 'Recorder restarts in the last hour', cameras.map((c) => [cam(c), c.reconnectsLastHour]));
  gauge('vw_camera_clock_offset_ms', 'Camera clock minus box clock', cameras.map((c) => [cam(c), c.clockOffsetMs]));
  if (transfer) {
    counter('vw_upload_segments_total', 'Segments the centre acknowledged with their SHA-256', [[{}, transfer.uploaded]]);
    counter('vw_upload_attempts_total', 'Upload attempts, retries included', [[{}, transfer.attempts]]);
    // A technician reading a flaky uplink: how often uploads resumed and how many bytes that spared.
    counter('vw_upload_resumed_total', 'Uploads resumed from the offset the centre already held', [[{}, transfer.resumed]]);
    counter('vw_upload_resumed_bytes_total', 'Bytes not sent again thanks to resuming', [[{}, transfer.resumedBytes]]);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A connection idle this long is closed: a scraper that stalls mid-request, or one that keeps a
 * connection open, holds nothing for long.
 */
const IDLE_MS = 10_000;

export async function startMetricsServer(opts: { host: string; port: number; render: () => string; logger: Logger; idleMs?: number }): Promise<{ port: number; close(): Promise<void> }> {
  // Node checks every open request against requestTimeout on an interval (30 s by default) that
  // runs whether or not anyone scrapes: on a box that pays milliseconds for each wake-up, it woke
  // the agent twice a minute off the shared tick (docs/benchmarks.md). Instead each connection
  // times out when idle, a timer that exists only while a connection does.
  const server: Server = createServer({ connectionsCheckingInterval: 2 ** 31 - 1 }, (req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
      let body: string;
      try {
        body = opts.render();
      } catch (err) {
        opts.logger.error({ err: (err as Error).message }, 'cannot render metrics');
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
  });
  server.setTimeout(opts.idleMs ?? IDLE_MS, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ host: opts.host, port }, 'agent metrics on /metrics');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
