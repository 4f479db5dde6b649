import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { ffmpegPath } from '../config/binaries.ts';
import { agentEnvironment } from '../edge-agent/launch/malloc-tunables.ts';
import { startOnvifDevice, type OnvifDevice } from '../simulator/onvif/device.ts';
import { startRtspServer } from '../simulator/rtsp/rtsp-server.ts';
import { freePort } from '../tests/support/ports.ts';
import { processTree } from './process-usage.ts';

/**
 * The venue the recorder benchmarks record: N cameras publishing a pre-encoded 1080p25 H.264
 * 4 Mb/s clip with G.711 audio in a loop over RTSP, each behind a virtual ONVIF device, and a broker
 * for the agents. The cameras cost almost nothing, so the machine's cores are left to what is
 * measured (bench/record.ts, bench/compare-agents.ts).
 */
const root = path.resolve(import.meta.dirname, '..');
const silent = pino({ level: 'silent' });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BenchCamera {
  path: string;
  publisher: ChildProcess;
  device: OnvifDevice;
}

export interface BenchVenue {
  rtspPort: number;
  brokerPort: number;
  cameras: BenchCamera[];
  close: () => Promise<void>;
}

function ensureClip(): string {
  const dir = path.join(root, 'bench/.cache');
  const clip = path.join(dir, 'clip-1080p25-4M-g711.mkv');
  if (existsSync(clip)) return clip;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(ffmpegPath(), [
    '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=800:sample_rate=8000',
    '-t', '10', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main',
    '-b:v', '4M', '-maxrate', '4M', '-bufsize', '8M', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1', clip,
  ], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not encode the benchmark clip with ffmpeg');
  return clip;
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** Builds the edge agent as a venue box runs it: compiled, on plain node (dist/edge-agent.mjs). */
export function buildAgent(): void {
  if (spawnSync(process.execPath, ['scripts/build-edge-agent.mjs'], { cwd: root, stdio: 'inherit' }).status !== 0) throw new Error('could not build the edge agent');
}

export async function startBenchVenue(count: number): Promise<BenchVenue> {
  const clip = ensureClip();
  const rtsp = await startRtspServer({ logger: silent });
  const brokerPort = await freePort();
  const broker = await Aedes.createBroker();
  const brokerServer = net.createServer(broker.handle);
  await new Promise<void>((r) => brokerServer.listen(brokerPort, '127.0.0.1', () => r()));
  const cameras: BenchCamera[] = [];
  const close = async () => {
    await Promise.all(cameras.map((c) => stopProcess(c.publisher)));
    await Promise.all(cameras.map((c) => c.device.close()));
    await rtsp.close();
    await new Promise<void>((r) => brokerServer.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  };
  try {
    for (let i = 0; i < count; i++) {
      const p = `cam${i}`;
      const publisher = spawn(ffmpegPath(), ['-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp', `rtsp://127.0.0.1:${rtsp.port}/${p}`], { stdio: 'ignore' });
      const device = await startOnvifDevice({
        // Hold empty event pulls for a minute, as cameras do (the simulator's default suits tests).
        pullWaitMs: 60_000,
        username: 'bench', password: 'bench-pass', endpoint: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: p, logger: silent,
        stream: { rtspHost: '127.0.0.1', rtspPort: rtsp.port, path: p, codec: 'h264', width: 1920, height: 1080, fps: 25, audio: true, bitrateKbps: 4000 },
      });
      rtsp.setCredentials(p, { username: 'bench', password: 'bench-pass' });
      cameras.push({ path: p, publisher, device });
    }
    for (const c of cameras) for (let t = 0; !rtsp.isPublishing(c.path); t++) {
      if (t > 100) throw new Error(`camera ${c.path} did not start publishing`);
      await sleep(100);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { rtspPort: rtsp.port, brokerPort, cameras, close };
}

export interface AgentProcess {
  child: ChildProcess;
  /** Resolves once the agent runs a recorder (an ffmpeg child) for each of its cameras. */
  ready: Promise<void>;
  stop: () => Promise<void>;
}

/**
 * A real edge-agent process (dist/edge-agent.mjs) finding the first n cameras over ONVIF and
 * recording them into dataDir. `config` is merged over the bench's own settings, as a venue's
 * config file is over the defaults. Agents running at the same time need venue ids of their own:
 * the broker lets one client of an id connect at a time, so two would keep taking over each
 * other's connection.
 */
export function spawnAgent(o: { venue: BenchVenue; n: number; venueId?: string; dataDir: string; configFile: string; config?: Record<string, unknown>; nodeArgs?: string[]; env?: Record<string, string>; logFile?: string; script?: string }): AgentProcess {
  const { venue, n } = o;
  writeFileSync(o.configFile, JSON.stringify({
    edgeAgent: {
      venue: { id: o.venueId ?? 'bench-venue', name: 'Bench venue' },
      rooms: [{ code: 'r1', name: 'Room 1', kind: 'evaluation' }],
      cameras: venue.cameras.slice(0, n).map((c, i) => ({ code: `cam${i}`, name: c.path, room: 'r1', address: c.device.xaddr })),
      defaultCredentials: { username: 'bench', password: 'bench-pass' },
      discovery: { enabled: false, interfaces: [], timeoutMs: 3000, intervalMinutes: 60 },
      dataDir: o.dataDir,
      ...o.config,
    },
  }));
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.script ?? 'dist/edge-agent.mjs'], {
    cwd: root,
    // Its log only when asked (BENCH_AGENT_LOG): writing it is work the agent would be measured doing.
    stdio: o.logFile ? ['ignore', openSync(o.logFile, 'a'), openSync(o.logFile, 'a')] : 'ignore',
    // As the agent is started in production (edge-agent/launch/malloc-tunables.ts); a variant's env can unset it.
    env: { ...agentEnvironment(process.env), VW_CONFIG: o.configFile, MQTT_URL: `mqtt://127.0.0.1:${venue.brokerPort}`, CENTRE_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'warn', ...o.env },
  });
  const ready = (async () => {
    for (let t = 0; processTree([child.pid!]).filter((s) => s.pid !== child.pid).length < n; t++) {
      if (t > 300) throw new Error(`the agent did not start ${n} recorders`);
      await sleep(100);
    }
  })();
  return { child, ready, stop: () => stopProcess(child, 'SIGTERM') };
}
