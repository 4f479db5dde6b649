import { ConfigError, loadServerConfig } from '../config/load.ts';

/**
 * `npm run verify -- [MODE] ARGS`: integrity checks, each mode in its own module so they stay
 * independent:
 *   npm run verify -- PATH       a footage folder or export against its signed manifests (verify/footage.ts)
 *   npm run verify -- --audit    the audit trail's hash chain in the centre's database (verify-audit.ts)
 * Exit 0: intact; 1: something was altered (the first failure is named); 2: could not check.
 */
type Mode = { main: (args: string[]) => Promise<number> };

const audit: Mode = {
  async main() {
    let config;
    try {
      config = loadServerConfig();
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(err.message);
        return 2;
      }
      throw err;
    }
    const { verifyAudit } = await import('./verify-audit.ts');
    return verifyAudit(config);
  },
};

const modes: Record<string, () => Promise<Mode>> = {
  '--footage': () => import('./verify/footage.ts'),
  '--audit': async () => audit,
};

const args = process.argv.slice(2);
const chosen = args[0] && args[0] in modes ? args[0] : '--footage';
const rest = args[0] === chosen ? args.slice(1) : args;
try {
  const mode = await modes[chosen]!();
  process.exitCode = await mode.main(rest);
} catch (err) {
  console.error(`verify failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
