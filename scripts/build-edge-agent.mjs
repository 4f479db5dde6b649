// Compiles the edge agent into one ES module (dependencies stay in node_modules) so the venue box
// runs plain node: tsx keeps an esbuild service alive that costs ~0.7 % of a core all day long, as
// much as recording a camera. Takes well under a second; run before `npm run edge-agent`.
import { build } from 'esbuild';

await build({
  entryPoints: ['edge-agent/main.ts'],
  outfile: 'dist/edge-agent.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
