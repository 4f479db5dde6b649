import type { Logger } from 'pino';
import type { EdgeAgentConfig } from '../../config/schema.ts';
import { encodeMessage, type BoxHealth, type CameraHealth, type CameraInfo, type SensorHealth } from '../../protocol/index.ts';
import { measureClockOffset } from '../discovery/camera-clock.ts';
import type { FoundCamera } from '../discovery/discovery.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import { BoxHealthProbe } from './box-health.ts';
import type { CameraHealthTracker } from './camera-health.ts';
import { renderAgentMetrics, startMetricsServer, type TransferCounters } from './metrics-server.ts';
import { everyTick } from '../schedule/shared-tick.ts';

/**
 * Publishes the box's health report (retained) every health.intervalSeconds and soon after any
 * change, serves /metrics, and measures each camera's clock on first contact and every
 * health.clockCheckMinutes. Sensors come from whoever feeds `sensors()` (room sensors, issue 3 §5).
 */

export interface HealthReporterOptions {
  config: EdgeAgentConfig;
  logger: Logger;
  link: MqttLink;
  tracker: CameraHealthTracker;
  agentVersion: string;
  cameras: () => Array<{ info: CameraInfo; found: FoundCamera | null }>;
  sensors?: () => SensorHealth[];
  outboxDepth: () => number;
  /** Footage transfer counters for /metrics (the uploader). */
  transfer?: () => TransferCounters;
  /** A camera's clock went over / came back under the threshold. */
  onClockDrift?: (cameraId: string, offsetMs: number, drifting: boolean) => void;
}

export class HealthReporter {
  /** Stops its periodic run (on the box's shared timer, schedule/shared-tick.ts). */
  private timer: (() => void) | null = null;
  private soon: NodeJS.Timeout | null = null;
  /** Stops its periodic run (on the box's shared timer, schedule/shared-tick.ts). */
  private clockTimer: (() => void) | null = null;
  private metrics: { port: number; close(): Promise<void> } | null = null;
  private readonly box: BoxHealthProbe;
  private readonly clockCheckedAt = new Map<string, number>();
  private readonly drifting = new Set<string>();
  private lastBox: BoxHealth | null = null;
  private stopped = false;

  constructor(private readonly o: HealthReporterOptions) {
    this.box = new BoxHealthProbe(o.config.dataDir, o.agentVersion);
  }

  get metricsPort(): number | null {
    return this.metrics?.port ?? null;
  }

  async start(): Promise<void> {
    const h = this.o.config.health;
    try {
      this.metrics = await startMetricsServer({
        host: h.metrics.host,
        port: h.metrics.port,
        logger: this.o.logger,
        render: () => renderAgentMetrics(this.o.config.venue.id, this.boxNow(), this.cameraHealth(), this.o.transfer?.()),
      });
    } catch (err) {
      // A taken port must not stop recording: say what to change and carry on without /metrics.
      this.o.logger.error({ err: (err as Error).message, port: h.metrics.port }, 'cannot serve /metrics: set edgeAgent.health.metrics.port to a free port');
    }
    // Up to half a period late, to share the commit's wake-up (shared-tick.ts): a change is
    // reported at once anyway; the periodic report refreshes the figures.
    const periodMs = h.intervalSeconds * 1000;
    this.timer = everyTick(periodMs, () => this.publish(), { slackMs: periodMs / 2 });
    // With the report, on its wake-up: a camera found since is measured within one report.
    this.clockTimer = everyTick(periodMs, () => void this.checkClocks(), { slackMs: periodMs / 2 });
  }

  cameraHealth(): CameraHealth[] {
    return this.o.cameras().map(({ info, found }) => this.o.tracker.snapshot(info, found));
  }

  private boxNow(): BoxHealth {
    this.lastBox = this.box.read({ connected: this.o.link.connected, outboxDepth: this.o.outboxDepth() }, this.o.tracker.bytesPerDay());
    return this.lastBox;
  }

  report(): { box: BoxHealth; cameras: CameraHealth[]; sensors: SensorHealth[] } {
    return { box: this.boxNow(), cameras: this.cameraHealth(), sensors: this.o.sensors?.() ?? [] };
  }

  /** Soon after a change (bursts coalesce into one report). */
  changed(): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.publish();
    }, 300);
  }

  publish(): void {
    if (this.stopped) return;
    try {
      const r = this.report();
      const msg = encodeMessage('health', { venueId: this.o.config.venue.id, box: r.box, cameras: r.cameras.slice(0, 2000), sensors: r.sensors.slice(0, 5000) });
      this.o.link.publishHealth(JSON.stringify(msg));
    } catch (err) {
      this.o.logger.error({ err: (err as Error).message }, 'health report does not validate; not sent');
    }
  }

  /** Measures clocks that were never measured or are due; one camera's failure never stops the rest. */
  async checkClocks(force = false): Promise<void> {
    const every = this.o.config.health.clockCheckMinutes * 60_000;
    const due = this.o.cameras().filter(({ info, found }) => {
      if (!found?.description) return false;
      const at = this.clockCheckedAt.get(info.id);
      return force || at === undefined || Date.now() - at >= every;
    });
    await Promise.all(
      due.map(async ({ info, found }) => {
        this.clockCheckedAt.set(info.id, Date.now());
        try {
          const offset = await measureClockOffset(found!.description!.xaddr, this.o.config.discovery.timeoutMs);
          this.o.tracker.clock(info.id, offset);
          const over = Math.abs(offset) > this.o.config.health.clockDriftMs;
          if (over !== this.drifting.has(info.id)) {
            if (over) this.drifting.add(info.id);
            else this.drifting.delete(info.id);
            this.o.logger[over ? 'warn' : 'info'](
              { cameraId: info.id, offsetMs: offset, thresholdMs: this.o.config.health.clockDriftMs },
              over ? 'camera clock drifts: set the camera to the venue NTP server' : 'camera clock back in line',
            );
            this.o.onClockDrift?.(info.id, offset, over);
            this.changed();
          }
        } catch (err) {
          this.o.logger.debug({ cameraId: info.id, err: (err as Error).message }, 'clock check failed');
        }
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.();
    this.clockTimer?.();
    if (this.soon) clearTimeout(this.soon);
    await this.metrics?.close();
  }
}
