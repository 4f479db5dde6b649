import pino from 'pino';
import { ConfigError, loadEdgeAgentConfig } from '../config/load.ts';
import { startAgent } from './agent.ts';
import { keepTunablesFromChildren } from './launch/malloc-tunables.ts';

/**
 * `npm run edge-agent`: settings from config/defaults.json, VW_CONFIG (a JSON file) and the
 * environment. SIGINT/SIGTERM stop every recorder with SIGINT (so playlists close) before exiting:
 * no ffmpeg outlives the agent.
 */
// Before anything is spawned: the malloc tunables were for this process only.
keepTunablesFromChildren();
let config;
try {
  config = loadEdgeAgentConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78);
  }
  throw err;
}

const logger = pino({ level: config.logLevel }).child({ program: 'edge-agent' });
const agent = await startAgent(config, { logger, reloadConfig: () => loadEdgeAgentConfig() });

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'stopping');
  // Recorders get 5 s for SIGINT then SIGKILL; leave some room for the rest.
  const force = setTimeout(() => {
    logger.error('stop took too long; exiting');
    process.exit(1);
  }, 15_000);
  agent
    .stop()
    .then(() => {
      clearTimeout(force);
      process.exit(0);
    })
    .catch((err: Error) => {
      logger.error({ err: err.message }, 'stop failed');
      process.exit(1);
    });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
