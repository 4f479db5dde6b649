import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { ffmpegPath } from '../config/binaries.ts';
import { recordingArgs } from '../edge-agent/recorder/ffmpeg.ts';
import { buildAgent, sleep, spawnAgent, startBenchVenue, stopProcess, type BenchVenue } from './bench-venue.ts';
import { combine, measure, type Usage } from './process-usage.ts';

/**
 * bench/record: CPU and memory of the edge agent recording N cameras, against bare ffmpeg doing
 * the very same recordings (the agent's own command line) in the same run (the venue:
 * bench-venue.ts).
 */

export interface RecordResult {
  cameras: number;
  /** All rounds' windows of each side together. */
  baseline: Usage;
  agent: Usage;
  /** CPU (cores) of each round, in the order measured, to show the spread. */
  rounds: { baseline: number; agent: number }[];
}

/** interleaved: the sides take turns; concurrent: they record at the same time. */
export type RecordMode = 'interleaved' | 'concurrent';

export interface RecordRun {
  mode: RecordMode;
  /** The agent with no camera: node's fixed cost (runtime, timers, MQTT, SQLite). */
  idle: Usage;
  results: RecordResult[];
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}

export async function benchRecord(opts: { counts: number[]; seconds: number; warmupSeconds: number; rounds?: number; mode?: RecordMode; log?: (line: string) => void }): Promise<RecordRun> {
  const log = opts.log ?? console.log;
  const rounds = opts.rounds ?? 2;
  const mode = opts.mode ?? 'interleaved';
  buildAgent();
  const maxN = Math.max(...opts.counts);
  const work = mkdtempSync(path.join(tmpdir(), 'vw-bench-record-'));
  let venue: BenchVenue | null = null;
  const results: RecordResult[] = [];
  let phase = 0;
  let idle: Usage | null = null;

  interface Side {
    roots: () => number[];
    ready: Promise<void>;
    stop: () => Promise<void>;
  }

  /** n bare ffmpeg processes with the agent's own recording command line (stderr unread: see docs). */
  const startBaseline = (n: number): Side => {
    const recorders = venue!.cameras.slice(0, n).map((c, i) => {
      const dir = path.join(work, `baseline-${phase}-${i}`);
      mkdirSync(dir, { recursive: true });
      const a = recordingArgs({ rtspUrl: `rtsp://127.0.0.1:${venue!.rtspPort}/${c.path}`, username: 'bench', password: 'bench-pass', transport: 'tcp', segmentSeconds: 2, dir });
      return spawn(ffmpegPath(), [...a.inputOptions, '-i', a.input, ...a.outputOptions, a.output], { stdio: 'ignore' });
    });
    phase++;
    return { roots: () => recorders.map((r) => r.pid!), ready: Promise.resolve(), stop: async () => void (await Promise.all(recorders.map((r) => stopProcess(r)))) };
  };

  /** A real edge-agent process finding the first n cameras over ONVIF and recording them. */
  const startAgent = (n: number): Side => {
    const dataDir = path.join(work, `agent-${phase}`);
    const configFile = path.join(work, `agent-${phase}.json`);
    phase++;
    // BENCH_AGENT_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to see where the agent spends its time.
    const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const agent = spawnAgent({ venue: venue!, n, dataDir, configFile, nodeArgs });
    return { roots: () => [agent.child.pid!], ready: agent.ready, stop: agent.stop };
  };

  /** Starts the sides together, lets them settle, measures them over the same window, stops them. */
  const measureSides = async (sides: Side[]): Promise<Usage[]> => {
    try {
      await Promise.all(sides.map((s) => s.ready));
      await sleep(opts.warmupSeconds * 1000);
      return await Promise.all(sides.map((s) => measure(s.roots, opts.seconds)));
    } finally {
      await Promise.all(sides.map((s) => s.stop()));
    }
  };
  const baselinePhase = async (n: number): Promise<Usage> => (await measureSides([startBaseline(n)]))[0]!;
  const agentPhase = async (n: number): Promise<Usage> => (await measureSides([startAgent(n)]))[0]!;

  const pct = (u: Usage) => `${(u.cores * 100).toFixed(2)} %`;
  try {
    venue = await startBenchVenue(maxN);

    // The agent with no camera at all: what node costs before the first camera.
    const idleWindows: Usage[] = [];
    for (let r = 0; r < rounds; r++) idleWindows.push(await agentPhase(0));
    idle = combine(idleWindows);
    log(`record idle agent: ${pct(idle)} core, RSS ${mb(idle.rssBytes)} MB, node on a CPU ${(60 * (idle.slicesByName.node ?? 0)).toFixed(0)} times a minute`);

    for (const n of opts.counts) {
      // Rounds interleave the two sides and swap their order every round (baseline, agent, agent,
      // baseline, …): load from other work and drift over time fall on both sides alike.
      const b: Usage[] = [];
      const a: Usage[] = [];
      for (let r = 0; r < rounds; r++) {
        if (mode === 'concurrent') {
          // Both sides record the same cameras in the same window: whatever else the machine does
          // falls on both at the same moments (each side also loads the other, alike).
          // The side that connects to a camera second pays more for the same stream (same-machine
          // A/B at N = 4: ~4 % more ffmpeg CPU, whichever side that was), and the agent, which asks
          // the camera over ONVIF first, always came second: so the order alternates every round.
          let sides: Side[];
          if (r % 2 === 0) sides = [startBaseline(n), startAgent(n)];
          else {
            const agent = startAgent(n);
            try {
              await agent.ready;
              // Its recorders are started; give them a moment to open their RTSP sessions.
              await sleep(3000);
            } catch (err) {
              await agent.stop();
              throw err;
            }
            sides = [startBaseline(n), agent];
          }
          const [x, y] = await measureSides(sides);
          b.push(x!);
          a.push(y!);
        } else if (r % 2 === 0) {
          b.push(await baselinePhase(n));
          a.push(await agentPhase(n));
        } else {
          a.push(await agentPhase(n));
          b.push(await baselinePhase(n));
        }
        log(`record ${mode} N=${n} round ${r + 1}: baseline ${pct(b[r]!)}, agent ${pct(a[r]!)} (${Object.entries(a[r]!.byName).map(([k, v]) => `${k} ${(v * 100).toFixed(2)} %`).join(', ')}; node on a CPU ${(60 * (a[r]!.slicesByName.node ?? 0)).toFixed(0)} times a minute), ratio ${(a[r]!.cores / b[r]!.cores).toFixed(3)}, machine busy ${(b[r]!.machineBusy * 100).toFixed(0)} / ${(a[r]!.machineBusy * 100).toFixed(0)} %`);
      }
      results.push({ cameras: n, baseline: combine(b), agent: combine(a), rounds: b.map((x, r) => ({ baseline: x.cores, agent: a[r]!.cores })) });
    }
  } finally {
    await venue?.close();
    rmSync(work, { recursive: true, force: true });
  }
  return { mode, idle: idle!, results, rounds, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds };
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
const pc = (cores: number, digits = 1) => `${(cores * 100).toFixed(digits)} %`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

export function recordReport(run: RecordRun): string {
  const { idle, results } = run;
  const cpuRows = results.map((r) => {
    const ratio = r.agent.cores / r.baseline.cores;
    const perRound = r.rounds.map((x) => (x.agent / x.baseline).toFixed(2)).join(', ');
    const perCamera = r.agent.cores / r.cameras;
    const marginal = (r.agent.cores - idle.cores) / r.baseline.cores;
    return `| ${r.cameras} | ${pc(r.baseline.cores, 2)} | ${pc(r.agent.cores, 2)} (node ${pc(r.agent.byName.node ?? 0, 2)}, ffmpeg ${pc(r.agent.byName.ffmpeg ?? 0, 2)}) | **${ratio.toFixed(2)}** ${mark(ratio <= 1.1)} | ${perRound} | ${marginal.toFixed(2)} | ${pc(perCamera, 2)} ${mark(perCamera <= 0.03)} | ${pc(r.baseline.machineBusy, 0)} / ${pc(r.agent.machineBusy, 0)} |`;
  });
  const memRows = results.map((r) => {
    const ratio = r.agent.rssBytes / r.baseline.rssBytes;
    const baseEach = r.baseline.rssBytes / r.cameras;
    const agentEach = (r.agent.rssBytes - idle.rssBytes) / r.cameras;
    const pss = r.agent.pssBytes !== null && r.baseline.pssBytes !== null ? `${mb(r.baseline.pssBytes)} / ${mb(r.agent.pssBytes)} MB (${(r.agent.pssBytes / r.baseline.pssBytes).toFixed(2)})` : 'n/a';
    return `| ${r.cameras} | ${mb(r.baseline.rssBytes)} MB | ${mb(r.agent.rssBytes)} MB (node ${mb(r.agent.rssByName.node ?? 0)} MB) | ${ratio.toFixed(2)} ${mark(ratio <= 1.1)} | ${pss} | ${mb(baseEach)} MB | ${mb(agentEach)} MB | **${(agentEach / baseEach).toFixed(2)}** ${mark(agentEach / baseEach <= 1.1)} |`;
  });
  return [
    run.mode === 'concurrent'
      ? `**Concurrent**: the baseline's N ffmpeg processes and the agent record the same N cameras at the same time, measured over the same ${run.seconds} s window after a ${run.warmupSeconds} s warm-up, ${run.rounds} rounds added up. Whatever else the machine does falls on both sides at the same moments. Which side connects to the cameras first alternates every round (the second pays ~4 % more ffmpeg CPU for the same stream).`
      : `**Interleaved**: the sides take turns, ${run.rounds} rounds per N with the order swapped each round (baseline, agent, agent, baseline, …), each window ${run.seconds} s after a ${run.warmupSeconds} s warm-up, the rounds added up: drift over time falls on both sides alike, bursts of other work need not.`,
    '',
    `CPU is the scheduler's run time (user + system) of every thread of the process tree per wall-clock second (100 % = one core). "Machine busy" is the whole machine's CPU use during the windows (baseline / agent; ${os.cpus().length} cores = 100 %): the load the figures were taken under. "Ratio less idle agent" leaves out what node costs with no camera at all (the idle agent: ${pc(idle.cores, 2)} of a core, ${mb(idle.rssBytes)} MB RSS).`,
    '',
    '| N | baseline CPU | agent CPU | CPU ratio (target ≤ 1.10) | ratio per round | ratio less idle agent | agent CPU per camera (≤ 3 %) | machine busy |',
    '|---|---|---|---|---|---|---|---|',
    ...cpuRows,
    '',
    `Memory: mean over the windows. RSS counts shared libraries once per process; PSS shares them out. Per camera: the baseline's RSS ÷ N, and the agent's (RSS − the idle agent's ${mb(idle.rssBytes)} MB) ÷ N, the memory each further camera costs.`,
    '',
    '| N | baseline RSS | agent RSS | RSS ratio | PSS baseline / agent (ratio) | baseline per camera | agent per camera | per-camera ratio |',
    '|---|---|---|---|---|---|---|---|',
    ...memRows,
  ].join('\n');
}
