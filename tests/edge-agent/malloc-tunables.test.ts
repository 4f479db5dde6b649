import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_MALLOC_TUNABLES, agentEnvironment, keepTunablesFromChildren, withoutAgentTunables } from '../../edge-agent/launch/malloc-tunables.ts';

/** The agent's malloc tunables: added for node, kept from its children, the same in package.json. */
describe('edge agent malloc tunables', () => {
  it('adds its own setting once, keeping and replacing what was there', () => {
    expect(agentEnvironment({}).GLIBC_TUNABLES).toBe(AGENT_MALLOC_TUNABLES);
    expect(agentEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe(`glibc.malloc.arena_max=2:${AGENT_MALLOC_TUNABLES}`);
    // An operator's own mmap threshold gives way to the agent's, not twice in the list.
    expect(agentEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576' }).GLIBC_TUNABLES).toBe(AGENT_MALLOC_TUNABLES);
    expect(agentEnvironment({ PATH: '/bin' }).PATH).toBe('/bin');
  });

  it('takes only its own setting out for the children', () => {
    expect(withoutAgentTunables(undefined)).toBeNull();
    expect(withoutAgentTunables(AGENT_MALLOC_TUNABLES)).toBeNull();
    expect(withoutAgentTunables(`glibc.malloc.arena_max=2:${AGENT_MALLOC_TUNABLES}`)).toBe('glibc.malloc.arena_max=2');
    const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: AGENT_MALLOC_TUNABLES, PATH: '/bin' };
    keepTunablesFromChildren(env);
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('is what `npm run edge-agent` starts node with', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['edge-agent']).toContain(`GLIBC_TUNABLES=${AGENT_MALLOC_TUNABLES} node `);
  });
});
