import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { ffmpegPath } from '../config/binaries.ts';
import { recordingArgs } from '../edge-agent/recorder/ffmpeg.ts';
import { startOnvifDevice, type OnvifDevice } from '../simulator/onvif/device.ts';
import { startRtspServer } from '../simulator/rtsp/rtsp-server.ts';
import { freePort } from '../tests/support/ports.ts';
import { measure, processTree, type Usage } from './process-usage.ts';

/**
 * bench/record: CPU and memory of the edge agent recording N cameras, against bare ffmpeg doing
 * the very same recordings (the agent's own command line) in the same run. The cameras publish a
 * pre-encoded 1080p25 H.264 4 Mb/s clip with G.711 audio in a loop, so they cost almost nothing
 * and the machine's two cores are left to what is measured.
 */
const root = path.resolve(import.meta.dirname, '..');
const silent = pino({ level: 'silent' });

export interface RecordResult {
  cameras: number;
  baseline: Usage;
  agent: Usage;
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

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchRecord(opts: { counts: number[]; seconds: number; warmupSeconds: number; log?: (line: string) => void }): Promise<RecordResult[]> {
  const log = opts.log ?? console.log;
  const clip = ensureClip();
  // Measure the agent as a venue box runs it: compiled, on plain node.
  if (spawnSync(process.execPath, ['scripts/build-edge-agent.mjs'], { cwd: root, stdio: 'inherit' }).status !== 0) throw new Error('could not build the edge agent');
  const maxN = Math.max(...opts.counts);
  const work = mkdtempSync(path.join(tmpdir(), 'vw-bench-record-'));
  const rtsp = await startRtspServer({ logger: silent });
  const cameras: { path: string; publisher: ChildProcess; device: OnvifDevice }[] = [];
  const brokerPort = await freePort();
  const broker = await Aedes.createBroker();
  const brokerServer = net.createServer(broker.handle);
  await new Promise<void>((r) => brokerServer.listen(brokerPort, '127.0.0.1', () => r()));
  const results: RecordResult[] = [];
  try {
    for (let i = 0; i < maxN; i++) {
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

    for (const n of opts.counts) {
      // Baseline: n bare ffmpeg processes with the agent's own recording command line.
      const recorders = cameras.slice(0, n).map((c, i) => {
        const dir = path.join(work, `baseline-${n}-${i}`);
        mkdirSync(dir, { recursive: true });
        const a = recordingArgs({ rtspUrl: `rtsp://127.0.0.1:${rtsp.port}/${c.path}`, username: 'bench', password: 'bench-pass', transport: 'tcp', segmentSeconds: 2, dir });
        return spawn(ffmpegPath(), [...a.inputOptions, '-i', a.input, ...a.outputOptions, a.output], { stdio: 'ignore' });
      });
      await sleep(opts.warmupSeconds * 1000);
      const baseline = await measure(() => recorders.map((r) => r.pid!), opts.seconds);
      await Promise.all(recorders.map((r) => stopProcess(r)));

      // The agent: a real edge-agent process finding the same cameras over ONVIF and recording them.
      const dataDir = path.join(work, `agent-${n}`);
      const config = path.join(work, `agent-${n}.json`);
      writeFileSync(config, JSON.stringify({
        edgeAgent: {
          venue: { id: 'bench-venue', name: 'Bench venue' },
          rooms: [{ code: 'r1', name: 'Room 1', kind: 'evaluation' }],
          cameras: cameras.slice(0, n).map((c, i) => ({ code: `cam${i}`, name: c.path, room: 'r1', address: c.device.xaddr })),
          defaultCredentials: { username: 'bench', password: 'bench-pass' },
          discovery: { enabled: false, interfaces: [], timeoutMs: 3000, intervalMinutes: 60 },
          dataDir,
        },
      }));
      // BENCH_AGENT_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to see where the agent spends its time.
      const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const agent = spawn(process.execPath, [...nodeArgs, 'dist/edge-agent.mjs'], {
        cwd: root,
        stdio: 'ignore',
        env: { ...process.env, VW_CONFIG: config, MQTT_URL: `mqtt://127.0.0.1:${brokerPort}`, CENTRE_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'warn' },
      });
      for (let t = 0; processTree([agent.pid!]).filter((s) => s.pid !== agent.pid).length < n; t++) {
        if (t > 300) throw new Error(`the agent did not start ${n} recorders`);
        await sleep(100);
      }
      await sleep(opts.warmupSeconds * 1000);
      const agentUsage = await measure(() => [agent.pid!], opts.seconds);
      await stopProcess(agent, 'SIGTERM');

      results.push({ cameras: n, baseline, agent: agentUsage });
      log(`record N=${n}: baseline ${(baseline.cores * 100).toFixed(2)} % core, agent ${(agentUsage.cores * 100).toFixed(2)} % core (${Object.entries(agentUsage.byName).map(([k, v]) => `${k} ${(v * 100).toFixed(2)} %`).join(', ')}), ratio ${(agentUsage.cores / baseline.cores).toFixed(2)}`);
    }
  } finally {
    await Promise.all(cameras.map((c) => stopProcess(c.publisher)));
    await Promise.all(cameras.map((c) => c.device.close()));
    await rtsp.close();
    await new Promise<void>((r) => brokerServer.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(0);

export function recordReport(results: RecordResult[], seconds: number): string {
  const rows = results.map((r) => {
    const cpuRatio = r.agent.cores / r.baseline.cores;
    const memRatio = r.agent.rssBytes / r.baseline.rssBytes;
    const perCamera = (r.agent.cores / r.cameras) * 100;
    const agentNode = (r.agent.byName.node ?? 0) * 100;
    return `| ${r.cameras} | ${(r.baseline.cores * 100).toFixed(1)} % | ${(r.agent.cores * 100).toFixed(1)} % (node ${agentNode.toFixed(2)} %) | **${cpuRatio.toFixed(2)}** ${cpuRatio <= 1.1 ? '✓' : '✗'} | ${perCamera.toFixed(2)} % ${perCamera <= 3 ? '✓' : '✗'} | ${mb(r.baseline.rssBytes)} MB | ${mb(r.agent.rssBytes)} MB | ${memRatio.toFixed(2)} |`;
  });
  return [
    `Each row: N cameras publishing 1080p25 H.264 at 4 Mb/s with G.711 audio over RTSP/TCP; recorded for ${seconds} s after a warm-up, first by N bare ffmpeg processes with the agent's own command line (the baseline), then by a real edge-agent process (node + its N ffmpeg recorders), in the same run. CPU is user+system time of the whole process tree per wall-clock second (100 % = one core). Targets: CPU ratio ≤ 1.10; ≤ 3 % of one core per 1080p camera.`,
    '',
    '| N | baseline CPU | agent CPU | CPU ratio | agent CPU per camera | baseline RSS | agent RSS | RSS ratio |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
