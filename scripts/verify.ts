export {};

/**
 * `npm run verify -- [MODE] ARGS`: offline checks. Each mode lives in its own module under
 * scripts/verify/ so modes can be added without touching each other:
 *   npm run verify -- PATH          footage folder or export against its signed manifests (footage.ts)
 */
type Mode = { main: (args: string[]) => Promise<number> };

const modes: Record<string, () => Promise<Mode>> = {
  '--footage': () => import('./verify/footage.ts'),
};

const args = process.argv.slice(2);
const chosen = args[0] && args[0] in modes ? args[0] : '--footage';
const rest = args[0] === chosen ? args.slice(1) : args;
const mode = await modes[chosen]!();
process.exitCode = await mode.main(rest);
