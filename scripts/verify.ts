/**
 * `npm run verify -- <what>`: integrity checks. Each option dispatches to its own module so the
 * checks stay independent (footage verification of a PATH is added beside --audit).
 */
import { ConfigError, loadServerConfig } from '../config/load.ts';

const usage = 'usage: npm run verify -- --audit';

async function main(args: string[]): Promise<number> {
  if (args.includes('--audit')) {
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
  }
  console.error(usage);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`verify failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
