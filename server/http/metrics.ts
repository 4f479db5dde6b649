import { Router } from 'express';
import type { VenueLink } from '../broker/venue-link.ts';
import type { DeviceHealthService } from '../services/device-health.ts';
import type { IngestService } from '../services/ingest.ts';

/**
 * Prometheus text on GET /metrics: device and venue-box health, today's intact rate, MQTT link
 * counters. Served without sign-in, as scrapers expect: keep the centre's port off the public
 * network or put the scraper behind the same reverse proxy rules (docs/device-health.md).
 */

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>): string => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

export function metricsRouter(deps: { health: DeviceHealthService; link: VenueLink; ingest?: IngestService }): Router {
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    const all = { venueIds: null };
    const { venues, devices } = await deps.health.list(all);
    const out: string[] = [];
    const metric = (name: string, help: string, type: 'gauge' | 'counter', rows: Array<[Record<string, string>, number | null]>): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [l, v] of rows) if (v !== null) out.push(`${name}${labels(l)} ${v}`);
    };
    metric('vw_venue_box_online', '1 when the venue box is connected', 'gauge', venues.map((v) => [{ venue: v.id }, v.online ? 1 : 0]));
    metric('vw_venue_camera_intact_rate', "Today's camera intact rate (0-1)", 'gauge', venues.map((v) => [{ venue: v.id }, v.intactRateToday]));
    metric(
      'vw_device_online',
      '1 when the device is online',
      'gauge',
      devices.map((d) => [{ venue: d.venueId, device: d.id, kind: d.kind }, d.online ? 1 : 0]),
    );
    const cams = devices.filter((d) => d.camera);
    metric('vw_camera_fps', 'Frames per second', 'gauge', cams.map((d) => [{ venue: d.venueId, device: d.id }, d.camera!.fps]));
    metric('vw_camera_clock_offset_ms', 'Camera clock minus box clock', 'gauge', cams.map((d) => [{ venue: d.venueId, device: d.id }, d.camera!.clockOffsetMs]));
    const boxes = devices.filter((d) => d.box);
    metric('vw_box_outbox_depth', 'Messages waiting at the box', 'gauge', boxes.map((d) => [{ venue: d.venueId }, d.box!.outboxDepth]));
    metric('vw_box_recording_forecast_days', 'Days of recording left on the box disk', 'gauge', boxes.map((d) => [{ venue: d.venueId }, d.box!.forecastDays]));
    const c = deps.link.counters;
    metric('vw_mqtt_messages_total', 'MQTT messages by outcome', 'counter', Object.entries(c).map(([k, v]) => [{ outcome: k }, v]));
    const ingest = [...(deps.ingest?.traffic ?? new Map())];
    metric('vw_ingest_received_bytes_total', 'Footage bytes read from venue boxes for ranges the centre took', 'counter', ingest.map(([venue, t]) => [{ venue }, t.receivedBytes]));
    metric('vw_ingest_refused_bytes_total', 'Footage bytes venue boxes sent in requests the centre refused (wrong offset, already stored)', 'counter', ingest.map(([venue, t]) => [{ venue }, t.refusedBytes]));
    metric(
      'vw_ingest_segments_total',
      'Footage uploads finished, by outcome',
      'counter',
      ingest.flatMap(([venue, t]) => [
        [{ venue, outcome: 'stored' }, t.stored],
        [{ venue, outcome: 'duplicate' }, t.duplicate],
        [{ venue, outcome: 'integrity_failed' }, t.integrityFailed],
      ]),
    );
    res.set('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(`${out.join('\n')}\n`);
  });
  return r;
}
