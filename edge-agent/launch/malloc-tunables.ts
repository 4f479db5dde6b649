/**
 * glibc malloc settings for the agent's own node process, not for the ffmpeg it starts.
 *
 * V8 compiles hot code on background threads, in zones of 8–32 KB segments (up to ~40 MB at the
 * first camera's compiles). Freed, those chunks stay in each thread's malloc arena with their pages:
 * the agent kept 5–10 MB it no longer used, more or less from run to run with what compiled when.
 * With the mmap threshold at 32 KB, such allocations are mapped on their own and go back to the
 * system when freed: the agent is ~8 MB smaller with one camera, ~4 MB idle (docs/benchmarks.md).
 *
 * glibc reads GLIBC_TUNABLES once, when the process starts, so whoever starts the agent sets it:
 * `npm run edge-agent` (package.json, checked by a test), scripts/start.ts, the bench, the service
 * unit in README. The agent takes it out of its own environment before it spawns anything, so
 * ffmpeg records exactly as a bare ffmpeg does (its packet buffers would each be a mapping).
 */
export const AGENT_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768';

const OURS = AGENT_MALLOC_TUNABLES.split('=')[0]!;

/** The environment to start the agent with: the caller's, with the agent's tunables added. */
export function agentEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = withoutAgentTunables(env.GLIBC_TUNABLES);
  return { ...env, GLIBC_TUNABLES: rest ? `${rest}:${AGENT_MALLOC_TUNABLES}` : AGENT_MALLOC_TUNABLES };
}

/** GLIBC_TUNABLES without the agent's own setting (null when nothing else is left). */
export function withoutAgentTunables(value: string | undefined): string | null {
  const rest = (value ?? '')
    .split(':')
    .filter((t) => t !== '' && t.split('=')[0] !== OURS)
    .join(':');
  return rest === '' ? null : rest;
}

/** Leaves the children (ffmpeg, ffprobe) the environment they would have had without the agent's tunables. */
export function keepTunablesFromChildren(env: NodeJS.ProcessEnv = process.env): void {
  const rest = withoutAgentTunables(env.GLIBC_TUNABLES);
  if (rest) env.GLIBC_TUNABLES = rest;
  else delete env.GLIBC_TUNABLES;
}
