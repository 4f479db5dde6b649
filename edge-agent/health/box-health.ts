import { statfsSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import type { BoxHealth } from '../../protocol/index.ts';

/** The venue box's own health: CPU since the last call, memory, disk and how long it lasts. */
export class BoxHealthProbe {
  private lastCpu = cpuTimes();
  private readonly startedMs = Date.now();

  constructor(private readonly dataDir: string, private readonly agentVersion: string) {}

  read(link: { connected: boolean; outboxDepth: number }, recordingBytesPerDay: number): BoxHealth {
    const now = cpuTimes();
    const idle = now.idle - this.lastCpu.idle;
    const total = now.total - this.lastCpu.total;
    this.lastCpu = now;
    let diskFree = 0;
    let diskTotal = 0;
    try {
      const fs = statfsSync(this.dataDir);
      diskFree = fs.bavail * fs.bsize;
      diskTotal = fs.blocks * fs.bsize;
    } catch {
      // Data folder gone: report 0 free, which raises the right alarm.
    }
    return {
      cpuPercent: total > 0 ? Math.min(100, Math.max(0, Math.round((1 - idle / total) * 1000) / 10)) : 0,
      memoryUsedBytes: totalmem() - freemem(),
      memoryTotalBytes: totalmem(),
      diskFreeBytes: diskFree,
      diskTotalBytes: diskTotal,
      recordingBytesPerDay: Math.round(recordingBytesPerDay),
      forecastDays: recordingBytesPerDay > 0 ? Math.round((diskFree / recordingBytesPerDay) * 10) / 10 : null,
      brokerConnected: link.connected,
      outboxDepth: link.outboxDepth,
      uptimeSeconds: Math.round((Date.now() - this.startedMs) / 1000),
      agentVersion: this.agentVersion,
    };
  }
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.idle + c.times.user + c.times.nice + c.times.sys + c.times.irq;
  }
  return { idle, total };
}
