import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { buildAgent, sleep, spawnAgent, startBenchVenue, type AgentProcess } from './bench-venue.ts';
import { measure, type Usage } from './process-usage.ts';

/**
 * `npm run bench:compare -- name='{"config":{…},"nodeArgs":[…],"env":{…},"script":"…"}' name2='…'`:
 * what a change to the agent's settings, node flags, environment or code (`script`: another build
 * of dist/edge-agent.mjs) does to its cost, on this machine.
 * Between machines the recorder's figures move more than most changes do (docs/benchmarks.md), so
 * every variant runs at the same time, recording the same cameras: COMPARE_COPIES agents of each
 * (default 2, to see the spread between identical processes), started in alternating order, then
 * COMPARE_WINDOWS windows of BENCH_SECONDS (60) after BENCH_WARMUP (90) s. Prints node's CPU and
 * RSS per agent and window, and each variant's mean. BENCH_CAMERAS (default 1): cameras per agent.
 */
const Variant = z.strictObject({
  config: z.record(z.string(), z.unknown()).optional(),
  nodeArgs: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  /** Another build of the agent (e.g. main's, built into a copy of dist/), to measure a change of code. */
  script: z.string().optional(),
});

const variants = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new Error(`"${arg}": give each variant as name='{"config":{…}}' (an empty {} is the agent as configured by default)`);
  const parsed = Variant.safeParse(JSON.parse(arg.slice(eq + 1)));
  if (!parsed.success) throw new Error(`variant ${arg.slice(0, eq)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { name: arg.slice(0, eq), ...parsed.data };
});
if (variants.length < 2) throw new Error('give at least two variants, e.g. a=\'{}\' b=\'{"nodeArgs":["--max-semi-space-size=1"]}\'');

const cameras = Number(process.env.BENCH_CAMERAS ?? 1);
const copies = Number(process.env.COMPARE_COPIES ?? 2);
const windows = Number(process.env.COMPARE_WINDOWS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const warmup = Number(process.env.BENCH_WARMUP ?? 90);

buildAgent();
const venue = await startBenchVenue(cameras);
const work = mkdtempSync(path.join(tmpdir(), 'vw-bench-compare-'));
const agents: { variant: string; agent: AgentProcess }[] = [];
// Ctrl-C stops the agents too (each would go on recording into a removed folder).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all(agents.map((a) => a.agent.stop())).finally(() => process.exit(130));
  });
}
try {
  // Copies in rounds, the variants' order reversed every round: the agent that connects to a
  // camera second pays more for the same stream (docs/benchmarks.md).
  for (let c = 0; c < copies; c++) {
    const order = c % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const i = agents.length;
      const agent = spawnAgent({ venue, n: cameras, venueId: `bench-venue-${i}`, dataDir: path.join(work, `agent-${i}`), configFile: path.join(work, `agent-${i}.json`), config: v.config, nodeArgs: v.nodeArgs, env: v.env, script: v.script });
      agents.push({ variant: v.name, agent });
      await agent.ready;
      await sleep(2000);
    }
  }
  console.log(`${agents.length} agents recording ${cameras} camera(s) each; warming up ${warmup} s`);
  await sleep(warmup * 1000);
  const results: Usage[][] = agents.map(() => []);
  for (let w = 0; w < windows; w++) {
    const usage = await Promise.all(agents.map((a) => measure(() => [a.agent.child.pid!], seconds)));
    usage.forEach((u, i) => results[i]!.push(u));
    console.log(`window ${w + 1}: ${usage.map((u, i) => `${agents[i]!.variant} node ${(100 * (u.byName.node ?? 0)).toFixed(3)} % (${(60 * (u.slicesByName.node ?? 0)).toFixed(0)} runs/min) ffmpeg ${(100 * (u.byName.ffmpeg ?? 0)).toFixed(3)} % RSS ${((u.rssByName.node ?? 0) / 2 ** 20).toFixed(0)} MB`).join(' | ')}`);
  }
  for (const v of variants) {
    const mine = results.filter((_, i) => agents[i]!.variant === v.name).flat();
    const mean = (f: (u: Usage) => number) => mine.reduce((a, u) => a + f(u), 0) / mine.length;
    console.log(`${v.name}: node ${(100 * mean((u) => u.byName.node ?? 0)).toFixed(3)} % of a core, its threads put on a CPU ${(60 * mean((u) => u.slicesByName.node ?? 0)).toFixed(0)} times a minute, ffmpeg ${(100 * mean((u) => u.byName.ffmpeg ?? 0)).toFixed(3)} %, node RSS ${(mean((u) => u.rssByName.node ?? 0) / 2 ** 20).toFixed(1)} MB (${mine.length} agent-windows)`);
  }
} finally {
  await Promise.all(agents.map((a) => a.agent.stop()));
  await venue.close();
  rmSync(work, { recursive: true, force: true });
}
