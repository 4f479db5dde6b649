import { loadEdgeAgentConfig } from '../../config/load.ts';
import { encryptSecret, keyFileOf, loadOrCreateKey } from './credential-store.ts';

/**
 * `npm run edge-agent:encrypt -- <password>` (or the password on stdin): prints the `enc:v1:…`
 * value to put in the box's settings instead of the plain password. Uses (and on first use
 * creates) this box's key file.
 */
const config = loadEdgeAgentConfig();
let secret = process.argv[2];
if (secret === undefined) {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
const file = keyFileOf(config);
process.stdout.write(`${encryptSecret(secret, loadOrCreateKey(file), config.venue.id)}\n`);
process.stderr.write(`encrypted with the key in ${file} for venue ${config.venue.id}\n`);
